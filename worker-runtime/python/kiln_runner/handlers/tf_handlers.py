"""TensorFlow/Keras training and inference with the same contract as the PyTorch handlers.

Weights go to model.weights.h5 and the architecture to meta.json, so inference
rebuilds the model without unpickling anything.
"""
import os
import tempfile

from ..errors import InputError
from ..metrics import numbers_only
from . import artifacts, bounds, supervised, tabular

MODEL_FILE = "model.weights.h5"
ARCH_BY_MODEL = {"keras": "mlp", "keras_sequential": "mlp", "keras_mlp": "mlp", "tf_mlp": "mlp", "mlp": "mlp",
                 "keras_cnn": "conv1d", "cnn": "conv1d", "keras_lstm": "lstm", "lstm": "lstm"}


def _payload(job):
    payload = job.get("payload")
    if not isinstance(payload, dict):
        raise InputError("the payload must be a JSON object")
    return payload


def _arch(model_type):
    if model_type not in ARCH_BY_MODEL:
        raise InputError(f"unknown Keras model_type {model_type!r}; one of {', '.join(sorted(ARCH_BY_MODEL))}")
    return ARCH_BY_MODEL[model_type]


def _spec(arch, n_features, n_outputs, hp):
    spec = {"arch": arch, "n_features": n_features, "n_outputs": n_outputs}
    if arch == "mlp":
        spec["hidden_sizes"] = [int(s) for s in bounds.get(hp, "hidden_sizes", [64, 64])]
    elif arch == "conv1d":
        spec.update(channels=bounds.get(hp, "channels", 16), hidden=bounds.get(hp, "hidden", 64))
    else:
        spec["hidden"] = bounds.get(hp, "hidden", 32)
    return spec


def build(tf, spec):
    layers = tf.keras.layers
    stack = [tf.keras.Input(shape=(spec["n_features"],))]
    if spec["arch"] == "mlp":
        stack += [layers.Dense(size, activation="relu") for size in spec["hidden_sizes"]]
    elif spec["arch"] == "conv1d":
        stack += [layers.Reshape((spec["n_features"], 1)),
                  layers.Conv1D(spec["channels"], 3, padding="same", activation="relu"),
                  layers.Conv1D(spec["channels"], 3, padding="same", activation="relu"),
                  layers.Flatten(), layers.Dense(spec["hidden"], activation="relu")]
    else:
        stack += [layers.Reshape((spec["n_features"], 1)), layers.LSTM(spec["hidden"])]
    stack.append(layers.Dense(spec["n_outputs"]))
    return tf.keras.Sequential(stack)


def epoch_metrics(logs):
    """The numeric entries of a Keras epoch's logs (values may be numpy or tensor scalars)."""
    return numbers_only({str(k): v for k, v in (logs or {}).items()})


def _callback(tf, ctx, epochs):
    class Progress(tf.keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if ctx.is_cancelled():
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            message = f"epoch {epoch + 1}/{epochs} loss={float(logs.get('loss', float('nan'))):.4f}"
            if "val_loss" in logs:
                message += f" val_loss={float(logs['val_loss']):.4f}"
            # Keras's epoch logs (loss, accuracy, val_loss, val_accuracy) are the job's progress metrics
            ctx.progress(0.05 + 0.85 * (epoch + 1) / epochs, message, epoch_metrics(logs))

    return Progress()


def train(job, ctx):
    import tensorflow as tf

    payload = _payload(job)
    hp = bounds.hyperparameters(payload)  # bad input fails first, as an InputError
    artifacts.signing_key(ctx)  # no key, no model that inference could trust: fail before training
    model_type = str(payload.get("model_type") or "").lower()
    arch = _arch(model_type)
    epochs, batch_size = bounds.get(hp, "epochs", 10), bounds.get(hp, "batch_size", 32)
    lr = float(bounds.get(hp, "learning_rate", 1e-3))
    ctx.progress(0.02, f"loading {payload.get('data_path') or 'a synthetic task'}")
    data = supervised.prepare(ctx, payload, hp)
    prep = data["prep"]
    tf.keras.utils.set_random_seed(bounds.get(hp, "random_state", 42))
    spec = _spec(arch, len(prep["features"]), data["n_outputs"], hp)
    model = build(tf, spec)
    classification = prep["task"] == "classification"
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True) if classification else "mse"
    compile_metrics = [tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")] if classification else []
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=lr), loss=loss, metrics=compile_metrics)
    X, y, train_idx, test_idx = data["X"], data["y"], data["train"], data["test"]
    fitted = model.fit(X[train_idx], y[train_idx], epochs=epochs, batch_size=batch_size, verbose=0,
                       validation_data=(X[test_idx], y[test_idx]) if test_idx else None,
                       callbacks=[_callback(tf, ctx, epochs)])
    ctx.check_cancelled()
    history = [{"epoch": i + 1, **{k: float(v[i]) for k, v in fitted.history.items()}}
               for i in range(len(fitted.history.get("loss", [])))]
    eval_idx = test_idx or train_idx
    metrics = {**supervised.metrics(prep, model.predict(X[eval_idx], verbose=0), y[eval_idx]),
               "loss": history[-1]["loss"], "evaluated_on": "test" if test_idx else "train"}
    ctx.progress(0.95, "saving the model")
    model.save_weights(os.path.join(ctx.artifact_dir, MODEL_FILE))
    meta = {"framework": "tensorflow", "framework_version": tf.__version__, "model_type": model_type, "arch": spec,
            "prep": prep, "features": prep["features"], "target": prep["target"], "task": prep["task"],
            "model_file": MODEL_FILE, "metrics": metrics, "history": history, "job_id": ctx.job_id}
    model_path = artifacts.save(ctx, MODEL_FILE, None, meta)  # sealed as written
    ctx.progress(1.0, "done")
    gpus = tf.config.list_physical_devices("GPU")
    return {"model_type": model_type, "arch": arch, "task": prep["task"], "metrics": metrics, "history": history,
            "artifact_path": model_path, "artifact_dir": os.path.dirname(model_path),
            "features": prep["features"], "target": prep["target"], "classes": prep["classes"],
            "device": "gpu" if gpus else "cpu", "epochs": epochs, "n_train": len(train_idx), "n_test": len(test_idx),
            "framework_version": tf.__version__}


def infer(job, ctx):
    import tensorflow as tf

    payload = _payload(job)
    data, meta, digest = artifacts.open_model(ctx, payload.get("model_path"), "tensorflow")
    artifacts.check_model_type(payload, meta)
    prep = meta["prep"]
    X = supervised.transform(prep, tabular.inference_rows(ctx, payload, prep["features"]))

    def load():
        # Keras reads weights from a path: give it a private copy of the verified bytes
        model = build(tf, meta["arch"])
        with tempfile.TemporaryDirectory(prefix="kiln-weights-") as scratch:
            path = os.path.join(scratch, MODEL_FILE)
            with open(path, "wb") as handle:
                handle.write(data)
            model.load_weights(path)
        return model

    model = artifacts.cached(ctx, ("tensorflow", str(payload.get("model_path")), digest), load, len(data))
    ctx.progress(0.5, f"predicting {len(X)} rows")
    outputs = model.predict(X, verbose=0)
    result = {**supervised.decode(prep, outputs, bool(payload.get("return_probabilities"))),
              "model_type": meta["model_type"], "n": len(X), **artifacts.cache_fields(ctx)}
    ctx.progress(1.0, "done")
    return result
