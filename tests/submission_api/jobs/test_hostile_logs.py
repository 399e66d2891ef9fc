"""Issue 15, part 2: a model that prints tens of megabytes never fails its job's report, and the job log stays
bounded: its head, a marker of what was cut, and its tail."""
import re

import httpx
import pytest

from tests.conftest import start_platform
from tests.zips import tutorial_files, write_zip

WORKER_TOKEN = "test-hostile-logs-worker-token"
SCORE = {"raw": 0.5, "error": 0.01, "ceiling": 0.8, "ceiling_error": 0.01, "ceiled": 0.6, "convention": "pls",
         "layer": "conv1", "region": "IT", "provenance": {}}


@pytest.fixture(scope="module")
def queue(tmp_path_factory):
    platform = start_platform(tmp_path_factory.mktemp("hostile-logs"), scorers=0, API_WORKER_TOKEN=WORKER_TOKEN)
    yield platform
    platform.stop()


def test_a_huge_log_never_fails_the_report_and_keeps_head_and_tail(queue, tmp_path):
    path = write_zip(tmp_path / "loud.zip", tutorial_files())
    with open(path, "rb") as handle:
        created = httpx.post(f"{queue.url}/submissions", files={"file": ("loud.zip", handle, "application/zip")},
                             data={"benchmarks": "Synthetic2026.IT-pls"}, timeout=60).json()
    worker = httpx.Client(base_url=queue.url, headers={"Authorization": f"Bearer {WORKER_TOKEN}"}, timeout=120)
    with worker:
        lease = worker.post("/internal/jobs/claim", json={"worker_id": "loud-test"}).json()
        report = {"lease_token": lease["lease_token"]}
        first = "FIRST LINE OF THE MODEL\n" + "early output\n" * 10_000
        beat = worker.post(f"/internal/jobs/{lease['job_id']}/heartbeat", json={**report, "log": first})
        assert beat.status_code == 200, beat.text
        loud = "".join(f"noise line {index}\n" for index in range(400_000))  # about 6.6 MB in one report
        done = worker.post(f"/internal/jobs/{lease['job_id']}/complete",
                           json={**report, "log": loud + "LAST LINE OF THE MODEL\n", "score": SCORE})
        assert done.status_code == 200, done.text[:500]
    with httpx.Client(base_url=queue.url, headers={"X-Owner-Secret": created["owner_secret"]}) as owner:
        assert owner.get(f"/submissions/{created['id']}/scores").json()["scores"][0]["status"] == "succeeded"
        log = owner.get(f"/submissions/{created['id']}/logs").json()["log"]
    assert "FIRST LINE OF THE MODEL" in log and log.rstrip().endswith("LAST LINE OF THE MODEL")
    cut = re.findall(r"\.\.\. (\d+) characters of log cut here \.\.\.", log)
    assert len(cut) == 1 and int(cut[0]) > 6_000_000
    assert len(log) < 250_000
