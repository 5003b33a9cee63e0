"""The JSON-lines channel to the worker.

The runner keeps a private duplicate of the original stdout for protocol messages
and points fd 1 (and sys.stdout) at stderr, so a write to fd 1 from C code lands in
the worker's stderr log instead of the protocol. While a job runs, print() and
sys.stderr go to the job's log as `log` messages (see output.py).
"""
import json
import math
import os
import re
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


# The deepest nesting of arrays/objects a message may have (the API and the worker hold the same limit).
MAX_JSON_DEPTH = 64

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_RUN_JOB_ID = re.compile(rb'^\{"type":"run","job":\{"id":("(?:[^"\\]|\\.)*"|-?\d+)')


def too_deep(line, max_depth=MAX_JSON_DEPTH):
    """Whether a JSON line nests deeper than max_depth, found without recursion (json.loads would
    raise RecursionError near 1,000 levels and take the runner down with it)."""
    if line.count(b"[") + line.count(b"{") <= max_depth:
        return False
    brackets = _JSON_STRING.sub(b"", line).translate(None, _NOT_BRACKETS)
    brackets = brackets.replace(b"{", b"[").replace(b"}", b"]")
    for _ in range(max_depth):  # each pass removes the innermost level
        brackets = brackets.replace(b"[]", b"")
        if b"[]" not in brackets:
            return False
    return True


class Problem(str):
    """Why a line was not a message; job_id is set when it was a run message for that job."""

    job_id = None


def read_messages(stream):
    """Yields (message, None) per line of a binary stream, or (None, Problem) for a bad line."""
    for raw in iter(stream.readline, b""):
        line = raw.strip()
        if not line:
            continue
        if too_deep(line):
            problem = Problem(f"nests arrays/objects more than {MAX_JSON_DEPTH} levels deep ({len(line)} bytes)")
            found = _RUN_JOB_ID.match(line)
            if found:
                try:
                    problem.job_id = str(json.loads(found.group(1)))
                except ValueError:
                    pass
            yield None, problem
            continue
        try:
            message = json.loads(line)
        except (ValueError, RecursionError) as exc:
            yield None, Problem(f"not JSON ({exc}): {line[:200]!r}")
            continue
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            yield None, Problem(f"not a message object: {line[:200]!r}")
            continue
        yield message, None
