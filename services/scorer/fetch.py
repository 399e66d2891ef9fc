"""Downloads into a local content-addressed cache: a file is kept under its sha256 and re-verified."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import httpx

from cortexscore.storage import CHUNK_BYTES, ChecksumMismatch

ATTEMPTS = 2


def fetch(client: httpx.Client, url: str, sha256: str, cache_dir: Path, suffix: str = "") -> Path:
    """The file at ``url`` whose bytes hash to ``sha256``; a corrupt download is fetched once more."""
    target = cache_dir / "objects" / f"{sha256}{suffix}"
    if target.exists():
        return target
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
