"""The store ingests the mirror's datasets when it starts, and serves each benchmark once it is registered."""
from __future__ import annotations

import logging
import time

import pytest
from fastapi.testclient import TestClient

from benchmark_store.config import StoreSettings
from benchmark_store.main import create_app
from cortexscore.ingest import DEFAULT_MIRROR
from cortexscore.ingest.manifest import COGGAN

TOKEN = "ingest-test-worker-token-0123456789"


def _served(client: TestClient, count: int, timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        specs = client.get("/benchmarks").json()
        if len(specs) >= count:
            return specs
        time.sleep(0.2)
    raise AssertionError(f"the store served {len(specs)} benchmarks, not {count}, after {timeout}s")


@pytest.mark.skipif(not (DEFAULT_MIRROR / COGGAN.folder).is_dir(), reason="the data mirror is absent")
def test_the_store_ingests_what_the_mirror_has_and_names_what_it_lacks(tmp_path, caplog):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / COGGAN.folder).symlink_to(DEFAULT_MIRROR / COGGAN.folder)
    settings = StoreSettings(var_dir=tmp_path / "var", mirror_dir=mirror, generate_synthetic=False,
                             worker_token=TOKEN)
    with caplog.at_level(logging.INFO, logger="benchmark_store"), TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        specs = _served(client, 4)
        assert sorted(spec["identifier"] for spec in specs) == [
            "Coggan2024fMRI.IT-rdm", "Coggan2024fMRI.V1-rdm", "Coggan2024fMRI.V2-rdm", "Coggan2024fMRI.V4-rdm"]
        assert all(0 < spec["ceiling"]["value"] <= 1 for spec in specs)
        deadline = time.monotonic() + 30
        while "ingest finished" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.1)
    skipped = [record.message for record in caplog.records if record.message.startswith("skipping ")]
    assert len(skipped) == 4 and all("https://github.com/" in line for line in skipped)


def test_a_relative_mirror_is_taken_from_the_repository_root():
    assert StoreSettings(mirror_dir="../shared/data", worker_token=TOKEN).mirror_dir == DEFAULT_MIRROR.resolve()
