"""Kiln's Python runner: imports one ML framework, then runs jobs sent as JSON lines.

Handlers import what they need from here:

    from kiln_runner import NonRetryableError
"""
from .errors import InputError, JobCancelled, NonRetryableError, SandboxError

__all__ = ["InputError", "JobCancelled", "NonRetryableError", "SandboxError"]
__version__ = "0.1.0"
