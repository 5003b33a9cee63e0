"""PyTorch training and inference: small models on tabular CSV data, on the GPU when there is one."""
import io
import math
import os

from ..errors import InputError
from .. import batch
from . import artifacts, bounds, supervised, tabular

MODEL_FILE = "model.pt"


def _payload(job):
    payload = job.get("payload")
    if not isinstance(payload, dict):
        raise InputError("the payload must be a JSON object")
    return payload


def _device(torch, hp):
    wanted = hp.get("device")
    if wanted == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda")


def train(job, ctx):
    import torch

    from . import torch_models

    payload = _payload(job)
    hp = bounds.hyperparameters(payload)  # bad input fails first, as an InputError
    artifacts.signing_key(ctx)  # no key, no model that inference could trust: fail before training
    model_type = str(payload.get("model_type") or "").lower()
    arch = torch_models.arch_for(model_type)
    epochs = bounds.get(hp, "epochs", 10)
    batch_size = bounds.get(hp, "batch_size", 32)
    lr = float(bounds.get(hp, "learning_rate", 1e-3))
    ctx.progress(0.02, f"loading {payload.get('data_path') or 'a synthetic task'}")
    data = supervised.prepare(ctx, payload, hp)
    prep = data["prep"]
    torch.manual_seed(bounds.get(hp, "random_state", 42))
    device = _device(torch, hp)
    spec = torch_models.make_spec(arch, len(prep["features"]), data["n_outputs"], hp)
    model = torch_models.build(spec).to(device)
    X = torch.from_numpy(data["X"]).to(device)
    y = torch.from_numpy(data["y"]).to(device)
    train_idx = torch.tensor(data["train"], device=device)
    classification = prep["task"] == "classification"
    loss_fn = torch.nn.CrossEntropyLoss() if classification else torch.nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    def loss_on(out, yb):
        return loss_fn(out, yb) if classification else loss_fn(out.reshape(-1), yb)

    history = []
    ctx.log(f"training {arch} ({model_type}) on {device} for {epochs} epochs, {len(data['train'])} rows")
    for epoch in range(1, epochs + 1):
        model.train()
        order = train_idx[torch.randperm(len(train_idx), device=device)]
        total, seen, correct = 0.0, 0, 0
        for start in range(0, len(order), batch_size):
            ctx.check_cancelled()
            batch = order[start:start + batch_size]
            optimizer.zero_grad()
            out = model(X[batch])
            loss = loss_on(out, y[batch])
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(batch)
            seen += len(batch)
            if classification:
                correct += int((out.detach().argmax(dim=1) == y[batch]).sum())
        train_loss = total / max(seen, 1)
        if not math.isfinite(train_loss):
            raise InputError(f"the loss diverged at epoch {epoch} (lower hyperparameters.learning_rate)")
        entry = {"epoch": epoch, "loss": train_loss}
        if classification:
            entry["accuracy"] = correct / max(seen, 1)
        message = f"epoch {epoch}/{epochs} loss={train_loss:.4f}"
        if data["test"]:
            entry.update(_evaluate(torch, model, loss_on, X, y, data["test"], device, classification))
            message += f" val_loss={entry['val_loss']:.4f}"
        history.append(entry)
        # the curve the dashboard draws: loss (and accuracy) per epoch, on the training and test rows
        ctx.progress(0.05 + 0.85 * epoch / epochs, message, {k: v for k, v in entry.items() if k != "epoch"})
    eval_idx = data["test"] or data["train"]
    outputs = _outputs(torch, model, X[torch.tensor(eval_idx, device=device)])
    metrics = {**supervised.metrics(prep, outputs, data["y"][eval_idx]), "loss": history[-1]["loss"],
               "evaluated_on": "test" if data["test"] else "train"}
    if "val_loss" in history[-1]:
        metrics["val_loss"] = history[-1]["val_loss"]
    ctx.progress(0.95, "saving the model")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    meta = {"framework": "pytorch", "framework_version": torch.__version__, "model_type": model_type, "arch": spec,
            "prep": prep, "features": prep["features"], "target": prep["target"], "task": prep["task"],
            "model_file": MODEL_FILE, "metrics": metrics, "history": history, "job_id": ctx.job_id,
            "hyperparameters": {"epochs": epochs, "batch_size": batch_size, "learning_rate": lr}}
    model_path = artifacts.save(ctx, MODEL_FILE, buffer.getvalue(), meta)
    ctx.progress(1.0, "done")
    return {"model_type": model_type, "arch": arch, "task": prep["task"], "metrics": metrics, "history": history,
            "artifact_path": model_path, "artifact_dir": os.path.dirname(model_path),
            "features": prep["features"], "target": prep["target"], "classes": prep["classes"],
            "device": str(device), "epochs": epochs, "n_train": len(data["train"]), "n_test": len(data["test"]),
            "framework_version": torch.__version__}


def _outputs(torch, model, xb):
    model.eval()
    with torch.no_grad():
        return model(xb).detach().cpu().numpy()


def _evaluate(torch, model, loss_on, X, y, idx, device, classification):
    """val_loss (and val_accuracy for classification) on the test rows."""
    model.eval()
    with torch.no_grad():
        index = torch.tensor(idx, device=device)
        out = model(X[index])
        found = {"val_loss": float(loss_on(out, y[index]))}
        if classification:
            found["val_accuracy"] = float((out.argmax(dim=1) == y[index]).float().mean())
        return found


def _prepare(torch, job, ctx):
    """(model, X, payload, meta, device) of one inference job: its inputs checked, its model from the cache."""
    from . import torch_models

    payload = _payload(job)
    data, meta, digest = artifacts.open_model(ctx, payload.get("model_path"), "pytorch")
    artifacts.check_model_type(payload, meta)
    prep = meta["prep"]
    X = supervised.transform(prep, tabular.inference_rows(ctx, payload, prep["features"]))
    device = _device(torch, bounds.hyperparameters(payload))

    def load():
        # the verified bytes, never a second read of the file; weights_only as a second line of defence
        model = torch_models.build(meta["arch"])
        try:
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except TypeError:  # torch without weights_only
            state = torch.load(io.BytesIO(data), map_location="cpu")
        model.load_state_dict(state)
        return model.to(device).eval()

    model = artifacts.cached(ctx, ("pytorch", str(payload.get("model_path")), digest, str(device)), load, len(data))
    return model, X, payload, meta, device


def _result(outputs, payload, meta, ctx):
    return {**supervised.decode(meta["prep"], outputs, bool(payload.get("return_probabilities"))),
            "model_type": meta["model_type"], "n": len(outputs), **artifacts.cache_fields(ctx)}


def infer(job, ctx):
    import torch

    model, X, payload, meta, device = _prepare(torch, job, ctx)
    ctx.progress(0.5, f"predicting {len(X)} rows on {device}")
    result = _result(_outputs(torch, model, torch.from_numpy(X).to(device)), payload, meta, ctx)
    ctx.progress(1.0, "done")
    return result


def infer_batch(jobs, ctx):
    """A batch of inference jobs (kiln_runner/batch.py): each job's inputs checked alone (a bad one fails
    that job), one forward pass per model on all good rows, the outputs split back per job."""
    import numpy as np
    import torch

    def predict_group(items):
        model, device = items[0][1], items[0][5]
        outputs = _outputs(torch, model, torch.from_numpy(np.concatenate([i[2] for i in items])).to(device))
        out, start = {}, 0
        for item in items:
            jctx, _, X, payload, meta, _ = item
            out[id(item)] = _result(outputs[start:start + len(X)], payload, meta, jctx)
            start += len(X)
        return out

    return batch.infer_each(jobs, ctx, lambda job, jctx: _prepare(torch, job, jctx), predict_group)
