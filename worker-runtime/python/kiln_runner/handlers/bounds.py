"""Bounds of the built-in handlers' hyperparameters.

The API checks the same table at submit (core/hyperparameters.ts); a test fails when
the two differ. A value outside its bounds fails the job at once (InputError: not
retried) with a message naming the hyperparameter and its bounds.
"""
import math

from ..errors import InputError

# name -> (kind, min, max, options): kind "int", "number" or "int-list";
# options: max_exclusive (the value stays below max), max_items (int-list length).
BOUNDS = {
    # scikit-learn
    "n_estimators": ("int", 1, 5000, {}),
    "max_iter": ("int", 1, 100000, {}),
    "max_depth": ("int", 1, 1000, {}),
    "n_neighbors": ("int", 1, 10000, {}),
    "n_clusters": ("int", 1, 10000, {}),
    "n_init": ("int", 1, 1000, {}),
    # neural networks (PyTorch, Keras)
    "epochs": ("int", 1, 10000, {}),
    "batch_size": ("int", 1, 65536, {}),
    "learning_rate": ("number", 1e-9, 10, {}),
    "hidden_sizes": ("int-list", 1, 16384, {"max_items": 32}),
    "hidden": ("int", 1, 8192, {}),
    "hidden_size": ("int", 1, 8192, {}),
    "layers": ("int", 1, 48, {}),
    "num_layers": ("int", 1, 48, {}),
    "d_model": ("int", 1, 4096, {}),
    "heads": ("int", 1, 64, {}),
    "ff": ("int", 1, 16384, {}),
    "channels": ("int", 1, 1024, {}),
    "dropout": ("number", 0, 1, {"max_exclusive": True}),
    "synthetic_rows": ("int", 2, 1000000, {}),
    "synthetic_features": ("int", 1, 1024, {}),
    # every trainer
    "random_state": ("int", 0, 4294967295, {}),
    "test_size": ("number", 0, 1, {"max_exclusive": True}),
}


def describe(name):
    kind, low, high, opts = BOUNDS[name]
    interval = f"[{_num(low)}, {_num(high)}{')' if opts.get('max_exclusive') else ']'}"
    if kind == "int-list":
        return f"a list of at most {opts['max_items']} integers, each in {interval}"
    return f"{'an integer' if kind == 'int' else 'a number'} in {interval}"


def _num(x):
    return str(int(x)) if float(x).is_integer() else repr(x)


def _in_range(kind, low, high, opts, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and (not math.isfinite(value) or (kind == "int" and not value.is_integer())):
        return False
    return low <= value and (value < high if opts.get("max_exclusive") else value <= high)


def fits(name, value):
    """Whether a value fits the bounds of a known hyperparameter (None: the default)."""
    if value is None:
        return True
    kind, low, high, opts = BOUNDS[name]
    if kind != "int-list":
        return _in_range(kind, low, high, opts, value)
    return (isinstance(value, list) and 1 <= len(value) <= opts["max_items"]
            and all(_in_range("int", low, high, opts, item) for item in value))


def check(hp):
    """Raises InputError for the first known hyperparameter outside its bounds."""
    for name, value in hp.items():
        if name in BOUNDS and not fits(name, value):
            shown = repr(value)
            raise InputError(f"hyperparameters.{name} must be {describe(name)}, not {shown if len(shown) <= 80 else shown[:77] + '...'}")


def hyperparameters(payload):
    """payload.hyperparameters as a dict (absent: {}), each known one checked against its bounds."""
    hp = payload.get("hyperparameters")
    if hp is None:
        return {}
    if not isinstance(hp, dict):
        raise InputError("hyperparameters must be a JSON object")
    check(hp)
    return hp


def get(hp, name, default):
    """A bounded hyperparameter's value (checked already), as int for integer kinds."""
    value = hp.get(name)
    if value is None:
        return default
    return int(value) if BOUNDS[name][0] == "int" else value
