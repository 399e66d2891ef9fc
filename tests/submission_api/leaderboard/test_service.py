"""Leaderboard selection and ranking, on database rows written as the queue writes them."""
import pytest

from submission_api.leaderboard.service import leaderboard, model_entry
from tests.submission_api.rows import IT, SYNTHETIC, V1, add_submission


def test_the_leaderboard_lists_public_visible_completed_models_ranked_on_leaderboard_benchmarks(session):
    shown = add_submission(session, models=("good", "half"), jobs=[
        ("good", IT, "succeeded", None, 0.9), ("good", V1, "succeeded", None, 1.4),
        ("good", SYNTHETIC, "succeeded", None, 0.1),
        ("half", IT, "succeeded", None, 0.6), ("half", V1, "failed", "submission", None)])
    add_submission(session, public=False, models=("private",), jobs=[("private", IT, "succeeded", None, 0.99)])
    add_submission(session, hidden=True, models=("hidden",), jobs=[("hidden", IT, "succeeded", None, 0.99)])
    add_submission(session, models=("synthetic-only",), jobs=[("synthetic-only", SYNTHETIC, "succeeded", None, 1.0)])
    add_submission(session, models=("running",), jobs=[("running", IT, "running", None, None)])
    board = leaderboard(session)
    rows = [row for row in board["models"] if row["submission_id"] == shown.id]
    assert {row["model"] for row in board["models"]} >= {"good", "half"}
    assert not {"private", "hidden", "synthetic-only", "running"} & {row["model"] for row in board["models"]}
    good, half = rows
    assert good["model"] == "good" and good["rank"] < half["rank"]
    # V1 is clipped to 1 before averaging; the failed V1 of "half" counts as 0 beside its scored IT.
    assert good["aggregate"] == pytest.approx({"IT": 0.9, "V1": 1.0, "neural": 0.475, "average": 0.2375})
    assert half["aggregate"]["neural"] == pytest.approx(0.15)
    assert good["benchmarks"]["Bench.V1"]["score"] == 1.0 and good["benchmarks"]["Bench.V1"]["ceiled"] == 1.4
    assert half["benchmarks"]["Bench.V1"]["status"] == "failed" and half["benchmarks"]["Bench.V1"]["score"] is None
    assert "Synthetic.IT" not in {column["identifier"] for column in board["benchmarks"]}
    assert [column["region"] for column in board["benchmarks"]][:2] == ["V1", "IT"]


def test_a_model_entry_carries_bibtex_layer_scores_and_every_benchmark(session):
    shown = add_submission(session, jobs=[("m", IT, "succeeded", None, 0.7), ("m", SYNTHETIC, "succeeded", None, 0.2)])
    entry = model_entry(session, shown.id, "m")
    assert entry["bibtex"] == "@misc{m}"
    assert [cell["benchmark"] for cell in entry["benchmarks"]] == ["Bench.IT", "Synthetic.IT"]
    assert entry["benchmarks"][0]["layer_scores"] == {"conv1": 0.5, "conv2": 0.4}
    assert entry["aggregate"]["IT"] == pytest.approx(0.7)
    private = add_submission(session, public=False, jobs=[("m", IT, "succeeded", None, 0.7)])
    assert model_entry(session, private.id, "m") is None
    assert model_entry(session, shown.id, "other") is None
