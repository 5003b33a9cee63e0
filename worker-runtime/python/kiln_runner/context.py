"""What a handler gets besides the job: progress, logs, cancellation and safe paths."""
import math
import os
import threading

from . import metrics as metrics_rules
from .errors import JobCancelled, SandboxError
from .models import JobModels, ModelCache
from .sandbox import resolve_inside, safe_name

_LEVELS = {"debug": "debug", "info": "info", "warn": "warn", "warning": "warn", "error": "error",
           "critical": "error", "fatal": "error", "exception": "error"}


class JobContext:
    def __init__(self, job, channel, data_root=None, artifact_root=None, artifact_key_file=None, model_cache=None):
        self.job = job
        self.job_id = str(job["id"])
        self.kind = job.get("kind")
        self.payload = job.get("payload")
        self.attempt = job.get("attempt", 1)
        self.data_root = data_root
        self.artifact_root = artifact_root
        self.artifact_key_file = artifact_key_file  # the path of the install's artifact key (never the key)
        self.cancelled = threading.Event()
        self._channel = channel
        self._artifact_dir = None
        self._metric_warnings = set()
        # ctx.models.get(key, loader): the runner's model cache (a private one when none is given)
        self.models = JobModels(model_cache if model_cache is not None else ModelCache(), self.log)

    def progress(self, value, message=None, metrics=None):
        """Reports progress in [0, 1] with an optional human message and optional metrics.

        metrics: a flat dict of finite numbers ({"loss": 0.31, "accuracy": 0.9}), kept on
        the job and drawn as a chart. Bad entries are dropped with one warning per name.
        """
        value = float(value)
        if math.isnan(value):
            return
        message_out = {"type": "progress", "job_id": self.job_id, "progress": min(1.0, max(0.0, value))}
        if message is not None:
            message_out["message"] = str(message)
        if metrics is not None:
            kept, dropped = metrics_rules.clean(metrics)
            fresh = [(name, why) for name, why in dropped if name not in self._metric_warnings]
            if fresh:
                self._metric_warnings.update(name for name, _ in fresh)
                self.log("progress metrics dropped: " + ", ".join(f'"{n}" ({why})' for n, why in fresh), "warn")
            if kept:
                message_out["metrics"] = kept
        self._channel.send(message_out)

    def log(self, message, level="info"):
        self._channel.send({"type": "log", "job_id": self.job_id,
                            "level": _LEVELS.get(str(level).lower(), "info"), "message": str(message)})

    def is_cancelled(self):
        return self.cancelled.is_set()

    def check_cancelled(self):
        """Raises JobCancelled once the worker has asked to cancel this job."""
        if self.cancelled.is_set():
            raise JobCancelled(f"job {self.job_id} was cancelled")

    @property
    def artifact_dir(self):
        """ARTIFACT_ROOT/<job_id>/, created on first use."""
        if self._artifact_dir is None:
            if not self.artifact_root:
                raise SandboxError("this job writes artifacts but no artifact root (KILN_ARTIFACT_ROOT) is configured")
            path = os.path.join(os.path.realpath(self.artifact_root), safe_name(self.job_id, "job id"))
            os.makedirs(path, exist_ok=True)
            self._artifact_dir = path
        return self._artifact_dir

    def data_path(self, path, field="data_path"):
        """The real path of a payload path, refused unless it stays inside the data root."""
        return resolve_inside(path, self.data_root, field, "data root")

    def artifact_path(self, path, field="model_path"):
        """The real path of a payload path, refused unless it stays inside the artifact root."""
        return resolve_inside(path, self.artifact_root, field, "artifact root")
