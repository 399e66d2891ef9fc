"""Fault injection over real sockets: the object store and the database go away in the middle of scoring.

Each test ends with every submission scored exactly once and nothing lost.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from scripts.processes import ThrowawayPostgres, create_database, postgres_bin_dir
from tests.conftest import start_platform
from tests.integration.test_distributed import distributed, tiny_zip  # noqa: F401  (fixture)
from tests.conftest_pg import postgres_database, postgres_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow
BENCHMARK = "Synthetic2026.IT-pls"


def submit_tiny(api_url: str, tmp_path, count: int, offset: int) -> list[str]:
    ids = []
    with httpx.Client(base_url=api_url, timeout=60) as client:
        for index in range(offset, offset + count):
            with open(tiny_zip(tmp_path / f"tiny_{index}.zip", index), "rb") as handle:
                response = client.post("/submissions", files={"file": ("tiny.zip", handle, "application/zip")},
                                       data={"benchmarks": BENCHMARK})
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
    return ids


def wait_all(api_url: str, ids: list[str], timeout: float) -> dict[str, str]:
    deadline, statuses = time.monotonic() + timeout, {}
    with httpx.Client(base_url=api_url, timeout=30) as client:
        while time.monotonic() < deadline and len(statuses) < len(ids):
            for submission_id in set(ids) - set(statuses):
                response = client.get(f"/submissions/{submission_id}")
                if response.status_code == 200 and response.json()["status"] in ("completed", "failed"):
                    statuses[submission_id] = response.json()["status"]
            time.sleep(1)
    return statuses


def assert_each_job_scored_once(database_url: str, ids: list[str]) -> list[dict]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        jobs = [dict(row._mapping) for row in connection.execute(
            text("SELECT id, status, attempts, submission_id FROM jobs WHERE submission_id = ANY(:ids)"),
            {"ids": ids})]
        counts = dict(connection.execute(text(
            "SELECT job_id, count(*) FROM scores WHERE submission_id = ANY(:ids) GROUP BY job_id"), {"ids": ids}).all())
    engine.dispose()
    assert len(jobs) == len(ids) and {job["status"] for job in jobs} == {"succeeded"}, jobs
    assert {job["id"]: counts.get(job["id"]) for job in jobs} == {job["id"]: 1 for job in jobs}
    return jobs


def test_s3_stopped_for_30_seconds_during_scoring(distributed, tmp_path):  # noqa: F811
    ids = submit_tiny(distributed["api_url"], tmp_path, count=4, offset=100)
    engine = create_engine(distributed["database_url"])
    deadline = time.monotonic() + 120
    with engine.connect() as connection:
        while not connection.execute(text("SELECT count(*) FROM jobs WHERE status = 'running'")).scalar():
            assert time.monotonic() < deadline, "no job started"
            time.sleep(0.2)
    engine.dispose()
    # Stop the S3 server outright for 30 s, then start it again on the same port and data.
    command = Path(f"/proc/{distributed['s3_pid']}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    os.kill(distributed["s3_pid"], signal.SIGKILL)
    time.sleep(30)
    restarted = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        statuses = wait_all(distributed["api_url"], ids, timeout=400)
    finally:
        restarted.terminate()
        restarted.wait(10)
    assert statuses == {submission_id: "completed" for submission_id in ids}, \
        distributed["log"].read_text()[-4000:]
    jobs = assert_each_job_scored_once(distributed["database_url"], ids)
    assert max(job["attempts"] for job in jobs) >= 2, "the outage should have cost some job a retry"


@pytest.mark.skipif(postgres_bin_dir() is None, reason="PostgreSQL is not installed (apt-get install postgresql)")
def test_postgres_stopped_during_claims(tmp_path):
    postgres = ThrowawayPostgres().start()
    try:
        database_url = create_database(postgres.url, "faults")
        platform = start_platform(tmp_path / "var", scorers=1, API_DATABASE_URL=database_url,
                                  SCORER_POLL_SECONDS="0.3", SCORER_HEARTBEAT_SECONDS="1", API_LEASE_SECONDS="20")
        try:
            ids = submit_tiny(platform.url, tmp_path, count=3, offset=200)
            postgres.pause()
            try:
                with httpx.Client(base_url=platform.url, timeout=30) as client:
                    response = client.get(f"/submissions/{ids[0]}")
                    assert response.status_code == 503 and response.headers["Retry-After"], response.text
                    assert "Traceback" not in response.text
                time.sleep(12)  # the scorer's claims, heartbeats and reports all meet a dead database
            finally:
                postgres.resume()
            statuses = wait_all(platform.url, ids, timeout=300)
            assert statuses == {submission_id: "completed" for submission_id in ids}, platform.logs()
            assert_each_job_scored_once(database_url, ids)
        finally:
            platform.stop()
    finally:
        postgres.stop()
