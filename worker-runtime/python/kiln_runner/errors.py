"""Exceptions a handler raises to tell the worker how a job failed."""


class NonRetryableError(Exception):
    """The job can never succeed as submitted: the worker must not retry it."""


class InputError(NonRetryableError):
    """The payload is invalid: a missing field, a bad value, a file that is not there."""


class SandboxError(NonRetryableError):
    """A path in the payload resolves outside the root it must stay in."""


class ArtifactError(NonRetryableError):
    """A model artifact cannot be trusted (modified, or not written by this Kiln), or no artifact key is set."""


class JobCancelled(NonRetryableError):
    """The worker cancelled the job; raised by ctx.check_cancelled()."""


# Exceptions that mean "bad input" when they escape a handler: a retry would fail the same way.
NON_RETRYABLE = (NonRetryableError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)


# The job error types this runner writes: each is in core/errors.ts JOB_ERROR_TYPES (a test checks).
HANDLER_ERROR = "handler_error"  # the handler raised; the error's `exception` names the class
CANCELLED = "cancelled"
PAYLOAD_TOO_DEEP = "payload_too_deep"
RUNNER_BUSY = "runner_busy"
ERROR_TYPES = (HANDLER_ERROR, CANCELLED, PAYLOAD_TOO_DEEP, RUNNER_BUSY)


def error_type(exc):
    """The job error type the worker records for an exception (its class name goes in `exception`)."""
    if isinstance(exc, JobCancelled):
        return CANCELLED
    return HANDLER_ERROR
