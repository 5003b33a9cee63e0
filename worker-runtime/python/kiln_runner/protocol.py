"""The JSON-lines channel to the worker.

The runner keeps a private duplicate of the original stdout for protocol messages
and points fd 1 (and sys.stdout) at stderr, so a write to fd 1 from C code lands in
the worker's stderr log instead of the protocol. While a job runs, print() and
sys.stderr go to the job's log as `log` messages (see output.py).
"""
import json
import math
import os
import sys
import threading


class Channel:
    def __init__(self, fd):
        self.fd = fd
        self._lock = threading.Lock()

    @classmethod
    def take_stdout(cls):
        """Claims the original stdout for the protocol and sends fd 1 to stderr."""
        sys.stdout.flush()
        fd = os.dup(1)  # not inheritable: child processes never get it
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        return cls(fd)

    def send(self, message):
        data = (json.dumps(to_jsonable(message), separators=(",", ":"), allow_nan=False) + "\n").encode()
        with self._lock:
            view = memoryview(data)
            while view:
                written = os.write(self.fd, view)
                view = view[written:]


def to_jsonable(value):
    """Plain JSON values from numpy scalars/arrays, tuples, sets; NaN and ±inf become null.

    Raises TypeError for anything else, so a handler returning an unserialisable
    object fails its job instead of the channel.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays/scalars, torch tensors
        return to_jsonable(value.tolist())
    if hasattr(value, "item") and callable(value.item):
        return to_jsonable(value.item())
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def read_messages(stream):
    """Yields (message, None) per line of a binary stream, or (None, problem) for a bad line."""
    for raw in iter(stream.readline, b""):
        line = raw.strip()
        if not line:
            continue
        try:
            message = json.loads(line)
        except ValueError as exc:
            yield None, f"not JSON ({exc}): {line[:200]!r}"
            continue
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            yield None, f"not a message object: {line[:200]!r}"
            continue
        yield message, None
