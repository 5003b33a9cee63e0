"""CSV tables → numeric matrices, the same way at training and at inference.

Numeric columns keep their values (missing cells get the training mean); other
columns become ordinal codes of the categories seen in training (unknown → -1).
The feature spec goes into meta.json so inference rebuilds the same matrix.
"""
import csv
import math
import random

from ..errors import InputError
from . import bounds

_MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}


def read_csv(path):
    """(header, {column: [raw cell text]}) of a CSV file with a header row."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            rows = [row for row in reader if any(cell.strip() for cell in row)]
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not a UTF-8 CSV file: {exc}") from exc
    except csv.Error as exc:  # a NUL byte, a field over the size limit
        raise InputError(f"{path} is not a readable CSV file: {exc}") from exc
    if not header:
        raise InputError(f"{path} is empty; expected a CSV file with a header row")
    if len(set(header)) != len(header):
        raise InputError(f"{path} has duplicate column names: {header}")
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise InputError(f"{path} line {number} has {len(row)} cells, the header has {len(header)}")
    if not rows:
        raise InputError(f"{path} has a header but no data rows")
    return header, {name: [row[i].strip() for row in rows] for i, name in enumerate(header)}


def parse_number(cell):
    """A float, None for a missing cell, or ValueError for text."""
    if cell is None:
        return None
    if isinstance(cell, bool):
        return float(cell)
    if isinstance(cell, (int, float)):
        return None if isinstance(cell, float) and math.isnan(cell) else float(cell)
    text = str(cell).strip()
    if text.lower() in _MISSING:
        return None
    return float(text)


def _is_numeric(values):
    try:
        return any(parse_number(v) is not None for v in values)
    except ValueError:
        return False


def fit_features(columns, names):
    spec = []
    for name in names:
        values = columns[name]
        if _is_numeric(values):
            present = [x for x in map(parse_number, values) if x is not None]
            spec.append({"name": name, "kind": "numeric", "fill": sum(present) / len(present)})
        else:
            categories = sorted({str(v) for v in values if str(v).strip().lower() not in _MISSING})
            spec.append({"name": name, "kind": "categorical", "categories": categories})
    return spec


def encode_rows(spec, rows):
    """A float64 matrix (n_rows × n_features) from rows given as {feature: raw value}."""
    import numpy as np

    matrix = np.empty((len(rows), len(spec)), dtype=np.float64)
    for j, feature in enumerate(spec):
        name = feature["name"]
        if feature["kind"] == "numeric":
            for i, row in enumerate(rows):
                try:
                    value = parse_number(row.get(name))
                except ValueError:
                    raise InputError(f"feature {name!r} of row {i} is {row.get(name)!r}, expected a number") from None
                matrix[i, j] = feature["fill"] if value is None else value
        else:
            codes = {c: k for k, c in enumerate(feature["categories"])}
            for i, row in enumerate(rows):
                matrix[i, j] = codes.get(str(row.get(name)), -1)
    return matrix


def infer_task(values):
    """'classification' for text or few distinct integers, otherwise 'regression'."""
    try:
        numbers = [parse_number(v) for v in values]
    except ValueError:
        return "classification"
    distinct = {x for x in numbers if x is not None}
    integral = all(float(x).is_integer() for x in distinct)
    return "classification" if integral and len(distinct) <= max(2, min(20, len(values) // 5)) else "regression"


def encode_target(values, task):
    """Targets as a numpy array: labels (int or str) for classification, floats otherwise."""
    import numpy as np

    if task == "regression":
        try:
            return np.array([parse_number(v) for v in values], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(f"the target column must be numeric for regression: {exc}") from None
    try:
        numbers = [parse_number(v) for v in values]
        if all(x is not None and x.is_integer() for x in numbers):
            return np.array([int(x) for x in numbers])
    except ValueError:
        pass
    return np.array([str(v) for v in values], dtype=object)


def load_training_table(ctx, payload, task=None):
    """Reads payload.data_path; returns the data a trainer needs.

    task: a fixed task for the model, 'clustering', or None to infer it (hyperparameters.task wins).
    """
    hp = bounds.hyperparameters(payload)
    path = ctx.data_path(payload.get("data_path"))
    header, columns = read_csv(path)
    target = hp.get("target")
    if target is not None and not isinstance(target, str):
        raise InputError(f"hyperparameters.target must be a column name (a string), not {target!r}")
    if target is None and task != "clustering":
        target = header[-1]
    if target is not None and target not in columns:
        raise InputError(f"target column {target!r} is not in {path} (columns: {header})")
    wanted = hp.get("features")
    if wanted is not None and (not isinstance(wanted, list) or not all(isinstance(name, str) for name in wanted)):
        raise InputError(f"hyperparameters.features must be a list of column names, not {wanted!r}")
    features = list(wanted) if wanted else [name for name in header if name != target]
    missing = [name for name in features if name not in columns]
    if missing or not features:
        raise InputError(f"feature columns {missing or features} are not usable in {path} (columns: {header})")
    keep = list(range(len(columns[header[0]])))
    if target is not None:
        keep = [i for i in keep if str(columns[target][i]).lower() not in _MISSING]
        if len(keep) < len(columns[target]):
            ctx.log(f"dropped {len(columns[target]) - len(keep)} rows with no {target!r} value", "warn")
        if not keep:
            raise InputError(f"no row of {path} has a value in the target column {target!r}")
    columns = {name: [values[i] for i in keep] for name, values in columns.items()}
    spec = fit_features(columns, features)
    rows = [{name: columns[name][i] for name in features} for i in range(len(keep))]
    data = {"path": path, "features": features, "spec": spec, "target": target, "X": encode_rows(spec, rows)}
    if target is not None and task != "clustering":
        task = hp.get("task") or task or infer_task(columns[target])
        if task not in ("classification", "regression"):
            raise InputError(f"hyperparameters.task must be 'classification' or 'regression', not {task!r}")
        data["y"] = encode_target(columns[target], task)
    data["task"] = task
    return data


def inference_rows(ctx, payload, features):
    """Rows ({feature: raw value}) from payload.inputs or payload.data_path."""
    inputs = payload.get("inputs")
    if inputs is None and payload.get("data_path"):
        header, columns = read_csv(ctx.data_path(payload["data_path"]))
        missing = [name for name in features if name not in columns]
        if missing:
            raise InputError(f"the CSV lacks the model's feature columns {missing} (it has {header})")
        return [{name: columns[name][i] for name in features} for i in range(len(columns[header[0]]))]
    if inputs is None:
        raise InputError("inference needs payload.inputs (rows as lists or objects) or payload.data_path")
    if isinstance(inputs, dict) or (isinstance(inputs, list) and inputs and not isinstance(inputs[0], (list, dict))):
        inputs = [inputs]  # one row
    if not isinstance(inputs, list) or not inputs:
        raise InputError("payload.inputs must be a non-empty list of rows")
    rows = []
    for i, row in enumerate(inputs):
        if isinstance(row, dict):
            unknown = set(row) - set(features)
            if unknown:
                raise InputError(f"inputs[{i}] has unknown features {sorted(unknown)}; the model uses {features}")
            rows.append(row)
        elif isinstance(row, list) and len(row) == len(features):
            rows.append(dict(zip(features, row)))
        else:
            raise InputError(f"inputs[{i}] must be an object or a list of {len(features)} values ({features})")
    return rows


def split(n, test_size, seed):
    """Shuffled (train, test) index lists; test is empty when there are too few rows."""
    if not isinstance(test_size, (int, float)) or isinstance(test_size, bool) or not 0 <= test_size < 1:
        raise InputError(f"hyperparameters.test_size must be a number in [0, 1), not {test_size!r}")
    order = list(range(n))
    random.Random(seed).shuffle(order)
    n_test = int(round(n * test_size))
    if n_test == 0 or n - n_test < 2:
        return order, []
    return order[n_test:], order[:n_test]
