"""`make run-distributed` end to end: PostgreSQL, S3 (rclone), the store, the API and two scorers as processes.

Twenty submissions spread over the two scorers; one scorer is SIGKILLed
while it holds a job, and the other finishes everything. The database then
shows one score per job and a second attempt only for the job that died.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import ROOT, free_port
from tests.conftest_pg import postgres_database, postgres_server  # noqa: F401  (fixtures)
from tests.zips import tiny_model_source, tutorial_files, write_zip

SUBMISSIONS = 20
BENCHMARK = "Synthetic2026.IT-pls"
TIMEOUT = 360

pytestmark = pytest.mark.slow


def tiny_zip(path: Path, index: int) -> Path:
    """A model that scores in about a second, different per ``index``."""
    return write_zip(path, tutorial_files(root=f"tiny_{index}", **{
        "models/base_models.py": tiny_model_source(f"tiny-{index}", seed=index)}))


@pytest.fixture(scope="module")
def distributed(tmp_path_factory, postgres_database):
    var = tmp_path_factory.mktemp("distributed")
    state_file = var / "distributed.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "STORE_INGEST": "false",
           # A dead scorer's job is claimable again 8 s after its last heartbeat.
           "API_LEASE_SECONDS": "8", "SCORER_HEARTBEAT_SECONDS": "2", "SCORER_POLL_SECONDS": "0.5",
           # Twenty anonymous uploads from 127.0.0.1 in a few seconds: the per-address limit is lifted here.
           "API_ANONYMOUS_UPLOADS_PER_WINDOW": "100000"}
    log = open(var / "launcher.log", "wb")
    launcher = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "run_distributed.py"), "--port", str(free_port()),
         "--store-port", str(free_port()), "--var-dir", str(var), "--database-url", postgres_database,
         "--state-file", str(state_file)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + 240
    while not state_file.exists():
        if launcher.poll() is not None or time.monotonic() > deadline:
            launcher.kill()
            pytest.fail("run_distributed.py did not start:\n" + (var / "launcher.log").read_text()[-5000:])
        time.sleep(0.5)
    state = json.loads(state_file.read_text())
    state["log"] = var / "launcher.log"
    yield state
    launcher.send_signal(signal.SIGTERM)
    try:
        launcher.wait(30)
    except subprocess.TimeoutExpired:
        launcher.kill()


def job_rows(engine) -> list[dict]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(text(
            "SELECT id, status, attempts, lease_owner, log FROM jobs ORDER BY id"))]


def test_twenty_submissions_over_two_scorers_survive_a_killed_scorer(distributed, tmp_path):
    engine = create_engine(distributed["database_url"])
    ids = []
    with httpx.Client(base_url=distributed["api_url"], timeout=60) as client:
        for index in range(SUBMISSIONS):
            with open(tiny_zip(tmp_path / f"tiny_{index}.zip", index), "rb") as handle:
                response = client.post("/submissions", files={"file": ("tiny.zip", handle, "application/zip")},
                                       data={"benchmarks": BENCHMARK})
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])

        for name, scorer in distributed["scorers"].items():
            assert Path(f"/proc/{scorer['pid']}").exists(), f"{name} died at start-up:\n" + \
                distributed["log"].read_text()[-5000:]
        # Halfway, SIGKILL scorer-1 while it holds a job: that job must be finished by scorer-2.
        victim = distributed["scorers"]["scorer-1"]["pid"]
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            rows = job_rows(engine)
            done = sum(row["status"] == "succeeded" for row in rows)
            holding = [row for row in rows if row["status"] == "running" and row["lease_owner"] == "local-scorer-1"]
            if done >= SUBMISSIONS // 4 and holding:
                os.kill(victim, signal.SIGKILL)
                killed_job = holding[0]["id"]
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"scorer-1 never held a job after a quarter were done: {rows}\n"
                        + distributed["log"].read_text()[-5000:])

        statuses = {}
        while time.monotonic() < deadline and len(statuses) < SUBMISSIONS:
            for submission_id in set(ids) - set(statuses):
                body = client.get(f"/submissions/{submission_id}").json()
                if body["status"] in ("completed", "failed", "cancelled"):
                    statuses[submission_id] = body["status"]
            time.sleep(1)
    assert len(statuses) == SUBMISSIONS, f"unfinished: {set(ids) - set(statuses)}\n" + \
        distributed["log"].read_text()[-5000:]
    assert set(statuses.values()) == {"completed"}

    rows = job_rows(engine)
    assert len(rows) == SUBMISSIONS and {row["status"] for row in rows} == {"succeeded"}
    with engine.connect() as connection:
        scores_per_job = connection.execute(text("SELECT job_id, count(*) FROM scores GROUP BY job_id")).all()
    assert sorted(job_id for job_id, _ in scores_per_job) == [row["id"] for row in rows]
    assert {count for _, count in scores_per_job} == {1}
    # Exactly once: one attempt per job, except the one the dead scorer held, which scorer-2 ran again.
    retried = {row["id"]: row for row in rows if row["attempts"] != 1}
    assert set(retried) == {killed_job}
    assert retried[killed_job]["attempts"] == 2
    assert "attempt 1 claimed by local-scorer-1" in retried[killed_job]["log"]
    assert retried[killed_job]["lease_owner"] == "local-scorer-2"
    assert {row["lease_owner"] for row in rows} == {"local-scorer-1", "local-scorer-2"}
    engine.dispose()
    # The metrics agree: twenty completions reported to the API, an empty queue, the survivor still scraped.
    api_metrics = httpx.get(f"{distributed['api_url']}/metrics").text
    assert f'cortexscore_job_duration_seconds_count{{benchmark="{BENCHMARK}",outcome="succeeded"}} 20.0' in api_metrics
    assert 'cortexscore_queue_depth{status="queued"} 0.0' in api_metrics
    survivor = distributed["scorers"]["scorer-2"]["metrics_port"]
    assert httpx.get(f"http://127.0.0.1:{survivor}/metrics").status_code == 200
