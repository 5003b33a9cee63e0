"""Keeps payload paths inside the roots the worker type was given.

Paths are resolved with os.path.realpath, so "..", absolute paths and symlinks
that lead outside the root are all refused.
"""
import os
import re

from .errors import InputError, SandboxError

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")


def resolve_inside(path, root, field, root_label):
    """The real path of `path` (relative to `root`, or absolute) if it stays inside `root`."""
    if not isinstance(path, str) or not path.strip():
        raise InputError(f"{field} must be a non-empty string")
    if "\x00" in path:
        raise InputError(f"{field} contains a NUL byte")
    if not root:
        raise SandboxError(f"{field} {path!r} cannot be used: no {root_label} is configured for this worker type")
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(real_root, path))
    if real != real_root and os.path.commonpath([real, real_root]) != real_root:
        raise SandboxError(f"{field} {path!r} resolves to {real}, outside the {root_label} {real_root}")
    return real


def safe_name(value, field):
    """A job id or handler-ish name usable as one path component."""
    text = str(value)
    if not _SAFE_NAME.match(text) or text in (".", ".."):
        raise InputError(f"{field} {text!r} cannot be used as a folder name")
    return text
