"""Issue 16: one model session per (submission, model); a broken model fails all its jobs at once, imported once."""
import pytest

from cortexscore.benchmarks import synthetic
from tests.zips import tiny_model_source, tutorial_files, write_zip

BENCHMARKS = [synthetic.IDENTIFIER.replace("-pls", f"-{metric}") for metric in synthetic.METRICS]

RAISING_MODEL = tiny_model_source("raising", forward_hook='raise RuntimeError("forward is broken on purpose")')
MISSING_LAYER_MODEL = tiny_model_source("missing").replace('return ["conv1"]', 'return ["conv9"]')


@pytest.mark.parametrize("name, source, cause", [
    ("raising", RAISING_MODEL, "forward is broken on purpose"),
    ("missing", MISSING_LAYER_MODEL, "has no layer 'conv9'"),
])
def test_a_broken_model_fails_every_job_with_its_cause_after_one_import(platform, tmp_path, name, source, cause):
    assert len(BENCHMARKS) >= 2
    path = write_zip(tmp_path / f"{name}.zip", tutorial_files(root=name, **{"models/base_models.py": source}))
    with platform.client() as client, open(path, "rb") as handle:
        created = client.post("/submissions", files={"file": handle}, data={"benchmarks": ",".join(BENCHMARKS)}).json()
    body = platform.wait_for(created["id"], timeout=300)
    assert body["status"] == "failed" and len(body["scores"]) == len(BENCHMARKS), body
    for score in body["scores"]:
        assert score["status"] == "failed" and cause in score["message"], score
    with platform.client() as client:
        log = client.get(f"/submissions/{created['id']}/logs",
                         headers={"X-Owner-Secret": created["owner_secret"]}).json()["log"]
    # The sandboxed child ran once, for one job (a missing layer fails its import; a raising forward, its preflight).
    assert log.count("[model] imported") == (1 if name == "raising" else 0), log
    # One job ran into the error; the API failed the others with it at once, so no scorer claimed them.
    errors = [line for line in log.splitlines() if line.startswith("[platform] submission error")]
    assert len(errors) == 1, log
    assert log.count("found that the model itself fails; this job fails with it without running") == \
        len(BENCHMARKS) - 1, log
    assert log.count("claimed by") == 1, log
