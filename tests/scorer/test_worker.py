"""Two benchmarks on one stimulus set: the model's forward pass and the region's layer search run once."""
import math

from scorer.child import PREFLIGHT_IMAGES
from tests.conftest import start_platform
from tests.zips import tiny_model_source, tutorial_files, write_zip

COUNTING_MODEL = tiny_model_source("counting", forward_hook='print(f"FORWARD-CALL {x.shape[0]}", flush=True)')


def test_shared_stimulus_set_runs_through_the_model_once(platform, tmp_path):
    path = write_zip(tmp_path / "counting.zip", tutorial_files(root="counting",
                                                               **{"models/base_models.py": COUNTING_MODEL}))
    with platform.client() as client, open(path, "rb") as handle:
        created = client.post("/submissions", files={"file": handle},
                              data={"benchmarks": "Synthetic2026.IT-pls,Synthetic2026.IT-ridge"}).json()
    body = platform.wait_for(created["id"], timeout=600)
    assert body["status"] == "completed" and all(s["status"] == "succeeded" for s in body["scores"]), body
    with platform.client() as client:
        log = client.get(f"/submissions/{created['id']}/logs",
                         headers={"X-Owner-Secret": created["owner_secret"]}).json()["log"]
    batches = [int(line.split("FORWARD-CALL ")[1].split()[0]) for line in log.splitlines() if "FORWARD-CALL" in line]
    # After the preflight on a few images, the 400 synthetic images go through the model exactly once.
    assert batches[0] == PREFLIGHT_IMAGES, batches
    assert sum(batches[1:]) == 400, "the 400 synthetic images should go through the model exactly once"
    assert len(batches) == 1 + math.ceil(400 / 64)
    assert log.count("reusing cached activations") == 1
    assert log.count("reusing the committed layer") == 1, "the second IT benchmark should reuse the layer search"


def test_a_dependency_the_scorers_lack_fails_the_job_naming_it(platform, tmp_path):
    files = tutorial_files(root="needs_more", **{"models/base_models.py": COUNTING_MODEL,
                                                 "requirements.txt": "numpy\nnot-a-real-package-xyz>=1.0\n"})
    path = write_zip(tmp_path / "needs_more.zip", files)
    with platform.client() as client, open(path, "rb") as handle:
        created = client.post("/submissions", files={"file": handle},
                              data={"benchmarks": "Synthetic2026.IT-pls"}).json()
    body = platform.wait_for(created["id"], timeout=300)
    [score] = body["scores"]
    assert body["status"] == "failed" and score["status"] == "failed"
    assert "not-a-real-package-xyz" in score["message"] and "requirements.txt" in score["message"]


def test_a_job_cancelled_while_its_failure_is_reported_leaves_the_worker_running(tmp_path):
    from scorer.config import ScorerSettings
    from scorer.worker import Worker

    platform = start_platform(tmp_path / "var", scorers=0)
    try:
        path = write_zip(tmp_path / "broken.zip", tutorial_files(root="broken"))  # get_model raises
        with platform.client() as client, open(path, "rb") as handle:
            created = client.post("/submissions", files={"file": handle},
                                  data={"benchmarks": "Synthetic2026.IT-pls"}).json()
        worker = Worker(ScorerSettings(api_url=platform.url, store_url=platform.store_url, worker_id="in-process",
                                       worker_token=platform.worker_token,
                                       cache_dir=tmp_path / "cache", sandbox_hidden_paths=[platform.var],
                                       heartbeat_seconds=600))
        lease = worker.claim()
        assert lease is not None and lease.submission_id == created["id"]
        with platform.client() as client:
            assert client.delete(f"/submissions/{created['id']}",
                                 headers={"X-Owner-Secret": created["owner_secret"]}).json()["status"] == "cancelled"
        worker.process(lease)  # its report of the model's failure meets 409: the worker drops the job and goes on
        assert worker.claim() is None
        body = platform.wait_for(created["id"])
        assert body["status"] == "cancelled" and body["scores"][0]["status"] == "cancelled", body
    finally:
        platform.stop()


def test_the_worker_reports_the_shared_protocol_models():
    """Issue 16: the outcome is a CompleteRequest holding the one score model; a NaN reaches the API as null."""
    import httpx

    from cortexscore.jobs import CompleteRequest, JobLease, JobUsage
    from cortexscore.score import BenchmarkScore
    from scorer.worker import JobReporter

    posted = []
    api = httpx.Client(base_url="http://api", transport=httpx.MockTransport(
        lambda request: posted.append((request.url.path, request.read())) or httpx.Response(200, json={})))
    lease = JobLease(job_id=7, lease_token="token", lease_seconds=30, attempt=1, submission_id="s", model="m",
                     benchmark="b", benchmark_version=1, layout="tutorial", zip_sha256="0" * 64, zip_url="http://z")
    reporter = JobReporter(api, lease, interval=600)
    reporter.log("[platform] done")
    score = BenchmarkScore(raw=0.5, error=0.01, ceiling=0.8, ceiling_error=math.nan, ceiled=0.390625,
                           convention="r2_over_ceiling", layer="relu2", region="IT", provenance={"per_split": [0.5]})
    reporter.finish(CompleteRequest(lease_token=lease.lease_token, score=score, usage=JobUsage(wall_seconds=1.0)))
    [(path, body)] = posted
    assert path == "/internal/jobs/7/complete"
    sent = CompleteRequest.model_validate_json(body)
    assert sent.score == score and sent.score.ceiling_error is None and b"NaN" not in body
    assert sent.log == "[platform] done\n" and sent.usage.wall_seconds == 1.0
