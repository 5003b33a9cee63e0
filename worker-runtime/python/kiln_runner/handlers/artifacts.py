"""Model artifacts: ARTIFACT_ROOT/<job_id>/ holds the model file and meta.json."""
import json
import os
import sys
import time
from collections import OrderedDict

from ..errors import InputError, NonRetryableError

META_FILE = "meta.json"
_cache = OrderedDict()  # (path, mtime_ns, extra) -> loaded model
_CACHE_SIZE = 4


def write_meta(directory, meta):
    meta = {**meta, "python": sys.version.split()[0], "created_at": time.time()}
    tmp = os.path.join(directory, META_FILE + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(meta, handle, indent=2, default=str)
    os.replace(tmp, os.path.join(directory, META_FILE))


def open_model(ctx, ref, framework):
    """(model file path, meta) for payload.model_path: a training job id or a path under the artifact root."""
    if ref is None or ref == "":
        raise InputError("inference needs payload.model_path: the id of a training job or a path under the artifact root")
    path = ctx.artifact_path(str(ref), "model_path")
    directory = path if os.path.isdir(path) else os.path.dirname(path)
    if not os.path.exists(path):
        raise InputError(f"model_path {ref!r} not found: {path} does not exist")
    meta_path = os.path.join(directory, META_FILE)
    try:
        with open(meta_path, encoding="utf-8") as handle:
            meta = json.load(handle)
    except FileNotFoundError:
        raise InputError(f"model_path {ref!r}: {directory} has no {META_FILE}; was it written by a Kiln training job?") from None
    if meta.get("framework") != framework:
        raise InputError(f"model_path {ref!r} holds a {meta.get('framework')} model; send the job to a "
                         f"{meta.get('framework')} worker type, not {framework}")
    model_file = path if os.path.isfile(path) else os.path.join(directory, meta.get("model_file", ""))
    if not os.path.isfile(model_file):
        raise InputError(f"model_path {ref!r}: the model file {model_file} is missing")
    return model_file, meta


def check_model_type(payload, meta):
    wanted = payload.get("model_type")
    if wanted and str(wanted).lower() != str(meta.get("model_type")).lower():
        raise InputError(f"model_path holds a {meta.get('model_type')} model, not {wanted}")


def cached(model_file, loader, extra=None):
    """loader(model_file), kept warm for the next inference job on the same file."""
    key = (model_file, os.stat(model_file).st_mtime_ns, extra)
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    try:
        model = loader(model_file)
    except (NonRetryableError, MemoryError):
        raise
    except Exception as exc:  # not a model, a truncated file, a mismatched architecture: a retry fails the same way
        raise InputError(f"model_path: {os.path.basename(model_file)} does not load as a model: "
                         f"{type(exc).__name__}: {exc}") from exc
    _cache[key] = model
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return model
