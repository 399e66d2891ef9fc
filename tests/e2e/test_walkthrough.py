"""The README walk-through, as a new user runs it: zip the tutorial's custom model, upload, poll for scores."""
import math
import sqlite3

import pytest

from cortexscore.conventions import ceil_score

from tests.conftest import EXAMPLES, zip_folder


def submit(platform, path, **fields):
    with platform.client() as client, open(path, "rb") as handle:
        response = client.post("/submissions", files={"file": (path.name, handle, "application/zip")}, data=fields)
    assert response.status_code == 202, response.text
    return response.json()


def assert_scored_with_provenance(body: dict, candidate_layers: set[str]) -> None:
    """Every job succeeded with finite numbers that say how they were made."""
    assert body["status"] == "completed", body
    for score in body["scores"]:
        assert score["status"] == "succeeded", score
        for name in ("raw", "ceiling", "ceiled", "error", "ceiling_error"):
            assert isinstance(score[name], float) and math.isfinite(score[name]), (name, score)
        assert 0 < score["ceiling"] <= 1
        assert score["ceiled"] == pytest.approx(float(ceil_score(score["raw"], score["ceiling"], score["convention"])))
        provenance = score["provenance"]
        assert provenance["benchmark_version"] == score["benchmark_version"]
        if provenance["kind"] == "behavior":
            assert score["layer"] == "logits"
        else:
            assert score["layer"] in candidate_layers
            assert set(provenance["layer_scores"]) == candidate_layers
        assert provenance["code_version"] and provenance["zip_sha256"]


def test_tutorial_custom_model_gets_real_scores(platform, custom_model_zip):
    created = submit(platform, custom_model_zip)
    assert created["models"] == ["my-model"]
    body = platform.wait_for(created["id"], timeout=600)
    assert_scored_with_provenance(body, {"conv1", "relu1", "relu2"})
    with platform.client() as client:
        status = client.get(f"/submissions/{created['id']}").json()
        assert status["status"] == "completed" and status["created_at"]
        assert all(job["attempts"] == 1 and job["status"] == "succeeded" for job in status["jobs"])
        assert "committed layer" in client.get(f"/submissions/{created['id']}/logs",
                                               headers={"X-Owner-Secret": created["owner_secret"]}).json()["log"]


def custom_model_folder():
    return EXAMPLES / "custom_model_submission" / "my_custom_submission"


def test_default_suite_is_every_real_leaderboard_benchmark(real_platform, custom_model_zip, tmp_path):
    """The README walk-through where the datasets exist: the default suite is the whole leaderboard."""
    with real_platform.client() as client:
        leaderboard = sorted(b["identifier"] for b in client.get("/benchmarks").json() if b["leaderboard"])
    assert len(leaderboard) >= 10
    created = submit(real_platform, custom_model_zip)
    assert sorted(created["benchmarks"]) == leaderboard
    body = real_platform.wait_for(created["id"], timeout=900)
    # Coggan2024's unit selection (the reference's) fails a committed layer none of whose units have a mean
    # response far from 0 (here conv1, if a region commits it): the job fails, saying so, as Brain-Score's does.
    rejected = [score for score in body["scores"] if score["status"] == "failed"]
    assert all(score["benchmark"].startswith("Coggan2024fMRI") and "varying units have |mean|" in score["message"]
               for score in rejected), rejected
    body = {**body, "status": "completed", "scores": [score for score in body["scores"] if score not in rejected]}
    assert_scored_with_provenance(body, {"conv1", "relu1", "relu2"})
    assert set(body["aggregate"]["my-model"]) >= {"average", "neural", "behavior", "IT"}
    # One layer per region, chosen on stimuli that no score of the region is computed on.
    layers = {}
    for score in body["scores"]:
        if score["provenance"]["kind"] == "neural":
            assert score["provenance"]["layer_selection"]["overlap_with_scored_stimuli"] == 0, score
            layers.setdefault(score["region"], set()).add(score["layer"])
    assert set(layers) >= {"V4", "IT"} and all(len(chosen) == 1 for chosen in layers.values()), layers
    # Locally, on a benchmark whose scored data is public, the same number as the platform's.
    from cortexscore.cli import load_public_benchmark, score_locally

    # A Coggan2024 benchmark (all 24 stimuli public) that the model's committed layer could be scored on.
    [server, *_] = [score for score in body["scores"] if score["benchmark"] in ("Coggan2024fMRI.IT-rdm",
                                                                             "Coggan2024fMRI.V4-rdm")]
    benchmark = server["benchmark"]
    data = load_public_benchmark(benchmark, store_url=real_platform.store_url, cache_dir=tmp_path / "cache")
    [local] = score_locally(custom_model_folder(), data, tmp_path, model_name="my-model", batch_size=64,
                            progress=lambda *_: None, log=lambda _line: None).values()
    assert local.layer == server["layer"]
    assert local.raw == pytest.approx(server["raw"], abs=1e-9)
    assert local.ceiled == pytest.approx(server["ceiled"], abs=1e-9)


def test_a_model_matching_the_synthetic_population_scores_near_the_ceiling(platform, custom_model_zip, tmp_path):
    folder = EXAMPLES / "synthetic_match_submission" / "synthetic_match"
    created = submit(platform, zip_folder(folder, tmp_path / "match.zip"), benchmarks="Synthetic2026.IT-pls")
    body = platform.wait_for(created["id"], timeout=600)
    [score] = body["scores"]
    assert score["status"] == "succeeded", score
    assert score["layer"] == "features"
    assert score["provenance"]["bibtex"].startswith("@misc{cortexscore2026synthetic")
    assert score["ceiled"] > 0.8, score
    with sqlite3.connect(platform.var / "cortexscore.db") as db:
        rows = db.execute("SELECT count(*) FROM scores WHERE submission_id = ?", (created["id"],)).fetchone()[0]
    assert rows == 1
