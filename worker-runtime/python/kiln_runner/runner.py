"""The runner's loop: read worker messages, run one job at a time in a thread.

The main thread keeps reading stdin while a job runs, so a `cancel` reaches the
job's context at once. The runner exits on `shutdown` or when stdin closes.
"""
import os
import threading
import traceback

from . import batch, dispatch
from .context import JobContext
from .errors import NON_RETRYABLE, PAYLOAD_TOO_DEEP, RUNNER_BUSY, error_type
from .handlers import user
from .models import ModelCache
from .protocol import read_messages, to_jsonable

_TRACEBACK_LIMIT = 20000


class Runner:
    def __init__(self, channel, framework, framework_module, env=os.environ, output=None, model_cache=None):
        self.channel = channel
        self.output = output  # JobOutput: the running job's print/stderr/logging go to its log
        self.framework = framework
        self.framework_module = framework_module
        self.data_root = env.get("KILN_DATA_ROOT") or None
        self.artifact_root = env.get("KILN_ARTIFACT_ROOT") or None
        self.artifact_key_file = env.get("KILN_ARTIFACT_KEY_FILE") or None
        self.handlers_dir = env.get("KILN_HANDLERS_DIR") or None
        self.shutdown_grace = float(env.get("KILN_SHUTDOWN_GRACE_S") or 2)
        self.model_cache = model_cache if model_cache is not None else ModelCache.from_env(env)
        self._lock = threading.Lock()
        self._current = None  # ([JobContext…], Thread): one job, or the jobs of a batch

    def serve(self, stream):
        """Handles messages until shutdown (waits a grace for the running job) or EOF (does not)."""
        for message, problem in read_messages(stream):
            if problem:
                if problem.job_id is not None:
                    self._refuse(problem.job_id, PAYLOAD_TOO_DEEP, f"the job's run message {problem}; flatten the payload")
                    continue
                self._log("error", f"ignored a malformed message from the worker: {problem}")
                continue
            kind = message["type"]
            if kind == "run":
                self._start(message.get("job"))
            elif kind == "run_batch":
                self._start_batch(message.get("jobs"))
            elif kind == "cancel":
                self._cancel(message.get("job_id"))
            elif kind == "shutdown":
                self._stop(self.shutdown_grace)
                return
            else:
                self._log("warn", f"ignored a message of unknown type {kind!r}")
        self._stop(0)

    def _start(self, job):
        if not isinstance(job, dict) or not isinstance(job.get("id"), (str, int)):
            self._log("error", "ignored a run message without a job object with an id")
            return
        self._launch([job], self._run)

    def _start_batch(self, jobs):
        if not isinstance(jobs, list) or not jobs or not all(
                isinstance(j, dict) and isinstance(j.get("id"), (str, int)) for j in jobs):
            self._log("error", "ignored a run_batch message without a non-empty list of job objects with ids")
            return
        self._launch(jobs, self._run_batch)

    def _launch(self, jobs, target):
        with self._lock:
            if self._current is not None:
                busy = ", ".join(c.job_id for c in self._current[0])
                for job in jobs:
                    self.channel.send({"type": "error", "job_id": str(job["id"]), "error": {
                        "type": RUNNER_BUSY, "message": f"the runner is still running job {busy}", "retryable": True}})
                return
            ctxs = [JobContext(job, self.channel, self.data_root, self.artifact_root, self.artifact_key_file,
                               self.model_cache) for job in jobs]
            arg = ctxs[0] if target == self._run else ctxs
            thread = threading.Thread(target=target, args=(arg,), name=f"kiln-job-{ctxs[0].job_id}", daemon=True)
            self._current = (ctxs, thread)
        thread.start()

    def _run(self, ctx):
        if self.output is not None:
            self.output.begin(ctx.job_id)
        try:
            handle = dispatch.select(ctx.job, self.framework, self.framework_module, self.handlers_dir)
            outcome = {"type": "result", "job_id": ctx.job_id, "result": to_jsonable(user.call(handle, ctx.job, ctx))}
        except BaseException as exc:  # SystemExit from a handler fails the job, not the runner
            outcome = {"type": "error", "job_id": ctx.job_id, "error": describe(exc)}
        if self.output is not None:
            self.output.end()  # the job's last partial lines go before its outcome
        self._finish(ctx.job_id, [outcome])

    def _run_batch(self, ctxs):
        """One handler call per group of jobs sharing a handler (see batch.py); one outcome per job."""
        if self.output is not None:
            self.output.begin(ctxs[0].job_id)  # print() in a batch handler goes to the batch's first job
        select = lambda job: dispatch.select(job, self.framework, self.framework_module, self.handlers_dir)
        handled, failed = batch.groups(ctxs, select)
        pairs = list(failed)
        for handle, members in handled:
            pairs += batch.run_group(handle, members, user.call)
        outcomes = {}
        for ctx, value in pairs:
            if isinstance(value, BaseException):
                outcomes[ctx.job_id] = {"type": "error", "job_id": ctx.job_id, "error": describe(value)}
                continue
            try:
                outcomes[ctx.job_id] = {"type": "result", "job_id": ctx.job_id, "result": to_jsonable(value)}
            except Exception as exc:  # noqa: BLE001 - an unserialisable result fails its job alone
                outcomes[ctx.job_id] = {"type": "error", "job_id": ctx.job_id, "error": describe(exc)}
        if self.output is not None:
            self.output.end()
        self._finish(ctxs[0].job_id, [outcomes[c.job_id] for c in ctxs])

    def _finish(self, job_id, outcomes):
        cache = self.model_cache.take_delta()
        with self._lock:
            self._current = None  # before sending: the worker may send the next job at once
        if cache is not None:  # the cache's counters since the last report, before the outcome
            self.channel.send({"type": "model_cache", "job_id": job_id, **cache})
        for outcome in outcomes:
            self.channel.send(outcome)

    def _refuse(self, job_id, kind, message):
        """Fails a job the runner cannot even read: never retried, the runner goes on."""
        self.channel.send({"type": "error", "job_id": job_id, "error": {"type": kind, "message": message, "retryable": False}})

    def _cancel(self, job_id):
        with self._lock:
            current = self._current
        for ctx in current[0] if current is not None else []:
            if ctx.job_id == str(job_id):
                ctx.cancelled.set()

    def _stop(self, grace):
        with self._lock:
            current = self._current
        if current is not None:
            for ctx in current[0]:
                ctx.cancelled.set()
            current[1].join(grace)

    def _log(self, level, message):
        self.channel.send({"type": "log", "level": level, "message": message})


def describe(exc):
    """The error object of an `error` message (exc: raised, or returned by a batch handler)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {
        "type": error_type(exc),
        "exception": type(exc).__name__,
        "message": str(exc) or type(exc).__name__,
        "traceback": text[-_TRACEBACK_LIMIT:],
        "retryable": not isinstance(exc, NON_RETRYABLE),
    }
