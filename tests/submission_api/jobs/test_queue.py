from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cortexscore.jobs import CompleteRequest, FailRequest, LeaseRequest
from cortexscore.score import BenchmarkScore
from submission_api.core.models import Job, ScoreRow, Submission, utcnow
from submission_api.jobs import service as queue
from submission_api.submissions.service import new_submission_id

# Every queue test runs on both databases the platform supports.
pytestmark = pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)

SCORE = BenchmarkScore(raw=0.5, error=0.01, ceiling=0.8, ceiling_error=0.02, ceiled=0.3125,
                       convention="r2_over_ceiling", layer="conv1", region="IT")


def add_submission(session, models=("m",), benchmarks=("b1", "b2")) -> Submission:
    submission = Submission(id=new_submission_id(), layout="tutorial", zip_key="k", zip_sha256="0" * 64,
                            zip_size=1, models=list(models), benchmarks=list(benchmarks))
    session.add(submission)
    session.add_all(Job(submission=submission, model=m, benchmark=b, benchmark_version=1, region="IT")
                    for m in models for b in benchmarks)
    session.commit()
    return submission


def claim(session, worker="w1", lease=30.0):
    return queue.claim(session, worker_id=worker, lease_seconds=lease, max_attempts=3, zip_url="http://x/{submission_id}")


def test_two_claims_never_get_the_same_job(session):
    add_submission(session)
    first, second, third = claim(session, "w1"), claim(session, "w2"), claim(session, "w3")
    assert first.job_id != second.job_id
    assert third is None


def test_an_expired_lease_makes_the_job_claimable_again(session):
    add_submission(session, benchmarks=("b1",))
    first = claim(session, "w1")
    assert claim(session, "w2") is None
    job = session.get(Job, first.job_id)
    job.lease_expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    second = claim(session, "w2")
    assert second.job_id == first.job_id and second.attempt == 2
    with pytest.raises(queue.LeaseLost):
        queue.heartbeat(session, first.job_id, LeaseRequest(lease_token=first.lease_token), lease_seconds=30)


def test_a_retried_job_never_writes_two_scores(session):
    submission = add_submission(session, benchmarks=("b1",))
    lease = claim(session)
    request = CompleteRequest(lease_token=lease.lease_token, score=SCORE)
    queue.complete(session, lease.job_id, request)
    queue.complete(session, lease.job_id, request)
    count = session.scalar(select(func.count()).select_from(ScoreRow).where(ScoreRow.submission_id == submission.id))
    assert count == 1
    assert session.get(Submission, submission.id).status == "completed"


def test_a_stale_scorer_cannot_complete_a_reclaimed_job(session):
    add_submission(session, benchmarks=("b1",))
    stale = claim(session, "w1")
    session.get(Job, stale.job_id).lease_expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    fresh = claim(session, "w2")
    with pytest.raises(queue.LeaseLost):
        queue.complete(session, stale.job_id, CompleteRequest(lease_token=stale.lease_token, score=SCORE))
    queue.complete(session, fresh.job_id, CompleteRequest(lease_token=fresh.lease_token, score=SCORE))


def test_platform_errors_retry_with_backoff_then_fail(session):
    submission = add_submission(session, benchmarks=("b1",))
    for attempt in range(1, 4):
        lease = claim(session)
        assert lease.attempt == attempt
        queue.fail(session, lease.job_id, FailRequest(lease_token=lease.lease_token, kind="platform", message="boom"),
                   max_attempts=3, backoff_seconds=0)
    job = session.get(Job, lease.job_id)
    assert (job.status, job.error_kind, job.message) == ("failed", "platform", "boom")
    assert session.get(Submission, submission.id).status == "failed"


def test_submission_errors_are_not_retried(session):
    add_submission(session, benchmarks=("b1",))
    lease = claim(session)
    queue.fail(session, lease.job_id, FailRequest(lease_token=lease.lease_token, kind="submission", message="bad"),
               max_attempts=3, backoff_seconds=0)
    assert claim(session) is None
    assert session.get(Job, lease.job_id).status == "failed"


def test_status_never_moves_backwards(session):
    submission = add_submission(session, benchmarks=("b1", "b2"))
    lease = claim(session)
    assert session.get(Submission, submission.id).status == "running"
    queue.fail(session, lease.job_id, FailRequest(lease_token=lease.lease_token, kind="platform", message="x"),
               max_attempts=3, backoff_seconds=60)
    assert session.get(Submission, submission.id).status == "running"


def test_jobs_whose_scorer_died_every_time_end_failed(session):
    add_submission(session, benchmarks=("b1",))
    for _ in range(3):
        lease = claim(session)
        session.get(Job, lease.job_id).lease_expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    assert claim(session) is None
    job = session.get(Job, lease.job_id)
    assert job.status == "failed" and "lease expired" in job.message


def test_a_scorer_claims_the_model_it_holds_first_and_learns_its_siblings(session):
    from cortexscore.jobs import HeldModel

    first = add_submission(session, models=("a", "b"), benchmarks=("b1", "b2", "b3"))
    lease = claim(session)
    assert (lease.model, lease.benchmark) == ("a", "b1")
    assert [(s.benchmark, s.benchmark_version) for s in lease.siblings] == [("b2", 1), ("b3", 1)]
    later = add_submission(session, models=("c",), benchmarks=("b1",))
    # Without a preference the oldest job comes first; with one, the held model's jobs do.
    held = HeldModel(submission_id=later.id, model="c")
    preferred = queue.claim(session, worker_id="w1", lease_seconds=30, max_attempts=3, zip_url="http://x/{submission_id}",
                            prefer=held)
    assert (preferred.submission_id, preferred.model, preferred.siblings) == (later.id, "c", [])
    held = HeldModel(submission_id=first.id, model="b")
    claimed = [queue.claim(session, worker_id="w1", lease_seconds=30, max_attempts=3,
                           zip_url="http://x/{submission_id}", prefer=held) for _ in range(3)]
    assert [(job.model, job.benchmark) for job in claimed] == [("b", "b1"), ("b", "b2"), ("b", "b3")]
    assert [s.benchmark for s in claimed[0].siblings] == ["b2", "b3"]


def test_a_model_wide_failure_fails_every_unfinished_job_of_that_model_at_once(session):
    submission = add_submission(session, models=("a", "b"), benchmarks=("b1", "b2", "b3"))
    first, held_elsewhere = claim(session), claim(session, worker="w2")
    assert (first.model, held_elsewhere.model) == ("a", "a")
    queue.fail(session, first.job_id, FailRequest(lease_token=first.lease_token, kind="submission", scope="model",
                                                  message="the model code raised KeyError: 'fc9'"),
               max_attempts=3, backoff_seconds=0)
    jobs = {(job.model, job.benchmark): job for job in session.scalars(select(Job).where(
        Job.submission_id == submission.id))}
    assert {key: job.status for key, job in jobs.items()} == {
        ("a", "b1"): "failed", ("a", "b2"): "failed", ("a", "b3"): "failed",
        ("b", "b1"): "queued", ("b", "b2"): "queued", ("b", "b3"): "queued"}
    for benchmark in ("b2", "b3"):
        sibling = jobs[("a", benchmark)]
        assert sibling.error_kind == "submission" and sibling.attempts <= 1
        assert sibling.message.startswith("the model code raised KeyError: 'fc9' (found by job ")
        assert "fails with it without running" in sibling.log
    # The other scorer's lease on the sibling it held is gone: its report changes nothing.
    with pytest.raises(queue.LeaseLost):
        queue.heartbeat(session, held_elsewhere.job_id, LeaseRequest(lease_token=held_elsewhere.lease_token),
                        lease_seconds=30)
    assert [claim(session).model for _ in range(3)] == ["b", "b", "b"]


def test_a_job_scoped_submission_failure_leaves_the_models_other_jobs_queued(session):
    submission = add_submission(session, benchmarks=("b1", "b2"))
    lease = claim(session)
    queue.fail(session, lease.job_id, FailRequest(lease_token=lease.lease_token, kind="submission", message="bad"),
               max_attempts=3, backoff_seconds=0)
    statuses = sorted(job.status for job in session.scalars(select(Job).where(Job.submission_id == submission.id)))
    assert statuses == ["failed", "queued"]
