"""Dynamic batching in the runner: one `run_batch` message, one handler call, one outcome per job.

The handler's batch entry is `infer_batch(jobs, ctx)` in a built-in handlers module and
`handle_batch(jobs, ctx)` in a user handler module (next to its `handle`). It returns one
entry per job, in order: the job's result, or an Exception instance that fails that job
alone. A module without a batch entry has `handle` called per job in turn. Jobs whose
handler differs (or cannot be selected) never share a call.

The batch ctx (BatchContext): progress/log/output apply to every job of the batch;
`ctx.contexts` holds each job's own JobContext (paths, artifact_dir, per-job logs);
`ctx.models` is the runner's model cache; `check_cancelled` raises once every job of
the batch is cancelled (a cancelled job's result is dropped by the worker).
"""
import sys

from .errors import JobCancelled


class BatchContext:
    def __init__(self, contexts):
        self.contexts = list(contexts)
        first = self.contexts[0]
        self.models = first.models
        self.data_root, self.artifact_root = first.data_root, first.artifact_root
        self.artifact_key_file = first.artifact_key_file
        self.job_ids = [c.job_id for c in self.contexts]

    def progress(self, value, message=None, metrics=None):
        for c in self.contexts:
            c.progress(value, message, metrics)

    def log(self, message, level="info"):
        for c in self.contexts:
            c.log(message, level)

    def output(self, value):
        for c in self.contexts:
            c.output(value)

    def is_cancelled(self):
        return all(c.is_cancelled() for c in self.contexts)

    def check_cancelled(self):
        if self.is_cancelled():
            raise JobCancelled(f"every job of the batch {self.job_ids} was cancelled")

    def data_path(self, path, field="data_path"):
        return self.contexts[0].data_path(path, field)

    def artifact_path(self, path, field="model_path"):
        return self.contexts[0].artifact_path(path, field)


def batch_entry(handle):
    """The batch function beside a handler: infer_batch for a built-in infer, handle_batch for a handle."""
    module = sys.modules.get(getattr(handle, "__module__", None) or "")
    name = {"infer": "infer_batch", "handle": "handle_batch"}.get(getattr(handle, "__name__", None))
    entry = getattr(module, name, None) if module is not None and name else None
    return entry if callable(entry) else None


def groups(ctxs, select):
    """[(handle, [ctx…])] in first-seen order, and [(ctx, exc)] for jobs whose handler cannot be selected."""
    grouped, failed = {}, []
    for ctx in ctxs:
        try:
            handle = select(ctx.job)
        except Exception as exc:  # noqa: BLE001 - reported as that job's error
            failed.append((ctx, exc))
            continue
        grouped.setdefault(id(handle), (handle, []))[1].append(ctx)
    return list(grouped.values()), failed


def run_group(handle, ctxs, call):
    """[(ctx, result or Exception)] for one group: one batch call, or handle per job in turn."""
    entry = batch_entry(handle)
    if entry is None:
        return [(ctx, _one(call, handle, ctx)) for ctx in ctxs]
    try:
        results = entry([c.job for c in ctxs], BatchContext(ctxs))
    except BaseException as exc:  # noqa: BLE001 - the whole call failed: every job of the group fails with it
        return [(ctx, exc) for ctx in ctxs]
    results = list(results) if isinstance(results, (list, tuple)) else None
    if results is None or len(results) != len(ctxs):
        problem = TypeError(f"{getattr(entry, '__name__', 'the batch handler')} must return a list of "
                            f"{len(ctxs)} results (one per job, in order)")
        return [(ctx, problem) for ctx in ctxs]
    return list(zip(ctxs, results))


def _one(call, handle, ctx):
    try:
        return call(handle, ctx.job, ctx)
    except BaseException as exc:  # noqa: BLE001 - SystemExit from a handler fails the job, not the runner
        return exc


def infer_each(jobs, ctx, prepare, predict_group):
    """The skeleton of a built-in infer_batch: prepare(job, job_ctx) → (model, …) per job, a failure
    being that job's error; predict_group([(job_ctx, model, …)]) → {id(item): result or exception},
    once per distinct model. Returns one entry per job; each result records batch_size."""
    prepared, by_model = [], {}
    for job, jctx in zip(jobs, ctx.contexts):
        try:
            item = (jctx, *prepare(job, jctx))
        except Exception as exc:  # noqa: BLE001 - that job's error
            prepared.append(exc)
            continue
        prepared.append(item)
        by_model.setdefault(id(item[1]), []).append(item)
    ctx.progress(0.3, f"predicting for {len(jobs)} jobs")
    results = {}
    for items in by_model.values():
        results.update(predict_group(items))
    ctx.progress(1.0, "done")
    out = []
    for item in prepared:
        value = item if isinstance(item, Exception) else results[id(item)]
        if isinstance(value, dict):
            value["batch_size"] = len(jobs)
        out.append(value)
    return out
