"""Data preparation shared by the neural trainers (PyTorch, Keras).

Features are standardised with the training split's mean and std; classification
targets become class indices, regression targets are standardised. Everything
needed to repeat this at inference goes into meta.json as `prep`.
"""
from . import bounds, tabular


def prepare(ctx, payload, hp):
    import numpy as np

    if payload.get("data_path"):
        data = tabular.load_training_table(ctx, payload)
    else:
        data = synthetic(hp)
        ctx.log(f"no data_path: training on a synthetic task ({len(data['X'])} rows × {len(data['features'])} features)")
    X, y, task = data["X"], data["y"], data["task"]
    train, test = tabular.split(len(X), bounds.get(hp, "test_size", 0.2), bounds.get(hp, "random_state", 42))
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    std[std == 0] = 1.0
    prep = {"features": data["features"], "feature_spec": data["spec"], "target": data["target"], "task": task,
            "scaler": {"mean": mean.tolist(), "std": std.tolist()}, "classes": None, "target_scaler": None}
    if task == "classification":
        classes = sorted(set(y.tolist()))
        index = {c: i for i, c in enumerate(classes)}
        y_encoded = np.array([index[v] for v in y.tolist()], dtype=np.int64)
        prep["classes"] = classes
    else:
        y_mean, y_std = float(y[train].mean()), float(y[train].std()) or 1.0
        y_encoded = ((y - y_mean) / y_std).astype(np.float32)
        prep["target_scaler"] = {"mean": y_mean, "std": y_std}
    return {"X": ((X - mean) / std).astype(np.float32), "y": y_encoded, "train": train, "test": test, "prep": prep,
            "n_outputs": len(prep["classes"]) if prep["classes"] else 1}


def synthetic(hp):
    """A small learnable task: is the first of n features larger than the last?"""
    import numpy as np

    rows = bounds.get(hp, "synthetic_rows", 256)
    width = bounds.get(hp, "synthetic_features", 8)
    X = np.random.RandomState(bounds.get(hp, "random_state", 42)).normal(size=(rows, width))
    features = [f"x{i}" for i in range(width)]
    return {"X": X, "y": (X[:, 0] > X[:, -1]).astype(np.int64), "task": "classification", "features": features,
            "target": "label", "spec": [{"name": f, "kind": "numeric", "fill": 0.0} for f in features]}


def transform(prep, rows):
    import numpy as np

    X = tabular.encode_rows(prep["feature_spec"], rows)
    return ((X - np.array(prep["scaler"]["mean"])) / np.array(prep["scaler"]["std"])).astype(np.float32)


def decode(prep, outputs, probabilities=False):
    """Predictions in the user's terms from raw model outputs (logits or scaled values)."""
    import numpy as np

    if prep["task"] == "classification":
        classes = prep["classes"]
        result = {"predictions": [classes[i] for i in outputs.argmax(axis=1).tolist()]}
        if probabilities:
            shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
            result["probabilities"] = (shifted / shifted.sum(axis=1, keepdims=True)).tolist()
            result["classes"] = classes
        return result
    scale = prep["target_scaler"]
    return {"predictions": (outputs.reshape(-1) * scale["std"] + scale["mean"]).tolist()}


def metrics(prep, outputs, y_encoded):
    """accuracy for classification; r2, mae and rmse (original units) for regression."""
    import numpy as np

    if prep["task"] == "classification":
        return {"accuracy": float((outputs.argmax(axis=1) == y_encoded).mean())}
    scale = prep["target_scaler"]
    predicted = outputs.reshape(-1) * scale["std"] + scale["mean"]
    actual = y_encoded * scale["std"] + scale["mean"]
    residual = float(((actual - predicted) ** 2).sum())
    total = float(((actual - actual.mean()) ** 2).sum())
    return {"r2": 1 - residual / total if total > 0 else None, "mae": float(np.abs(actual - predicted).mean()),
            "rmse": float(np.sqrt(residual / len(actual)))}
