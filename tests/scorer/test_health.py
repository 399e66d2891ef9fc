"""A scorer's /healthz: 200 while it polls and its API and store answer; 503 naming what does not."""
import time

import httpx

from tests.conftest import free_port


def wait_answer(url: str, timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=10)
        except httpx.TransportError:
            assert time.monotonic() < deadline, f"{url} never answered"
            time.sleep(0.3)


def test_a_scorer_reports_healthy_and_serves_metrics(platform):
    port = free_port()
    scorer = platform.start_scorer("healthy", SCORER_METRICS_PORT=str(port), METRICS_HOST="127.0.0.1")
    try:
        response = wait_answer(f"http://127.0.0.1:{port}/healthz")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "ok" and response.json()["worker_id"] == "healthy"
        assert "cortexscore_job_failures_total" in httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        scorer.terminate()
        scorer.wait(30)


def test_a_scorer_whose_api_is_down_is_unhealthy_and_says_so(platform):
    port, dead_api = free_port(), f"http://127.0.0.1:{free_port()}"
    scorer = platform.start_scorer("orphan", SCORER_METRICS_PORT=str(port), METRICS_HOST="127.0.0.1",
                                   SCORER_API_URL=dead_api)
    try:
        response = wait_answer(f"http://127.0.0.1:{port}/healthz")
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["status"] == "unavailable"
        assert any(f"the api at {dead_api} does not answer" in problem for problem in body["problems"]), body
        assert not any("store" in problem for problem in body["problems"]), body
    finally:
        scorer.terminate()
        scorer.wait(30)
