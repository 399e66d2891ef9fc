"""A scorer killed with SIGKILL mid-job: after its lease expires another scorer finishes the job, once."""
import os
import signal
import sqlite3
import time
from pathlib import Path

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


def child_scorer_pids(platform) -> list[int]:
    """The scorers `make run` started: children of its launcher running ``python -m scorer``."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            cmdline = (status.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(fields.get("PPid", "0").strip()) == platform.process.pid and cmdline[1:3] == [b"-m", b"scorer"]:
            pids.append(int(status.parent.name))
    return pids


def test_make_run_restarts_a_crashed_scorer_and_the_platform_stays_up(tmp_path, custom_model_zip):
    platform = start_platform(tmp_path / "var", scorers=1, API_LEASE_SECONDS="6", SCORER_HEARTBEAT_SECONDS="1")
    try:
        with platform.client() as client, open(custom_model_zip, "rb") as handle:
            created = client.post("/submissions", files={"file": handle},
                                  data={"benchmarks": "Synthetic2026.IT-pls"}).json()
        deadline = time.monotonic() + 120
        while job_row(platform, created["id"])[0] != "running":
            assert time.monotonic() < deadline, platform.logs()
            time.sleep(0.2)
        [first] = child_scorer_pids(platform)
        os.kill(first, signal.SIGKILL)
        body = platform.wait_for(created["id"], timeout=600)
        assert body["status"] == "completed", body
        assert platform.process.poll() is None, "the crash of a scorer stopped the platform:\n" + platform.logs()
        [second] = child_scorer_pids(platform)
        assert second != first
        launcher_log = platform.log_path.read_text(errors="replace")
        assert "scorer-1 exited with code -9" in launcher_log and "restarting it in" in launcher_log, launcher_log
        assert job_row(platform, created["id"]) == ("succeeded", 2, "local-scorer-1")
    finally:
        platform.stop()
