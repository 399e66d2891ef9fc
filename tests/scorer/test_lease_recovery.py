"""A scorer killed with SIGKILL mid-job: after its lease expires another scorer finishes the job, once."""
import signal
import sqlite3
import time

import pytest

from tests.conftest import start_platform


@pytest.fixture
def platform_without_scorers(tmp_path):
    platform = start_platform(tmp_path / "var", scorers=0, API_LEASE_SECONDS="6", SCORER_HEARTBEAT_SECONDS="1")
    yield platform
    platform.stop()


def job_row(platform, submission_id):
    with sqlite3.connect(platform.var / "cortexscore.db") as db:
        return db.execute("SELECT status, attempts, lease_owner FROM jobs WHERE submission_id = ?",
                          (submission_id,)).fetchone()


def test_sigkilled_scorer_job_is_finished_by_another_exactly_once(platform_without_scorers, custom_model_zip):
    platform = platform_without_scorers
    with platform.client() as client, open(custom_model_zip, "rb") as handle:
        created = client.post("/submissions", files={"file": handle}, data={"benchmarks": "Synthetic2026.IT-pls"}).json()
    doomed = platform.start_scorer("doomed")
    deadline = time.monotonic() + 120
    while job_row(platform, created["id"])[0] != "running":
        assert time.monotonic() < deadline and doomed.poll() is None, platform.logs()
        time.sleep(0.2)
    time.sleep(2)  # mid-job: the model is running in the sandbox
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    assert job_row(platform, created["id"])[:2] == ("running", 1)
    platform.start_scorer("rescuer")
    body = platform.wait_for(created["id"], timeout=600)
    assert body["status"] == "completed", body
    status, attempts, owner = job_row(platform, created["id"])
    assert (status, attempts, owner) == ("succeeded", 2, "rescuer")
    with sqlite3.connect(platform.var / "cortexscore.db") as db:
        assert db.execute("SELECT count(*) FROM scores WHERE submission_id = ?", (created["id"],)).fetchone()[0] == 1
