"""Keyed digests of model artifacts: HMAC-SHA256 with this install's secret.

The spawner keeps the secret in a 0600 file (KILN_STATE_DIR/artifact.key) and hands its
path to runners as KILN_ARTIFACT_KEY_FILE; the key itself never travels in an
environment variable, a message or a log. A training job seals the files it wrote in
ARTIFACT_ROOT/<job_id>/digest.json; inference checks each file against the seal before
it deserialises anything. A digest covers the job id and the file name as well as the
bytes, so a file cannot be forged without the key, nor moved to another job's folder.
"""
import hashlib
import hmac
import json
import os

from .errors import ArtifactError

DIGEST_FILE = "digest.json"
ALGORITHM = "HMAC-SHA256"
_DOMAIN = b"kiln-artifact-v1"
_MIN_KEY_BYTES = 32


def load_key(path):
    """The install's artifact key (bytes), read from the file KILN_ARTIFACT_KEY_FILE names."""
    if not path:
        raise ArtifactError("no artifact key is configured (KILN_ARTIFACT_KEY_FILE): Kiln's spawner passes one "
                            "to its workers; a runner started by hand must be given the spawner's key file")
    try:
        with open(path, "rb") as handle:
            key = handle.read().strip()
    except OSError as exc:
        raise ArtifactError(f"the artifact key cannot be read ({exc.strerror or type(exc).__name__}); "
                            "check KILN_ARTIFACT_KEY_FILE on the spawner's host") from None
    if len(key) < _MIN_KEY_BYTES:
        raise ArtifactError(f"the artifact key is shorter than {_MIN_KEY_BYTES} bytes; "
                            "delete it and restart the spawner to make a new one")
    return key


def digest(key, job_id, name, data):
    """Hex HMAC-SHA256 of one artifact file, bound to its training job and file name."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in (_DOMAIN, str(job_id).encode("utf-8"), str(name).encode("utf-8")):
        mac.update(part)
        mac.update(b"\x00")
    mac.update(data)
    return mac.hexdigest()


def seal(key, directory, job_id, files):
    """Writes digest.json for {file name: bytes} (atomically: a reader sees the old seal or the new one)."""
    record = {"v": 1, "alg": ALGORITHM, "job_id": str(job_id),
              "files": {name: digest(key, job_id, name, data) for name, data in files.items()}}
    write_atomic(directory, DIGEST_FILE, json.dumps(record, indent=2).encode("utf-8"))
    return record


def read_seal(directory, job_id):
    """The digests recorded for a training job's artifact; ArtifactError when there are none."""
    try:
        with open(os.path.join(directory, DIGEST_FILE), "rb") as handle:
            record = json.loads(handle.read())
    except FileNotFoundError:
        raise ArtifactError(f"the model of training job {job_id} has no Kiln digest: it was not written by a "
                            "Kiln training job (or by one older than digests); train it again") from None
    except (OSError, ValueError):
        raise ArtifactError(f"the digest of training job {job_id}'s model is unreadable: the artifact was "
                            "modified; train it again") from None
    files = record.get("files") if isinstance(record, dict) else None
    if record.get("alg") != ALGORITHM or not isinstance(files, dict):
        raise ArtifactError(f"the digest of training job {job_id}'s model is not a Kiln {ALGORITHM} seal: the "
                            "artifact was modified; train it again")
    return files


def verify(key, seal_files, job_id, name, data):
    """Raises ArtifactError unless `data` is exactly what the training job sealed as `name`."""
    expected = seal_files.get(name)
    actual = digest(key, job_id, name, data)
    if not isinstance(expected, str) or not hmac.compare_digest(expected, actual):
        raise ArtifactError(f"refused to load the model of training job {job_id}: {name} does not match the digest "
                            "Kiln recorded when it trained it, so it was modified or not written by Kiln (or with "
                            "another install's key); nothing was loaded — train the model again")
    return actual


def write_atomic(directory, name, data):
    tmp = os.path.join(directory, f".{name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, os.path.join(directory, name))
