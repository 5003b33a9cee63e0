"""A running job's output goes to the job's log.

While a job runs, `print` / `sys.stdout` (stream "stdout"), `sys.stderr` (stream
"stderr") and records of the `logging` module (their level) are sent to the worker
as `log` messages on the protocol channel, a line at a time; the worker stores them
with the job. Outside a job, everything goes to the real stderr (the worker's log).
Writes straight to fd 1 or 2 (C code, child processes) still go to the worker's log.
"""
import io
import logging
import os
import threading

MAX_LINE = 8192  # characters kept of one line; the worker caps it again in bytes

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "warning": logging.WARNING,
           "error": logging.ERROR}


def level_name(levelno):
    """The job log's name for a logging level."""
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warn"
    if levelno >= logging.INFO:
        return "info"
    return "debug"


class JobOutput:
    """Routes the process's text streams and log records to the job that runs now."""

    def __init__(self, channel, real_stderr, level=None):
        self._channel = channel
        self._real = real_stderr
        self._lock = threading.RLock()
        self._job_id = None
        self.level = _LEVELS.get(str(level or os.environ.get("LOG_LEVEL") or "info").lower(), logging.INFO)
        self.stdout = _Stream(self, "stdout")
        self.stderr = _Stream(self, "stderr")
        self.handler = _JobLogHandler(self)

    def install(self, sys_module):
        """Takes over sys.stdout, sys.stderr and the root logger (call once, at start)."""
        sys_module.stdout = self.stdout
        sys_module.stderr = self.stderr
        root = logging.getLogger()
        root.setLevel(self.level)
        root.addHandler(self.handler)
        _keep_basic_config_working(self.handler)

    def begin(self, job_id):
        with self._lock:
            self._job_id = str(job_id)

    def end(self):
        """Sends what is left of unfinished lines, then output goes to the worker's log again."""
        with self._lock:
            self.stdout.finish()
            self.stderr.finish()
            self._job_id = None

    def job_id(self):
        return self._job_id

    def send(self, job_id, text, stream=None, level=None):
        message = {"type": "log", "job_id": job_id, "message": text}
        if stream is not None:
            message["stream"] = stream
        if level is not None:
            message["level"] = level
        self._channel.send(message)

    def write_real(self, text):
        self._real.write(text)
        self._real.flush()


class _Stream(io.TextIOBase):
    """sys.stdout / sys.stderr: line-buffered into the job's log while a job runs."""

    def __init__(self, owner, name):
        super().__init__()
        self._owner = owner
        self._name = name
        self._parts = []
        self._size = 0
        self._over = 0
        self._overwrite = False  # a "\r" was written: the next text replaces the line (progress bars)

    @property
    def name(self):
        return f"<kiln job {self._name}>"

    @property
    def encoding(self):
        return getattr(self._owner._real, "encoding", "utf-8")

    @property
    def errors(self):
        return getattr(self._owner._real, "errors", "strict")

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        return self._owner._real.fileno()

    @property
    def buffer(self):
        """Bytes written here bypass the job's log and go to the worker's log (like fd writes)."""
        return self._owner._real.buffer

    def reconfigure(self, **_kwargs):
        """Accepted and ignored: lines are always whole here."""

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        owner = self._owner
        with owner._lock:
            job = owner._job_id
            if job is None:
                owner._real.write(s)
                return len(s)
            lines = []
            pieces = s.split("\n")
            for i, piece in enumerate(pieces):
                self._add(piece)
                if i < len(pieces) - 1:
                    lines.append(self._take())
            if lines:
                owner.send(job, "\n".join(lines), stream=self._name)
        return len(s)

    def flush(self):
        if self._owner._job_id is None:
            self._owner._real.flush()

    def finish(self):
        """Sends an unfinished last line (the job ended without a newline)."""
        if self._parts or self._over:
            owner = self._owner
            owner.send(owner._job_id, self._take(), stream=self._name)

    def _add(self, text):
        if "\r" not in text:
            return self._append(text)
        for i, piece in enumerate(text.split("\r")):
            if i > 0:
                self._overwrite = True
            if piece:
                if self._overwrite:
                    self._parts, self._size, self._over = [], 0, 0
                    self._overwrite = False
                self._append(piece)

    def _append(self, text):
        room = MAX_LINE - self._size
        if len(text) > room:
            self._over += len(text) - max(room, 0)
            text = text[:max(room, 0)]
        if text:
            self._parts.append(text)
            self._size += len(text)

    def _take(self):
        line = "".join(self._parts)
        if self._over:
            line += f"… [{self._over} more characters cut]"
        self._parts, self._size, self._over = [], 0, 0
        self._overwrite = False
        return line


class _JobLogHandler(logging.Handler):
    """On the root logger: a record at or above LOG_LEVEL goes to the job's log with its level,
    unless another handler on its way (one the user configured) writes it already."""

    def __init__(self, owner):
        super().__init__(owner.level)
        self._owner = owner
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record):
        try:
            if self._handled_elsewhere(record):
                return
            text = self.format(record)
            if record.name != "root":
                text = f"{record.name}: {text}"
            job = self._owner.job_id()
            if job is None:
                # outside a job, as Python's own last-resort handler: warnings and errors only
                if record.levelno >= logging.WARNING:
                    self._owner.write_real(f"{record.levelname} {text}\n")
            else:
                self._owner.send(job, text, level=level_name(record.levelno))
        except Exception:
            self.handleError(record)

    def _handled_elsewhere(self, record):
        logger = logging.getLogger(record.name) if record.name != "root" else logging.getLogger()
        while logger is not None:
            for h in logger.handlers:
                if h is not self and not isinstance(h, logging.NullHandler) and record.levelno >= h.level:
                    return True
            if not logger.propagate:
                break
            logger = logger.parent
        return False


def _keep_basic_config_working(handler):
    """logging.basicConfig() does nothing when the root logger has a handler: hide ours from it,
    so a handler module's own basicConfig(level=..., format=...) still takes effect."""
    original = logging.basicConfig
    if getattr(original, "_kiln_wrapped", False):
        return

    def basicConfig(**kwargs):
        root = logging.getLogger()
        root.removeHandler(handler)
        try:
            original(**kwargs)
        finally:
            root.addHandler(handler)

    basicConfig._kiln_wrapped = True
    basicConfig.__doc__ = original.__doc__
    logging.basicConfig = basicConfig
