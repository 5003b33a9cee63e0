"""Imports the worker type's framework once and describes it for the ready message."""
import importlib
import json
import os
import sys
import time
import traceback

# The framework registry, generated from core/frameworks.ts (scripts/gen-frameworks.mjs).
with open(os.path.join(os.path.dirname(__file__), "frameworks.json"), encoding="utf-8") as _f:
    REGISTRY = json.load(_f)["frameworks"]

# framework name -> (module to import, package to install), "fake" aside (KILN_FAKE_MODULE)
MODULES = {name: (f["import_name"], f["package"]) for name, f in REGISTRY.items() if name != "fake"}


class FrameworkError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def module_name(framework):
    if framework == "fake":
        return os.environ.get("KILN_FAKE_MODULE") or REGISTRY["fake"]["import_name"]
    if framework not in MODULES:
        known = ", ".join(sorted(REGISTRY))
        raise FrameworkError("UNKNOWN_FRAMEWORK", f"KILN_FRAMEWORK={framework!r} is not one of {known}")
    return MODULES[framework][0]


def load(framework):
    """Imports the framework; returns (module, ready-message fields) or raises FrameworkError."""
    module, info = import_only(framework)
    return module, with_accelerators(framework, module, info)


def import_only(framework):
    """Imports the framework without touching a GPU (a template forks runners from here)."""
    name = module_name(framework)
    python = sys.executable or "this interpreter"
    package = MODULES.get(framework, (name, name))[1]
    started = time.perf_counter()
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise FrameworkError(
            "FRAMEWORK_MISSING",
            f"{name} is not installed for {python}: {type(exc).__name__}: {exc} — install it into "
            f"this worker type's interpreter (e.g. uv pip install {package})",
        ) from exc
    except BaseException as exc:  # a broken install can raise anything at import time
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        raise FrameworkError("FRAMEWORK_IMPORT_FAILED", f"importing {name} with {python} failed: {last}") from exc
    import_ms = (time.perf_counter() - started) * 1000
    return module, {
        "framework": framework,
        "version": str(getattr(module, "__version__", "unknown")),
        "python": sys.version.split()[0],
        # measured around the import alone: the framework's share of a cold start
        "import_ms": round(import_ms, 3),
    }


def with_accelerators(framework, module, info):
    """The ready fields plus cuda/gpus: the first GPU query, after CUDA_VISIBLE_DEVICES is final."""
    cuda, gpus = _accelerators(framework, module)
    return {**info, "cuda": cuda, "gpus": gpus}


def _accelerators(framework, module):
    policy = REGISTRY.get(framework, {}).get("gpu", "none")
    try:
        if policy == "torch-cuda":
            available = bool(module.cuda.is_available())
            return available, int(module.cuda.device_count()) if available else 0
        if policy == "tf-devices":
            gpus = len(module.config.list_physical_devices("GPU"))
            return gpus > 0, gpus
        if policy == "module-attrs":
            return bool(getattr(module, "cuda", False)), int(getattr(module, "gpus", 0))
    except Exception as exc:  # a driver problem must not stop a CPU-capable runner
        print(f"kiln_runner: could not query GPUs: {exc}", file=sys.stderr)
    return False, 0
