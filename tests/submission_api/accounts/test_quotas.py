"""Quota accounting and leaderboard selection, on database rows written as the queue writes them."""
import secrets
from datetime import timedelta

import pytest

from submission_api.core.models import Job, ScoreRow, Submission, utcnow
from submission_api.leaderboard.service import leaderboard, model_entry
from submission_api.accounts.quotas import QuotaExceeded, check_quota
from submission_api.accounts.service import create_user

IT, V1, SYNTHETIC = ("Bench.IT", "IT", True), ("Bench.V1", "V1", True), ("Synthetic.IT", "IT", False)


def add_submission(session, *, owner=None, public=True, hidden=False, models=("m",), jobs=(), created_at=None):
    """A submission whose jobs are (model, (benchmark, region, leaderboard), status, error_kind, ceiled)."""
    submission = Submission(id=secrets.token_hex(8), public=public, hidden=hidden, owner_id=owner.id if owner else None,
                            layout="tutorial", zip_key="k", zip_sha256="0" * 64, zip_size=1, models=list(models),
                            benchmarks=sorted({bench[0] for _, bench, *_ in jobs}), created_at=created_at or utcnow())
    session.add(submission)
    for model, (benchmark, region, on_board), status, kind, ceiled in jobs:
        job = Job(submission=submission, model=model, benchmark=benchmark, benchmark_version=1, region=region,
                  kind="neural", leaderboard=on_board, status=status, error_kind=kind)
        session.add(job)
        session.flush()
        if ceiled is not None:
            session.add(ScoreRow(submission_id=submission.id, job_id=job.id, model=model, benchmark=benchmark,
                                 benchmark_version=1, region=region, raw=ceiled, ceiled=ceiled, ceiling=0.8,
                                 error=0.01, layer="conv1",
                                 provenance={"layer_scores": {"conv1": 0.5, "conv2": 0.4}, "bibtex": "@misc{m}"}))
    statuses = {status for *_, status, _, _ in jobs}
    submission.status = "completed" if "succeeded" in statuses else "failed" if statuses else "queued"
    if statuses & {"queued", "running"}:
        submission.status = "running"
    session.flush()
    return submission


def quota(session, user, uploads=2, concurrent=3):
    check_quota(session, user_id=user.id, uploads_per_day=uploads, concurrent_jobs=concurrent)


def test_platform_failures_and_cancellations_do_not_count_against_the_daily_quota(session):
    user = create_user(session, name="dana")
    add_submission(session, owner=user, jobs=[("m", IT, "failed", "platform", None)])
    add_submission(session, owner=user, jobs=[("m", IT, "cancelled", None, None)])
    add_submission(session, owner=user, jobs=[("m", IT, "succeeded", None, 0.5)],
                   created_at=utcnow() - timedelta(days=1, minutes=1))
    quota(session, user)
    add_submission(session, owner=user, jobs=[("m", IT, "failed", "submission", None)])
    add_submission(session, owner=user, jobs=[("m", IT, "succeeded", None, 0.5)])
    with pytest.raises(QuotaExceeded, match="2 uploads in the last 24 hours") as raised:
        quota(session, user)
    assert 0 < raised.value.retry_after <= 24 * 3600


def test_jobs_in_flight_are_limited(session):
    user = create_user(session, name="erin")
    add_submission(session, owner=user, jobs=[("m", IT, "queued", None, None), ("m", V1, "running", None, None)])
    quota(session, user, uploads=10, concurrent=3)
    add_submission(session, owner=user, jobs=[("m", IT, "queued", None, None)])
    with pytest.raises(QuotaExceeded, match="3 jobs queued or running"):
        quota(session, user, uploads=10, concurrent=3)


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
