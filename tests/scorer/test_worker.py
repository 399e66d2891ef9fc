"""Two benchmarks on one stimulus set: the model's forward pass and the region's layer search run once."""
import math

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
        log = client.get(f"/submissions/{created['id']}/logs").json()["log"]
    batches = [int(line.split("FORWARD-CALL ")[1].split()[0]) for line in log.splitlines() if "FORWARD-CALL" in line]
    assert sum(batches) == 400, "the 400 synthetic images should go through the model exactly once"
    assert len(batches) == math.ceil(400 / 64)
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
