"""The runner side of a fork from the template (see template.py).

The forked process leaves the template's session, connects to its worker's socket twice
(protocol, then stderr) and puts them on fds 0/1 and 2, takes the worker's environment
(CUDA_VISIBLE_DEVICES included, before any GPU call), re-seeds the random generators,
runs a small self-test of its framework under a time limit, then serves jobs exactly as
a plain runner (`python -m kiln_runner`) does. It exits within a second of its worker's
exit (EOF on the protocol socket, and a watch on the worker's pid).
"""
import json
import os
import random
import select
import socket
import sys
import threading
import time

from kiln_runner import frameworks

EXIT_FORK_UNSAFE = 4
WATCH_S = 0.2


def alive(pid):
    """Whether a process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3] != b"Z"
    except (OSError, ValueError):
        return True


def _connect(path, token, role):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    conn.sendall((json.dumps({"token": token, "role": role}) + "\n").encode())
    return conn


def _reseed():
    """Each runner draws its own random numbers: the template's generator states are shared by every fork."""
    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(int.from_bytes(os.urandom(8), "little"))  # lazy for CUDA: no GPU call here


def _watch(worker_pid):
    """Exits this runner as soon as its worker is gone, whoever its parent is by then."""
    def loop():
        try:
            fd = os.pidfd_open(worker_pid)
        except ProcessLookupError:
            os._exit(0)
        except (AttributeError, OSError):
            fd = None
        while True:
            if fd is not None:
                if select.select([fd], [], [], 5)[0]:
                    os._exit(0)
            else:
                time.sleep(WATCH_S)
            if not alive(worker_pid):
                os._exit(0)

    threading.Thread(target=loop, name="kiln-worker-watch", daemon=True).start()


def _self_test_op(framework, module):
    own = getattr(module, "kiln_fork_self_test", None)
    if callable(own):
        return own()
    if framework == "sklearn":
        import numpy as np
        from sklearn.linear_model import LinearRegression

        x = np.arange(64.0).reshape(32, 2)
        LinearRegression().fit(x, x @ np.array([1.0, 2.0]))
        return (np.ones((128, 128)) @ np.ones((128, 128))).sum()
    if framework == "pytorch":
        return float((module.ones(128, 128) @ module.ones(128, 128)).sum())
    if framework == "tensorflow":
        return float(module.reduce_sum(module.ones((64, 64)) @ module.ones((64, 64))))
    return None


def self_test(framework, module, limit_s):
    """Why this fork cannot serve jobs (the framework's small op failed or hung), or None."""
    outcome = []

    def attempt():
        try:
            _self_test_op(framework, module)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(f"{type(exc).__name__}: {exc}")

    thread = threading.Thread(target=attempt, name="kiln-fork-self-test", daemon=True)
    thread.start()
    thread.join(limit_s)
    if not outcome:
        return f"the {framework} self-test after fork did not finish within {limit_s:g} s"
    return outcome[0] and f"the {framework} self-test after fork failed: {outcome[0]}"


def run(request, framework, module, info, import_output=b""):
    """In the forked child: becomes the worker's runner; returns the exit code."""
    os.setsid()  # its own process group: a kill of the runner takes what its jobs started
    proto = _connect(request["socket"], request["token"], "protocol")
    err = _connect(request["socket"], request["token"], "stderr")
    os.dup2(proto.fileno(), 0)
    os.dup2(proto.fileno(), 1)
    os.dup2(err.fileno(), 2)
    os.close(proto.detach())
    os.close(err.detach())
    if import_output:
        os.write(2, import_output)  # what the framework printed at import, as a spawned runner's stderr has it
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in (request.get("env") or {}).items()})
    os.chdir(request.get("cwd") or "/")
    _watch(int(request["worker_pid"]))
    _reseed()
    from kiln_runner.__main__ import claim_stdio, serve

    channel, output, stdin = claim_stdio()
    problem = self_test(framework, module, float(os.environ.get("KILN_TEMPLATE_SELF_TEST_S") or 10))
    if problem:
        channel.send({"type": "fatal", "code": "FORK_UNSAFE", "message": problem})
        return EXIT_FORK_UNSAFE
    # nothing imported here (the template did it): the framework's share of this start is fork → ready,
    # the self-test and the GPU query (the runner's first CUDA call) included
    ready = frameworks.with_accelerators(framework, module, info)
    ready["import_ms"] = round((time.perf_counter() - request.get("forked_at", time.perf_counter())) * 1000, 3)
    try:
        return serve(channel, output, stdin, framework, module, {**ready, "template_pid": os.getppid()})
    finally:
        sys.stderr.flush()
