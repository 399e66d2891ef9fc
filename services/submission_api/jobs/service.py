"""The job queue in the database: claim with a lease, heartbeat, complete or fail.

A claim is one conditional UPDATE, so two scorers can never hold the same
job: on PostgreSQL the candidate row is locked with FOR UPDATE SKIP LOCKED,
and on SQLite, which serialises writers, the UPDATE's WHERE clause re-checks
that the job is still claimable. An expired lease makes a job claimable again.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import and_, case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cortexscore.jobs import (CUT_MARKER, CompleteRequest, FailRequest, HeldModel, JobLease, LeaseRequest, SiblingJob,
                             WeightsFile, cut_log)

from submission_api.core.models import Job, ScoreRow, utcnow
from submission_api.queue.usage import record_usage
from submission_api.submissions.service import refresh_status

# A job log keeps at most its first LOG_HEAD_CHARS and last LOG_TAIL_CHARS characters, with a cut marker between.
LOG_HEAD_CHARS = 50_000
LOG_TAIL_CHARS = 150_000
LOG_LIMIT_CHARS = LOG_HEAD_CHARS + LOG_TAIL_CHARS
CUT_PATTERN = re.compile(re.escape(CUT_MARKER).replace(re.escape("{cut}"), r"(\d+)"))
CLAIM_RETRIES = 8


class LeaseLost(Exception):
    """The caller no longer holds the job's lease: it expired and was claimed again, or the job was cancelled."""


def _claimable(now: datetime):
    return and_(Job.status == "queued", Job.not_before <= now)


def sweep_expired(session: Session, *, max_attempts: int, now: datetime | None = None) -> int:
    """Return jobs whose lease expired to the queue; fail those whose scorer died on every attempt."""
    now = now or utcnow()
    expired = session.scalars(select(Job).where(Job.status == "running", Job.lease_expires_at < now)
                              .with_for_update(skip_locked=True)).all()
    for job in expired:
        owner = job.lease_owner
        job.lease_token, job.lease_expires_at = None, None
        if job.attempts >= max_attempts:
            job.status, job.finished_at, job.error_kind = "failed", now, "platform"
            job.message = (f"the scorer stopped responding on all {job.attempts} attempts (its lease expired); "
                           "this is a platform failure and does not count against your quota")
        else:
            job.status = "queued"
            job.message = f"scorer {owner} stopped responding (lease expired); the job was queued again"
        job.log = _append(job.log, f"[platform] {job.message}\n")
        refresh_status(session, job.submission)
    session.commit()
    return len(expired)


def claim(session: Session, *, worker_id: str, lease_seconds: float, max_attempts: int,
          zip_url: str, weights_url: str = "", prefer: HeldModel | None = None) -> JobLease | None:
    """Lease the next job; a job of ``prefer``, the model whose session the scorer holds, comes first."""
    now = utcnow()
    sweep_expired(session, max_attempts=max_attempts, now=now)
    order = [Job.not_before, Job.id]
    if prefer is not None:
        held = and_(Job.submission_id == prefer.submission_id, Job.model == prefer.model)
        order.insert(0, case((held, 0), else_=1))
    for _ in range(CLAIM_RETRIES):
        candidate = session.scalar(
            select(Job.id).where(_claimable(now)).order_by(*order).limit(1)
            .with_for_update(skip_locked=True))
        if candidate is None:
            session.rollback()
            return None
        token = secrets.token_hex(16)
        claimed = session.execute(
            update(Job).where(Job.id == candidate, _claimable(now)).values(
                status="running", lease_token=token, lease_owner=worker_id, attempts=Job.attempts + 1,
                lease_expires_at=now + timedelta(seconds=lease_seconds), started_at=now, message=None,
            ).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            session.rollback()
            continue
        job = session.get(Job, candidate)
        session.refresh(job)
        job.log = _append(job.log, f"[platform] attempt {job.attempts} claimed by {worker_id}\n")
        siblings = session.execute(
            select(Job.benchmark, Job.benchmark_version).where(
                Job.submission_id == job.submission_id, Job.model == job.model, Job.id != job.id,
                Job.status.in_(("queued", "running"))).order_by(Job.id)).all()
        refresh_status(session, job.submission)
        session.commit()
        return JobLease(
            job_id=job.id, lease_token=token, lease_seconds=lease_seconds, attempt=job.attempts,
            submission_id=job.submission_id, model=job.model, benchmark=job.benchmark,
            benchmark_version=job.benchmark_version, layout=job.submission.layout,
            zip_sha256=job.submission.zip_sha256, zip_url=zip_url.format(submission_id=job.submission_id),
            siblings=[SiblingJob(benchmark=name, benchmark_version=version) for name, version in siblings],
            weights=[WeightsFile(name=entry["name"], sha256=entry["sha256"], size=entry["size"],
                                 url=weights_url.format(submission_id=job.submission_id, name=entry["name"]))
                     for entry in job.submission.weights or []],
        )
    return None


def _held(session: Session, job_id: int, request: LeaseRequest) -> Job:
    job = session.get(Job, job_id)
    if job is None or job.status != "running" or job.lease_token != request.lease_token:
        raise LeaseLost(f"job {job_id} is no longer leased to you"
                        + (f" (it is {job.status})" if job is not None else ""))
    return job


def _append(log: str, text: str) -> str:
    """The job log with ``text`` appended, as a bounded ring buffer: the first LOG_HEAD_CHARS characters (how the
    model started), a marker of how many were cut, and the newest LOG_TAIL_CHARS (how it ended)."""
    log = log or ""
    marker = CUT_PATTERN.match(log, LOG_HEAD_CHARS)
    if marker is None:
        return cut_log(log + text, LOG_HEAD_CHARS, LOG_TAIL_CHARS)
    head, tail = log[:LOG_HEAD_CHARS], log[marker.end():] + text
    cut = int(marker.group(1)) + max(len(tail) - LOG_TAIL_CHARS, 0)
    return head + CUT_MARKER.format(cut=cut) + tail[-LOG_TAIL_CHARS:]


def heartbeat(session: Session, job_id: int, request: LeaseRequest, *, lease_seconds: float) -> None:
    job = _held(session, job_id, request)
    job.lease_expires_at = utcnow() + timedelta(seconds=lease_seconds)
    job.log = _append(job.log, request.log)
    session.commit()


def complete(session: Session, job_id: int, request: CompleteRequest) -> None:
    """Record the score and finish the job. A repeated report of a finished job changes nothing."""
    job = session.get(Job, job_id)
    if job is not None and job.status == "succeeded" and job.lease_token is None:
        return
    job = _held(session, job_id, request)
    session.add(ScoreRow.recording(job, request.score))
    try:
        session.flush()
    except IntegrityError:
        # A score for this (submission, model, benchmark, version) already exists: keep the first.
        session.rollback()
        job = _held(session, job_id, request)
    record_usage(job, request.usage)
    _finish(session, job, "succeeded", request.log, message=None, kind=None)


def fail(session: Session, job_id: int, request: FailRequest, *, max_attempts: int, backoff_seconds: float) -> None:
    """Submission errors end the job; platform errors go back to the queue with backoff until attempts run out."""
    job = _held(session, job_id, request)
    record_usage(job, request.usage)
    if request.kind == "platform" and job.attempts < max_attempts:
        job.status, job.lease_token, job.lease_owner, job.lease_expires_at = "queued", None, None, None
        job.not_before = utcnow() + timedelta(seconds=backoff_seconds * 2 ** (job.attempts - 1))
        job.message = f"retrying after a platform error: {request.message}"
        job.log = _append(job.log, request.log + f"[platform] {job.message}\n")
        session.commit()
        return
    if request.kind == "submission" and request.scope == "model":
        _fail_model_siblings(session, job, request.message)
    _finish(session, job, "failed", request.log, message=request.message, kind=request.kind)


def _fail_model_siblings(session: Session, job: Job, message: str) -> None:
    """Fail the other unfinished jobs of ``job``'s (submission, model) with its cause, without running them.

    A scorer that holds one of them loses its lease, so the model is not imported again anywhere.
    """
    siblings = session.scalars(select(Job).where(
        Job.submission_id == job.submission_id, Job.model == job.model, Job.id != job.id,
        Job.status.in_(("queued", "running"))).with_for_update()).all()
    for sibling in siblings:
        sibling.status, sibling.finished_at, sibling.error_kind = "failed", utcnow(), "submission"
        sibling.message = f"{message} (found by job {job.id} for every job of this model; not run again)"
        sibling.lease_token, sibling.lease_expires_at = None, None
        sibling.log = _append(sibling.log, f"[platform] job {job.id} found that the model itself fails; this job "
                                           f"fails with it without running: {message}\n")


def _finish(session: Session, job: Job, status: str, log: str, *, message: str | None, kind: str | None) -> None:
    job.status, job.finished_at, job.message, job.error_kind = status, utcnow(), message, kind
    job.lease_token, job.lease_expires_at = None, None
    job.log = _append(job.log, log)
    refresh_status(session, job.submission)
    session.commit()
