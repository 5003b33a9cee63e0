"""Picks the handler for a job: a user module named in the payload, or a built-in."""
import importlib

from .errors import InputError
from .handlers import user

BUILTIN_MODULES = {"sklearn": "sklearn_handlers", "pytorch": "torch_handlers", "tensorflow": "tf_handlers"}


def select(job, framework, framework_module, handlers_dir):
    kind = job.get("kind")
    payload = job.get("payload")
    name = None
    if isinstance(payload, dict):
        name = payload.get("handler")
        if name is None and kind == "function":
            name = payload.get("function")
    if name is not None:
        return user.load(name, handlers_dir)
    if framework == "fake" and callable(getattr(framework_module, "handle", None)):
        return framework_module.handle
    if kind in ("training", "inference") and framework in BUILTIN_MODULES:
        module = importlib.import_module(f"{__package__}.handlers.{BUILTIN_MODULES[framework]}")
        return module.train if kind == "training" else module.infer
    raise InputError(
        f"no built-in handler for a {kind} job on a {framework} worker; name a module of the "
        f"handlers folder (KILN_HANDLERS_DIR) in payload.handler"
    )
