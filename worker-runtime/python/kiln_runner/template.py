"""A template runner: `python -u -m kiln_runner.template`, one per Python worker type and host.

It imports the framework (KILN_FRAMEWORK) and the handlers once, touching no GPU, then
forks each new worker's runner on request (the gunicorn --preload pattern). It listens
on the Unix socket KILN_TEMPLATE_SOCKET (in a 0700 folder of the spawner's; peers must
be this user) and tells the spawner on stdout, a JSON line each: ready (or fatal), forked,
reaped. It exits when its stdin (a pipe from the spawner) closes, or when the spawner
dies (PR_SET_PDEATHSIG); the runners it forked stay with their workers.

A request is one JSON line: {"op": "fork", "socket", "token", "env", "cwd", "worker_pid"}.
The template answers {"type": "forked", "pid"} on the same connection, keeps it open, and
writes {"type": "exit", "code", "signal"} there once it reaped that runner.
"""
import json
import os
import select
import signal
import socket
import struct
import sys
import tempfile
import time

from kiln_runner import forked, frameworks

MAX_REQUEST = 1 << 20  # a request carries a worker's environment
MAX_IMPORT_OUTPUT = 1 << 16
POLL_S = 0.2


def _die_with_parent():
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except Exception:
        pass


def preload(framework, notes):
    """Imports what a runner of this framework imports, built-in and user handlers included."""
    module, info = frameworks.import_only(framework)
    import importlib

    from kiln_runner import __main__, dispatch  # noqa: F401  (the runner's own modules)
    from kiln_runner.handlers import user

    builtin = dispatch.BUILTIN_MODULES.get(framework)
    if builtin:
        importlib.import_module(f"kiln_runner.handlers.{builtin}")
        for extra in ("sklearn_models", "torch_models"):
            if extra.split("_")[0] in builtin:
                importlib.import_module(f"kiln_runner.handlers.{extra}")
        if framework == "sklearn":  # the estimators' modules, imported by a runner at its first job
            from kiln_runner.handlers.sklearn_models import ESTIMATORS

            for module_name in sorted({p.rsplit(".", 1)[0] for tasks in ESTIMATORS.values() for p in tasks.values()}):
                try:
                    importlib.import_module(module_name)
                except Exception as exc:
                    notes.append(f"{module_name} not preloaded: {exc}")
    handlers_dir = os.environ.get("KILN_HANDLERS_DIR")
    if handlers_dir and os.path.isdir(handlers_dir):
        for name in sorted(os.listdir(handlers_dir)):
            if name.endswith(".py"):
                try:
                    user.load(name[:-3], handlers_dir)
                except Exception as exc:  # the job that names it gets the error
                    notes.append(f"handler {name} not preloaded: {exc}")
    return module, info


def fork_problem():
    """Why forking this process is unsafe, or None: a GPU context made before fork is unusable after."""
    torch = sys.modules.get("torch")
    try:
        if torch is not None and torch.cuda.is_initialized():
            return "torch initialised CUDA while the template imported (a handler touched the GPU at import)"
    except Exception:
        pass
    return None


class Template:
    def __init__(self, out, listener, framework, module, info, import_output=b""):
        self.out = out
        self.import_output = import_output
        self.listener = listener
        self.framework = framework
        self.module = module
        self.info = info
        self.pending = {}  # socket -> bytes read so far
        self.children = {}  # pid -> (connection, worker pid)

    def report(self, message):
        _emit(self.out, message)

    def serve(self, stdin_fd):
        while True:
            readable, _, _ = select.select([stdin_fd, self.listener, *self.pending], [], [], POLL_S)
            for r in readable:
                if r == stdin_fd:
                    if not os.read(stdin_fd, 4096):
                        return  # the spawner closed our stdin: stop forking, leave the runners be
                elif r is self.listener:
                    self.accept()
                else:
                    self.receive(r)
            self.reap()
            self.watch_workers()

    def accept(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        if struct.unpack("3i", creds)[1] != os.getuid():
            conn.close()
            return
        self.pending[conn] = b""

    def receive(self, conn):
        try:
            chunk = conn.recv(65536)
        except OSError:
            chunk = b""
        data = self.pending[conn] + chunk
        if not chunk or len(data) > MAX_REQUEST:
            del self.pending[conn]
            conn.close()
            return
        if b"\n" not in data:
            self.pending[conn] = data
            return
        del self.pending[conn]
        try:
            request = json.loads(data.split(b"\n", 1)[0])
            if request.get("op") != "fork":
                raise ValueError(f"unknown op {request.get('op')!r}")
            self.fork(conn, request)
        except Exception as exc:
            self.answer(conn, {"type": "error", "message": f"{type(exc).__name__}: {exc}"})
            conn.close()

    def fork(self, conn, request):
        worker_pid = int(request["worker_pid"])
        sys.stdout.flush()
        sys.stderr.flush()
        request["forked_at"] = time.perf_counter()  # the child's "import" is fork → ready
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                # nothing of the template's stays open in the runner: listener, reports, other requests
                os.close(self.out.fileno())
                for s in [self.listener, conn, *self.pending, *(c for c, _ in self.children.values())]:
                    os.close(s.detach())
                code = forked.run(request, self.framework, self.module, self.info, self.import_output)
            finally:
                os._exit(code)
        self.children[pid] = (conn, worker_pid)
        self.answer(conn, {"type": "forked", "pid": pid})
        self.report({"type": "forked", "pid": pid, "worker_pid": worker_pid})

    def answer(self, conn, message):
        try:
            conn.sendall((json.dumps(message) + "\n").encode())
        except OSError:
            pass

    def reap(self):
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(status)
            exit_code, sig = (code, None) if code >= 0 else (None, signal.Signals(-code).name)
            conn, _ = self.children.pop(pid, (None, None))
            if conn is not None:
                self.answer(conn, {"type": "exit", "code": exit_code, "signal": sig})
                conn.close()
            self.report({"type": "reaped", "pid": pid, "code": exit_code, "signal": sig})

    def watch_workers(self):
        """A runner whose worker is gone is killed here too (the runner watches its worker itself)."""
        for pid, (_, worker_pid) in list(self.children.items()):
            if not forked.alive(worker_pid):
                for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
                    try:
                        kill()
                    except OSError:
                        pass


def _emit(out, message):
    out.write(json.dumps(message) + "\n")
    out.flush()


def _captured(fn):
    """Runs fn with fds 1 and 2 in a file; returns (fn's value or exception, what was written, capped)."""
    real = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 1)
        os.dup2(capture.fileno(), 2)
        try:
            value = fn()
        except BaseException as exc:  # noqa: BLE001 - returned to the caller, which reports it
            value = exc
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(real, 1)
            os.dup2(real, 2)
            os.close(real)
        capture.seek(0)
        text = capture.read(MAX_IMPORT_OUTPUT)
    os.write(2, text)  # the spawner's log has it once
    return value, text


def main():
    _die_with_parent()
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")  # reports; fd 1 goes to stderr
    os.dup2(2, 1)
    path = os.environ.get("KILN_TEMPLATE_SOCKET", "")
    framework = os.environ.get("KILN_FRAMEWORK", "")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if os.path.exists(path):
            os.unlink(path)
        listener.bind(path)  # before the imports: workers that ask early wait in the backlog
        listener.listen(128)
    except OSError as exc:
        _emit(out, {"type": "fatal", "code": "TEMPLATE_SOCKET", "message": f"cannot listen on {path}: {exc}"})
        return 2
    started = time.perf_counter()
    # what the imports print is replayed into each forked runner's stderr: its worker's log shows it as before
    notes = []
    loaded, import_output = _captured(lambda: preload(framework, notes))
    for note in notes:  # the template's own, for the spawner's log only
        print(f"kiln template: {note}", file=sys.stderr, flush=True)
    if isinstance(loaded, frameworks.FrameworkError):
        _emit(out, {"type": "fatal", "code": loaded.code, "message": str(loaded)})
        return 3
    if isinstance(loaded, BaseException):
        _emit(out, {"type": "fatal", "code": "FRAMEWORK_IMPORT_FAILED", "message": f"{type(loaded).__name__}: {loaded}"})
        return 3
    problem = fork_problem()
    if problem:
        _emit(out, {"type": "fatal", "code": "NOT_FORK_SAFE", "message": problem})
        return 3
    module, info = loaded
    template = Template(out, listener, framework, module, info, import_output)
    template.report({"type": "ready", "pid": os.getpid(), "framework": framework, "version": info["version"],
                     "import_ms": info["import_ms"], "preload_ms": round((time.perf_counter() - started) * 1000, 3)})
    template.serve(0)
    try:
        os.unlink(path)  # a stopped template leaves no socket behind (its runners have their own)
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    os._exit(code)
