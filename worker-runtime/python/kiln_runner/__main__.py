"""Entry point: `python -u -m kiln_runner`.

Claims stdout for the protocol, routes a running job's output (print, sys.stderr,
logging) to the job's log, imports the framework named by KILN_FRAMEWORK,
reports `ready` (or `fatal` and exits 3), then serves jobs until shutdown or EOF.
"""
import os
import sys

from kiln_runner import frameworks
from kiln_runner.models import ModelCache
from kiln_runner.output import JobOutput
from kiln_runner.protocol import Channel
from kiln_runner.runner import Runner

EXIT_FRAMEWORK = 3
EXIT_CONFIG = 2


def _take_stdin():
    """A private reader for protocol input; fd 0 and sys.stdin become /dev/null for handlers."""
    reader = os.fdopen(os.dup(0), "rb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdin = open(os.devnull, encoding="utf-8")
    return reader


def _die_with_parent():
    """Linux: SIGKILL this runner when the worker dies, even if a handler holds the GIL."""
    if not sys.platform.startswith("linux") or os.environ.get("KILN_PDEATHSIG") == "0":
        return
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except Exception:
        pass


def main():
    channel = Channel.take_stdout()
    output = JobOutput(channel, sys.stderr)
    output.install(sys)
    stdin = _take_stdin()
    _die_with_parent()
    framework = os.environ.get("KILN_FRAMEWORK", "")
    try:
        module, info = frameworks.load(framework)
    except frameworks.FrameworkError as exc:
        channel.send({"type": "fatal", "code": exc.code, "message": str(exc)})
        return EXIT_CONFIG if exc.code == "UNKNOWN_FRAMEWORK" else EXIT_FRAMEWORK
    try:
        model_cache = ModelCache.from_env(os.environ)
    except ValueError as exc:
        channel.send({"type": "fatal", "code": "BAD_CONFIG", "message": f"model cache: {exc}"})
        return EXIT_CONFIG
    channel.send({"type": "ready", **info, "pid": os.getpid()})
    Runner(channel, framework, module, output=output, model_cache=model_cache).serve(stdin)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    os._exit(code)  # do not wait for framework threads or a job thread that ignored cancel
