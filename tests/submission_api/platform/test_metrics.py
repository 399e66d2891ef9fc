"""Metrics and request IDs of the API, driven through its routes in-process."""
from __future__ import annotations

import json
import logging
import re
import socket

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from cortexscore.observability import JsonFormatter, request_id_var, serve_metrics
from submission_api.core.config import ApiSettings
from submission_api.main import create_app
from submission_api.core.models import Job, Submission
from submission_api.submissions.service import new_submission_id
from tests.conftest import free_port

WORKER_TOKEN = "metrics-test-worker-token-0123456789"
WORKER = {"Authorization": f"Bearer {WORKER_TOKEN}"}
SCORE = {"raw": 0.5, "error": 0.01, "ceiling": 0.8, "ceiling_error": 0.02, "ceiled": 0.3125,
         "convention": "r2_over_ceiling", "layer": "conv1", "region": "IT"}


@pytest.fixture
def api(tmp_path):
    app = create_app(ApiSettings(var_dir=tmp_path, store_url="http://127.0.0.1:9", worker_token=WORKER_TOKEN,
                                 _env_file=None))
    with app.state.sessionmaker() as session:
        submission = Submission(id=new_submission_id(), layout="tutorial", zip_key="k", zip_sha256="0" * 64,
                                zip_size=1, models=["m"], benchmarks=["metrics.a", "metrics.b"])
        session.add_all([submission, *(Job(submission=submission, model="m", benchmark=b, benchmark_version=1)
                                       for b in submission.benchmarks)])
        session.commit()
    return TestClient(app)


def sample(client, name: str, labels: dict) -> float:
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for metric in family.samples:
            if metric.name == name and metric.labels == labels:
                return metric.value
    return 0.0


def claim(client) -> dict:
    response = client.post("/internal/jobs/claim", json={"worker_id": "w"}, headers=WORKER)
    assert response.status_code == 200, response.text
    return response.json()


def test_queue_depth_and_job_metrics_follow_the_queue(api):
    assert sample(api, "cortexscore_queue_depth", {"status": "queued"}) == 2
    durations = {"benchmark": "metrics.a", "outcome": "succeeded"}
    before = REGISTRY.get_sample_value("cortexscore_job_duration_seconds_count", durations) or 0
    first = claim(api)
    assert sample(api, "cortexscore_queue_depth", {"status": "running"}) == 1
    api.post(f"/internal/jobs/{first['job_id']}/complete", json={"lease_token": first["lease_token"], "score": SCORE},
             headers=WORKER).raise_for_status()
    assert REGISTRY.get_sample_value("cortexscore_job_duration_seconds_count", durations) == before + 1
    failures_before = sample(api, "cortexscore_job_failures_total", {"kind": "submission"})
    second = claim(api)
    api.post(f"/internal/jobs/{second['job_id']}/fail", json={"lease_token": second["lease_token"],
             "kind": "submission", "message": "bad model"}, headers=WORKER).raise_for_status()
    assert sample(api, "cortexscore_job_failures_total", {"kind": "submission"}) == failures_before + 1
    assert sample(api, "cortexscore_queue_depth", {"status": "queued"}) == 0


def test_uploads_count_their_bytes_even_when_rejected(api):
    before = sample(api, "cortexscore_upload_bytes_total", {})
    body = b"x" * 50_000
    response = api.post("/submissions", files={"file": ("model.zip", body, "application/zip")})
    assert response.status_code >= 400
    assert sample(api, "cortexscore_upload_bytes_total", {}) >= before + len(body)


def test_request_ids_are_echoed_or_made_up(api):
    assert api.get("/healthz", headers={"X-Request-ID": "trace-42"}).headers["x-request-id"] == "trace-42"
    assert re.fullmatch(r"[0-9a-f]{32}", api.get("/healthz").headers["x-request-id"])


def test_log_lines_carry_the_request_id():
    token = request_id_var.set("trace-7")
    try:
        record = logging.LogRecord("submission_api", logging.INFO, __file__, 1, "accepted %s", ("abc",), None)
        line = json.loads(JsonFormatter("submission_api").format(record))
    finally:
        request_id_var.reset(token)
    assert (line["request_id"], line["message"], line["level"]) == ("trace-7", "accepted abc", "info")


def test_a_scorer_serves_metrics_on_its_port(monkeypatch):
    port = free_port()
    monkeypatch.setenv("SCORER_METRICS_PORT", str(port))
    monkeypatch.setenv("METRICS_HOST", "127.0.0.1")
    assert serve_metrics("SCORER_METRICS_PORT") == port
    response = httpx.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200 and "cortexscore_job_failures_total" in response.text


def test_a_taken_metrics_port_costs_the_metrics_not_the_scorer(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("SCORER_METRICS_PORT", str(taken.getsockname()[1]))
        monkeypatch.setenv("METRICS_HOST", "127.0.0.1")
        assert serve_metrics("SCORER_METRICS_PORT") is None
