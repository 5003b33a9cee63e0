"""Picks the handler for a job: a user module named in the payload, or a built-in."""
import importlib

from .errors import InputError
from .frameworks import REGISTRY
from .handlers import user

# framework -> its built-in handlers module, from the framework registry
BUILTIN_MODULES = {name: f["runner_module"] for name, f in REGISTRY.items() if f["runner_module"]}


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
