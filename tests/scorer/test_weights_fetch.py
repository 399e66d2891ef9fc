"""Issue 13: a scorer fetches a submission's uploaded weights from the API, verifies their sha256, and caches
them under it with an HMAC tag; a cached copy changed on disk is fetched again, and bytes that hash wrong are a
named platform failure (the API verified them at upload, so the platform's copy is what went bad)."""
from __future__ import annotations

import hashlib
import os
import stat

import httpx
import pytest

from cortexscore.client import Client
from cortexscore.jobs import WeightsFile
from cortexscore.signing import FileSigner
from cortexscore.storage import ChecksumMismatch
from scorer.fetch import WeightsCorrupt, fetch_weights
from tests.submission_api.platforms import SYNTHETIC, weights_platform  # noqa: F401 (fixture)
from tests.submission_api.weights.uploads import weighted_zip


@pytest.fixture(scope="module")
def served_weights(weights_platform, tmp_path_factory):
    """A submission referring to an uploaded file (cancelled at once: only its weights route is wanted), the
    file's bytes, and a client of the scorers' API."""
    folder = tmp_path_factory.mktemp("served")
    path = folder / "fetched.bin"
    path.write_bytes(os.urandom(150_000))
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    with Client(weights_platform.url, weights_platform.user_token) as owner:
        owner.upload_weights(path)
        created = owner.submit(weighted_zip(folder, {"fetched.bin": sha256}), benchmarks=[SYNTHETIC])
        owner.cancel(created["id"])
    url = f"{weights_platform.url}/internal/submissions/{created['id']}/weights/fetched.bin"
    api = httpx.Client(headers={"Authorization": f"Bearer {weights_platform.worker_token}"}, timeout=30)
    yield WeightsFile(name="fetched.bin", sha256=sha256, size=len(path.read_bytes()), url=url), path.read_bytes(), api
    api.close()


def test_weights_are_verified_cached_read_only_and_signed(served_weights, tmp_path):
    weights, data, api = served_weights
    signer = FileSigner(b"k" * 32)
    cached = fetch_weights(api, weights, tmp_path, signer)
    assert cached == tmp_path / "weights" / weights.sha256 and cached.read_bytes() == data
    assert stat.S_IMODE(cached.stat().st_mode) == 0o444
    assert signer.verify(cached, f"weights/{weights.sha256}")
    modified = cached.stat().st_mtime_ns
    assert fetch_weights(api, weights, tmp_path, signer).stat().st_mtime_ns == modified, "a valid copy is reused"


def test_a_cached_copy_changed_on_disk_is_fetched_again(served_weights, tmp_path):
    weights, data, api = served_weights
    signer = FileSigner(b"k" * 32)
    cached = fetch_weights(api, weights, tmp_path, signer)
    os.chmod(cached, 0o644)
    cached.write_bytes(b"tampered" + data[8:])
    assert fetch_weights(api, weights, tmp_path, signer).read_bytes() == data
    # A copy signed under another scorer's key is not trusted either.
    assert not FileSigner(b"o" * 32).verify(cached, f"weights/{weights.sha256}")


def test_bytes_that_hash_wrong_are_a_named_platform_failure_and_leave_nothing_cached(served_weights, tmp_path):
    weights, _data, api = served_weights
    expected = hashlib.sha256(b"what the lease says").hexdigest()
    with pytest.raises(WeightsCorrupt) as corrupt:
        fetch_weights(api, weights.model_copy(update={"sha256": expected}), tmp_path, FileSigner(b"k" * 32))
    message = str(corrupt.value)
    assert "'fetched.bin'" in message and expected in message and "a platform failure" in message
    # The worker answers every ChecksumMismatch as a platform failure, retried with backoff.
    assert isinstance(corrupt.value, ChecksumMismatch)
    assert not list((tmp_path / "weights").iterdir())
