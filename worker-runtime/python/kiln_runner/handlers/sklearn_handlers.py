"""scikit-learn training and inference on CSV data under the data root."""
import os
import pickle

from ..errors import InputError
from ..metrics import numbers_only
from .. import batch
from . import artifacts, bounds, sklearn_models, tabular

MODEL_FILE = "model.pkl"


def _payload(job):
    payload = job.get("payload")
    if not isinstance(payload, dict):
        raise InputError("the payload must be a JSON object")
    return payload


def train(job, ctx):
    import numpy as np
    import sklearn

    payload = _payload(job)
    artifacts.signing_key(ctx)  # no key, no model that inference could trust: fail before fitting
    model_type = str(payload.get("model_type") or "").lower()
    hp = bounds.hyperparameters(payload)
    task = sklearn_models.fixed_task(model_type)
    ctx.progress(0.05, f"loading {payload.get('data_path')}")
    data = tabular.load_training_table(ctx, payload, task)
    task = data["task"]
    seed = bounds.get(hp, "random_state", 42)
    estimator, ignored = sklearn_models.build(model_type, task, hp, seed)
    if ignored:
        ctx.log(f"ignored hyperparameters that {type(estimator).__name__} does not take: {', '.join(ignored)}", "warn")
    X, y = data["X"], data.get("y")
    train_idx, test_idx = tabular.split(len(X), bounds.get(hp, "test_size", 0.2), seed)
    X_train = X[train_idx]
    ctx.check_cancelled()
    ctx.progress(0.2, f"fitting {type(estimator).__name__} on {len(train_idx)} rows × {X.shape[1]} features")
    try:
        estimator.fit(X_train) if task == "clustering" else estimator.fit(X_train, y[train_idx])
    except (TypeError, ValueError) as exc:
        raise InputError(f"{type(estimator).__name__} cannot fit this data/hyperparameters: {exc}") from exc
    ctx.check_cancelled()
    ctx.progress(0.8, "evaluating")
    eval_idx = test_idx or train_idx
    metrics = _metrics(task, estimator, X[eval_idx], None if y is None else y[eval_idx], X_train)
    metrics["evaluated_on"] = "test" if test_idx else "train"
    ctx.progress(0.9, "saving the model")
    model_bytes = pickle.dumps(estimator, protocol=pickle.HIGHEST_PROTOCOL)
    classes = getattr(estimator, "classes_", None)
    meta = {
        "framework": "sklearn", "framework_version": sklearn.__version__, "model_type": model_type,
        "estimator": type(estimator).__name__, "task": task, "features": data["features"],
        "feature_spec": data["spec"], "target": data["target"], "model_file": MODEL_FILE,
        "classes": None if classes is None else np.asarray(classes).tolist(), "metrics": metrics,
        "job_id": ctx.job_id,
    }
    model_path = artifacts.save(ctx, MODEL_FILE, model_bytes, meta)
    # the final metrics (accuracy, f1 / r2, mae, rmse / inertia, silhouette) as the job's progress metrics
    ctx.progress(1.0, "done", numbers_only(metrics))
    return {
        "model_type": model_type, "task": task, "estimator": meta["estimator"], "metrics": metrics,
        "artifact_path": model_path, "artifact_dir": os.path.dirname(model_path),
        "features": data["features"], "target": data["target"], "classes": meta["classes"],
        "n_train": len(train_idx), "n_test": len(test_idx), "framework_version": sklearn.__version__,
    }


def _metrics(task, estimator, X, y, X_train):
    from sklearn import metrics as m

    if task == "clustering":
        out = {"inertia": float(estimator.inertia_), "n_clusters": int(estimator.n_clusters)}
        labels = estimator.predict(X)
        distinct = len(set(labels.tolist()))
        out["silhouette"] = float(m.silhouette_score(X, labels)) if 1 < distinct < len(X) else None
        return out
    predicted = estimator.predict(X)
    if task == "classification":
        return {"accuracy": float(m.accuracy_score(y, predicted)),
                "f1": float(m.f1_score(y, predicted, average="weighted", zero_division=0)), "f1_average": "weighted"}
    return {"r2": float(m.r2_score(y, predicted)) if len(y) > 1 else None,
            "mae": float(m.mean_absolute_error(y, predicted)),
            "rmse": float(m.mean_squared_error(y, predicted) ** 0.5)}


def _prepare(job, ctx):
    """(model, X, payload, meta, n rows) of one inference job: its inputs checked, its model from the cache."""
    payload = _payload(job)
    data, meta, digest = artifacts.open_model(ctx, payload.get("model_path"), "sklearn")
    artifacts.check_model_type(payload, meta)
    rows = tabular.inference_rows(ctx, payload, meta["features"])
    X = tabular.encode_rows(meta["feature_spec"], rows)
    # unpickled only after its bytes matched the digest Kiln recorded when it trained the model
    key = ("sklearn", str(payload.get("model_path")), digest)
    model = artifacts.cached(ctx, key, lambda: pickle.loads(data), len(data))
    return model, X, payload, meta, len(rows)


def _predict(model, X, payload, meta, ctx):
    try:
        result = {"predictions": model.predict(X).tolist(), "model_type": meta["model_type"], "n": len(X),
                  **artifacts.cache_fields(ctx)}
        if payload.get("return_probabilities") and hasattr(model, "predict_proba"):
            result["probabilities"] = model.predict_proba(X).tolist()
            result["classes"] = meta.get("classes")
    except (TypeError, ValueError) as exc:  # e.g. an infinite input value
        raise InputError(f"{type(model).__name__} cannot predict on these inputs: {exc}") from exc
    return result


def infer(job, ctx):
    model, X, payload, meta, n = _prepare(job, ctx)
    ctx.progress(0.3, f"predicting {n} rows")
    result = _predict(model, X, payload, meta, ctx)
    ctx.progress(1.0, "done")
    return result


def infer_batch(jobs, ctx):
    """A batch of inference jobs: each job's inputs checked alone, one predict per model on all good rows.

    A job whose inputs (or model) are bad gets its own error; when the joint predict fails
    (one job's values break the model), each job is predicted alone so only that job fails.
    """
    import numpy as np

    return batch.infer_each(jobs, ctx, _prepare, lambda items: _predict_group(np, items))


def _predict_group(np, items):
    """{id(item): result or exception} for jobs sharing one model: one joint predict, split back per job."""
    model = items[0][1]
    proba = any(i[3].get("return_probabilities") for i in items) and hasattr(model, "predict_proba")
    try:
        X = np.vstack([i[2] for i in items])
        predictions = model.predict(X).tolist()
        probabilities = model.predict_proba(X).tolist() if proba else None
    except (TypeError, ValueError):  # one job's values break the model: each alone, so only that job fails
        return {id(i): _alone(i) for i in items}
    out, start = {}, 0
    for item in items:
        jctx, _, _, payload, meta, n = item
        result = {"predictions": predictions[start:start + n], "model_type": meta["model_type"], "n": n,
                  **artifacts.cache_fields(jctx)}
        if payload.get("return_probabilities") and proba:
            result["probabilities"] = probabilities[start:start + n]
            result["classes"] = meta.get("classes")
        out[id(item)] = result
        start += n
    return out


def _alone(item):
    jctx, model, X, payload, meta, _ = item
    try:
        return _predict(model, X, payload, meta, jctx)
    except Exception as exc:  # noqa: BLE001
        return exc
