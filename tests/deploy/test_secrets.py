"""No service starts with a placeholder secret, and the embedded default makes its own worker token."""
from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

SERVICES = {"submission_api": "API_WORKER_TOKEN", "benchmark_store": "STORE_WORKER_TOKEN",
            "scorer": "SCORER_WORKER_TOKEN"}


@pytest.mark.parametrize("service, setting", SERVICES.items())
@pytest.mark.parametrize("value, problem", [
    ("change-me-worker-token", "is a placeholder"),  # deploy/.env.example's value
    ("embedded-worker-token", "is a placeholder"),  # the old built-in default
    ("", "is not set"),
    ("short-token", "has 11 characters, fewer than 16"),
])
def test_a_service_refuses_to_start_with_a_placeholder_secret(tmp_path, service, setting, value, problem):
    env = {key: item for key, item in os.environ.items() if not key.endswith("WORKER_TOKEN")}
    env.update({setting: value, "API_VAR_DIR": str(tmp_path), "STORE_VAR_DIR": str(tmp_path),
                "SCORER_CACHE_DIR": str(tmp_path / "cache"), "PORT": "9", "STORE_PORT": "9"})
    finished = subprocess.run([sys.executable, "-m", service], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=120)
    assert finished.returncode != 0
    assert f"{setting} {problem}" in finished.stderr, finished.stderr[-2000:]
    assert value not in finished.stderr or value in ("", "change-me-worker-token", "embedded-worker-token")


def test_the_embedded_default_generates_a_random_worker_token_and_keeps_it(platform):
    path = platform.var / "worker-token"
    assert path.stat().st_mode & 0o777 == 0o600 and len(path.read_bytes()) == 32
    with httpx.Client(base_url=platform.url, timeout=30) as client:
        refused = client.post("/internal/jobs/claim", json={"worker_id": "probe"},
                              headers={"Authorization": "Bearer embedded-worker-token"})
        assert refused.status_code == 401, refused.text
        health = client.get("/healthz")
        assert health.status_code == 200
