"""Model artifacts: ARTIFACT_ROOT/<job_id>/ holds the model file, meta.json and digest.json.

A model is named by the id of the training job that wrote it, nothing else. Both files
are sealed with the install's key when they are written (see artifact_digest) and
checked, in memory, before anything is deserialised: what is loaded is exactly the
bytes that were verified, never a second read of the file.
"""
import json
import os
import re
import sys
import time

from .. import artifact_digest
from ..errors import InputError, NonRetryableError
from ..models import MB

META_FILE = "meta.json"
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def signing_key(ctx):
    """The artifact key; a training handler asks for it first, so a runner without one fails before it fits."""
    return artifact_digest.load_key(ctx.artifact_key_file)


def save(ctx, model_file, data, meta):
    """Writes the model (its bytes; None when the handler saved the file itself), meta.json and their seal.

    Returns the model file's path.
    """
    key = signing_key(ctx)
    directory = ctx.artifact_dir
    path = os.path.join(directory, model_file)
    if data is None:
        with open(path, "rb") as handle:
            data = handle.read()
    else:
        artifact_digest.write_atomic(directory, model_file, data)
    meta = {**meta, "python": sys.version.split()[0], "created_at": time.time()}
    meta_bytes = json.dumps(meta, indent=2, default=str).encode("utf-8")
    artifact_digest.write_atomic(directory, META_FILE, meta_bytes)
    artifact_digest.seal(key, directory, ctx.job_id, {model_file: data, META_FILE: meta_bytes})
    return path


def open_model(ctx, ref, framework):
    """(model bytes, meta, model digest) of the training job payload.model_path names, verified."""
    if ref is None or ref == "":
        raise InputError("inference needs payload.model_path: the id of the training job that made the model")
    job_id = str(ref)
    if not _JOB_ID.match(job_id):
        raise InputError(f"model_path {job_id[:200]!r} is not a job id: pass the id of the training job that made "
                         "the model (the job_id its submit answered), not a path")
    key = signing_key(ctx)
    directory = ctx.artifact_path(job_id, "model_path")
    if not os.path.isdir(directory):
        raise InputError(f"model_path {job_id!r}: there is no model of training job {job_id} on this host; pass the "
                         "id of a training job that succeeded")
    seal = artifact_digest.read_seal(directory, job_id)
    meta_bytes = _read(directory, META_FILE, job_id)
    artifact_digest.verify(key, seal, job_id, META_FILE, meta_bytes)
    meta = json.loads(meta_bytes)
    if meta.get("framework") != framework:
        raise InputError(f"model_path {job_id!r} holds a {meta.get('framework')} model; send the job to a "
                         f"{meta.get('framework')} worker type, not {framework}")
    model_file = str(meta.get("model_file", ""))
    if not _FILE_NAME.match(model_file):
        raise InputError(f"model_path {job_id!r}: its meta.json names no model file")
    data = _read(directory, model_file, job_id)
    model_digest = artifact_digest.verify(key, seal, job_id, model_file, data)
    return data, meta, model_digest


def _read(directory, name, job_id):
    try:
        with open(os.path.join(directory, name), "rb") as handle:
            return handle.read()
    except (FileNotFoundError, IsADirectoryError):
        raise InputError(f"model_path {job_id!r}: the artifact has no {name}; train the model again") from None


def check_model_type(payload, meta):
    wanted = payload.get("model_type")
    if wanted and str(wanted).lower() != str(meta.get("model_type")).lower():
        raise InputError(f"model_path holds a {meta.get('model_type')} model, not {wanted}")


def cached(ctx, cache_key, loader, size_bytes):
    """loader(), kept warm in the runner's model cache for the next inference job on the same verified bytes.

    cache_key: (framework, training job id, artifact digest, …); size_bytes: the artifact's length,
    the estimate the cache's MB bound counts.
    """
    def load():
        try:
            return loader()
        except (NonRetryableError, MemoryError):
            raise
        except Exception as exc:  # verified bytes that do not load (a mismatched architecture…): a retry fails the same way
            raise InputError(f"model_path: the model does not load: {type(exc).__name__}: {exc}") from exc

    return ctx.models.get(cache_key, load, size_mb=size_bytes / MB, model_id=cache_key[1])


def cache_fields(ctx):
    """What an inference result records about its model: taken from the cache or loaded, and the load's ms."""
    return {"model_cached": bool(ctx.models.cached), "model_load_ms": ctx.models.load_ms}
