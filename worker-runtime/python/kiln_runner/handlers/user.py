"""Loads user handler modules, by plain name, from the worker type's handlers folder.

A module `<KILN_HANDLERS_DIR>/<name>.py` exposes `handle(job, ctx)` (plain or async). A
generator handler (sync or async) streams: each yield is sent as an output
(ctx.output), and the job's result is the generator's return value, or the list of
what it yielded when it returns None (an async generator: always that list).
Modules are imported once and reloaded when the file changes.
"""
import asyncio
import contextlib
import importlib.util
import inspect
import keyword
import os
import re
import sys

from ..errors import InputError, NonRetryableError
from ..sandbox import resolve_inside

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_loaded = {}  # name -> (path, mtime_ns, handle)


class HandlerLoadError(NonRetryableError):
    """The handler module exists but cannot be imported or has no handle()."""


def load(name, handlers_dir):
    if not isinstance(name, str) or not _NAME.match(name) or keyword.iskeyword(name):
        raise InputError(f"payload.handler {name!r} must be a plain Python identifier such as 'score_images'")
    if not handlers_dir:
        raise InputError(f"payload.handler {name!r} names a user handler but this worker type has no handlers "
                         f"folder (KILN_HANDLERS_DIR)")
    path = resolve_inside(f"{name}.py", handlers_dir, "payload.handler", "handlers folder")
    if not os.path.isfile(path):
        raise InputError(f"handler {name!r} not found: there is no {name}.py in {os.path.realpath(handlers_dir)}")
    mtime = os.stat(path).st_mtime_ns
    cached = _loaded.get(name)
    if cached and cached[0] == path and cached[1] == mtime:
        return cached[2]
    module_name = f"kiln_handler_{name}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # lets pickle find classes defined in handlers
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise HandlerLoadError(f"importing handler {name!r} from {path} failed: {type(exc).__name__}: {exc}") from exc
    handle = getattr(module, "handle", None)
    if not callable(handle):
        raise HandlerLoadError(f"{path} has no handle(job, ctx) function")
    _loaded[name] = (path, mtime, handle)
    return handle


def call(handle, job, ctx):
    """Runs a handler; an async handler runs to completion on its own event loop."""
    result = handle(job, ctx)
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    elif inspect.isgenerator(result):
        result = _drain(result, ctx)
    elif inspect.isasyncgen(result):
        result = asyncio.run(_drain_async(result, ctx))
    return result


def _drain(gen, ctx):
    yielded = []
    with contextlib.closing(gen):  # a cancel (or a bad value) closes it: its finally blocks run
        while True:
            try:
                value = next(gen)
            except StopIteration as stop:
                return yielded if stop.value is None else stop.value
            ctx.check_cancelled()
            ctx.output(value)
            yielded.append(value)


async def _drain_async(gen, ctx):
    yielded = []
    try:
        async for value in gen:
            ctx.check_cancelled()
            ctx.output(value)
            yielded.append(value)
    finally:
        await gen.aclose()
    return yielded
