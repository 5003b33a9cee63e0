"""Progress metrics: a flat dict of finite numbers, checked before it leaves the runner.

The same rules as the worker's (core/schemas/progress.ts): at most MAX_METRICS per
report, names of 1 to MAX_NAME characters; anything else is dropped with a warning,
never a failed job. numpy scalars and one-element tensors count as numbers.
"""
import math
from collections.abc import Mapping

MAX_METRICS = 32
MAX_NAME = 64


def _number(value):
    """An int or float for a plain or numpy/torch scalar, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:  # beyond a double
            return None
        return value
    if isinstance(value, float):
        return float(value)
    item = getattr(value, "item", None)
    if callable(item):
        try:
            value = item()
        except (TypeError, ValueError, RuntimeError):  # more than one element
            return None
        return _number(value) if isinstance(value, (int, float)) else None
    return None


def _what(value):
    return "None" if value is None else f"a {type(value).__name__}"


def clean(metrics):
    """(dict of finite numbers or None, [(name, why), ...] for what was dropped)."""
    if metrics is None:
        return None, []
    if not isinstance(metrics, Mapping):
        return None, [("(metrics)", f"{_what(metrics)}, not a dict of numbers")]
    out, dropped = {}, []
    for key, value in metrics.items():
        name = str(key)
        number = _number(value)
        if not name or len(name) > MAX_NAME:
            dropped.append((name[:MAX_NAME] + "…" if name else "(empty name)", f"names are 1 to {MAX_NAME} characters"))
        elif number is None:
            dropped.append((name, f"{_what(value)} is not a number"))
        elif not math.isfinite(number):
            dropped.append((name, f"{number} is not a finite number"))
        elif len(out) >= MAX_METRICS:
            dropped.append((name, f"more than {MAX_METRICS} metrics in one report"))
        else:
            out[name] = number
    return (out or None), dropped


def numbers_only(values):
    """The finite numeric entries of a dict (a handler's result metrics minus strings and None)."""
    return {k: v for k, v in values.items() if _number(v) is not None and math.isfinite(_number(v))}
