"""The runner's model cache: loaded models kept warm between jobs, least recently used first out.

One ModelCache per runner, bounded by a count (KILN_MODEL_CACHE_SIZE, the worker type's
model_cache_size; 0 keeps nothing) and optionally by an approximate size in MB
(KILN_MODEL_CACHE_MB, model_cache_mb). Built-in inference keys a model by (framework,
training job id, artifact digest, …) and sizes it by its artifact's byte length; a user
handler calls ctx.models.get(key, loader) with any hashable key. Sizes are estimates:
the caller's size_mb when given, else the summed nbytes of a torch module's parameters
and buffers (or of a numpy array), else the pickled length, else sys.getsizeof. A model
larger than the whole MB bound is loaded for its job and not kept.

Thread-safe: one re-entrant lock is held for a whole get(), so loads are serialised
(a runner runs one job at a time; a handler's own threads wait for each other's loads).
"""
import pickle
import sys
import threading
import time
from collections import OrderedDict

MB = 1024 * 1024
COUNTERS = ("hits", "misses", "evictions", "loads", "load_ms")


def estimate_bytes(model):
    """An approximate in-memory size of a loaded model, in bytes."""
    params = getattr(model, "parameters", None)
    buffers = getattr(model, "buffers", None)
    if callable(params) and callable(buffers):  # a torch.nn.Module
        try:
            return sum(t.nelement() * t.element_size() for t in (*params(), *buffers()))
        except Exception:
            pass
    nbytes = getattr(model, "nbytes", None)
    if isinstance(nbytes, int):  # a numpy array
        return nbytes
    try:
        return len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        return sys.getsizeof(model)


def _release_gpu_memory():
    """An evicted torch model on the GPU: hand its blocks back to the driver, not just to torch's allocator."""
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    try:
        if cuda is not None and cuda.is_initialized():
            cuda.empty_cache()
    except Exception:
        pass


def _bound(env, name, cast, default):
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = cast(raw)
    except ValueError:
        raise ValueError(f"{name}={raw} is not a number") from None
    if not value >= 0:
        raise ValueError(f"{name}={raw} must be 0 or more")
    return value


class ModelCache:
    def __init__(self, max_entries=4, max_mb=None):
        self.max_entries = int(max_entries)
        self.max_bytes = None if max_mb is None else float(max_mb) * MB
        self._entries = OrderedDict()  # key -> (model, size in bytes, model id or None)
        self._bytes = 0
        self._lock = threading.RLock()
        self._counts = dict.fromkeys(COUNTERS, 0)
        self._reported = dict(self._counts)

    @classmethod
    def from_env(cls, env):
        """KILN_MODEL_CACHE_SIZE (default 4) and KILN_MODEL_CACHE_MB (default: no size bound)."""
        return cls(_bound(env, "KILN_MODEL_CACHE_SIZE", int, 4), _bound(env, "KILN_MODEL_CACHE_MB", float, None))

    def get(self, key, loader, size_bytes=None, model_id=None):
        """(model, cached, load_ms): the kept model for key, else loader()'s, kept if it fits the bounds.

        model_id: the training job id the model came from, advertised while it is kept (affinity).
        """
        hash(key)  # an unhashable key fails here, before anything loads
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self._counts["hits"] += 1
                return self._entries[key][0], True, 0.0
            self._counts["misses"] += 1
            started = time.perf_counter()
            model = loader()
            load_ms = (time.perf_counter() - started) * 1000
            self._counts["loads"] += 1
            self._counts["load_ms"] += load_ms
            self._keep(key, model, estimate_bytes(model) if size_bytes is None else int(size_bytes), model_id)
            return model, False, load_ms

    def _keep(self, key, model, size, model_id=None):
        if self.max_entries <= 0 or (self.max_bytes is not None and size > self.max_bytes):
            return
        self._entries[key] = (model, size, None if model_id is None else str(model_id))
        self._bytes += size
        evicted = False
        while len(self._entries) > self.max_entries or (self.max_bytes is not None and self._bytes > self.max_bytes):
            _, (_, dropped, _) = self._entries.popitem(last=False)
            self._bytes -= dropped
            self._counts["evictions"] += 1
            evicted = True
        if evicted:
            _release_gpu_memory()

    def __contains__(self, key):
        with self._lock:
            return key in self._entries

    def __len__(self):
        with self._lock:
            return len(self._entries)

    def model_ids(self):
        """The training job ids of the kept models that named one, sorted (what the worker advertises)."""
        with self._lock:
            return sorted({entry[2] for entry in self._entries.values() if entry[2] is not None})

    def stats(self):
        """Cumulative counters and the current entries and bytes."""
        with self._lock:
            return {**self._counts, "entries": len(self._entries), "bytes": self._bytes}

    def take_delta(self):
        """Counters since the previous take (None: nothing new), with the current entries and bytes."""
        with self._lock:
            delta = {name: self._counts[name] - self._reported[name] for name in COUNTERS}
            if not any(delta.values()):
                return None
            self._reported = dict(self._counts)
            return {**delta, "load_ms": round(delta["load_ms"], 3), "entries": len(self._entries), "bytes": self._bytes,
                    "models": self.model_ids()}


class JobModels:
    """ctx.models: one job's view of the runner's cache; remembers whether its last get() was a hit."""

    def __init__(self, cache, log):
        self._cache = cache
        self._log = log
        self.cached = None  # None until get() is called: True when the last model came from the cache
        self.load_ms = None

    def get(self, key, loader, size_mb=None, model_id=None):
        """The model kept under key, or loader()'s (kept for later jobs while it fits model_cache_size/_mb).

        key: any hashable (a string, a tuple); size_mb: the model's size when the estimate would be poor;
        model_id: the training job id (an inference job's model_path) the model came from: while it is
        kept, the worker advertises it and inference jobs for it are sent here first (affinity).
        """
        size = None if size_mb is None else float(size_mb) * MB
        model, cached, load_ms = self._cache.get(key, loader, size, model_id)
        self.cached, self.load_ms = cached, round(load_ms, 3)
        self._log(f"model {key!r}: " + ("cached" if cached else f"loaded in {load_ms:.0f} ms"))
        return model
