"""Downloads into a local content-addressed cache: a file is kept under its sha256 and re-verified."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import httpx

from cortexscore.jobs import WeightsFile
from cortexscore.signing import FileSigner
from cortexscore.storage import CHUNK_BYTES, ChecksumMismatch

ATTEMPTS = 2


class WeightsCorrupt(ChecksumMismatch):
    """An uploaded weights file does not hash to its sha256 as the scorer receives it.

    A platform failure, retried: the API verified these bytes when the upload completed, so a different hash now
    means the platform's copy or its transfer went bad, not that the submission is wrong.
    """


def download(client: httpx.Client, url: str, sha256: str, target: Path) -> Path:
    """``target`` holding the bytes at ``url``, which must hash to ``sha256``; a corrupt download is fetched once
    more, and nothing unverified is ever left at ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(ATTEMPTS):
        fd, staging = tempfile.mkstemp(dir=target.parent, suffix=".part")
        digest = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out, client.stream("GET", url) as response:
                response.raise_for_status()
                for chunk in response.iter_bytes(CHUNK_BYTES):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() == sha256:
                os.replace(staging, target)
                return target
        finally:
            Path(staging).unlink(missing_ok=True)
    raise ChecksumMismatch(f"{url} hashed to {digest.hexdigest()} on {ATTEMPTS} downloads, not the recorded {sha256}")


def fetch(client: httpx.Client, url: str, sha256: str, cache_dir: Path, suffix: str = "") -> Path:
    """The file at ``url`` whose bytes hash to ``sha256``; a corrupt download is fetched once more."""
    target = cache_dir / "objects" / f"{sha256}{suffix}"
    if target.exists():
        return target
    return download(client, url, sha256, target)


def fetch_weights(client: httpx.Client, weights: WeightsFile, cache_dir: Path, signer: FileSigner) -> Path:
    """An uploaded weights file, cached under its sha256 with an HMAC tag: a cached copy whose tag fails (changed
    on disk, or not written by this scorer) is fetched again, and a download that hashes wrong is WeightsCorrupt."""
    target = cache_dir / "weights" / weights.sha256
    purpose = f"weights/{weights.sha256}"
    if signer.verify(target, purpose):
        return target
    target.unlink(missing_ok=True)
    try:
        download(client, weights.url, weights.sha256, target)
    except ChecksumMismatch as error:
        raise WeightsCorrupt(f"the weights file {weights.name!r} (sha256 {weights.sha256}) arrived corrupt: "
                             f"{error}; its bytes were verified at upload, so the platform's copy is damaged "
                             "(a platform failure: the job is retried)") from None
    # Read-only, for everyone: the sandbox's user reads it through a link, and nothing may write it.
    os.chmod(target, 0o444)
    signer.sign(target, purpose)
    return target
