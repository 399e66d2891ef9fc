"""Submissions: created with all their jobs in one transaction, read back with their scores, cancelled by their
owner, made public or hidden, and scored again by an admin."""
from __future__ import annotations

import secrets
import time
from pathlib import Path

from sqlalchemy import and_, bindparam, delete, func, select
from sqlalchemy.orm import Session

from cortexscore.aggregation import aggregate_model
from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.storage import ObjectStore
from cortexscore.submission_layout import LayoutReport

from submission_api.accounts.service import hash_token
from submission_api.core.models import Job, ScoreRow, Submission, utcnow
from submission_api.submissions.schemas import LogsPublic, ScoreEntry, ScoresPublic
from submission_api.submissions.upload import UPLOAD_SUFFIX, ReceivedUpload, in_use

TERMINAL_JOB_STATUSES = ("succeeded", "failed", "cancelled")
STATUS_ORDER = {"queued": 0, "running": 1, "completed": 2, "failed": 2, "cancelled": 2}


def new_submission_id() -> str:
    return secrets.token_urlsafe(18)


def new_owner_secret() -> str:
    return "os_" + secrets.token_urlsafe(32)


def create_submission(
    session: Session, *, store: ObjectStore, upload: ReceivedUpload, report: LayoutReport,
    benchmarks: list[BenchmarkSpec], public: bool, owner_id: int | None,
    callback_url: str | None = None, webhook_secret: str | None = None, owner_secret: str | None = None,
    weights: list[dict] | None = None,
) -> Submission:
    """Store the zip, then insert the submission and its jobs in one transaction.

    The jobs become visible to scorers only when that transaction commits; if
    it fails, the stored zip is removed, so a rejection leaves nothing behind.
    """
    submission_id = new_submission_id()
    zip_key = f"submissions/{submission_id}.zip"
    store.put_file(zip_key, upload.path)
    try:
        submission = Submission(
            id=submission_id, public=public, owner_id=owner_id, filename=upload.filename[:255],
            owner_secret_hash=hash_token(owner_secret) if owner_secret else None,
            layout=report.layout, zip_key=zip_key, zip_sha256=upload.sha256, zip_size=upload.size,
            models=report.models, benchmarks=[spec.identifier for spec in benchmarks],
            # Read by the webhook dispatcher, which only delivers once the submission has ended.
            callback_url=callback_url, webhook_secret=webhook_secret if callback_url else None,
            webhook_state="pending" if callback_url else None, weights=weights or None,
        )
        session.add(submission)
        session.add_all(
            Job(submission=submission, model=model, benchmark=spec.identifier, benchmark_version=spec.version,
                region=spec.region, kind=spec.kind, leaderboard=spec.leaderboard and not spec.synthetic)
            for model in report.models for spec in benchmarks
        )
        session.commit()
    except BaseException:
        session.rollback()
        store.delete(zip_key)
        raise
    return submission


def remove_upload_leftovers(session: Session, *, store: ObjectStore, tmp_dir: Path,
                            older_than_seconds: float = 600) -> int:
    """Delete what uploads cut short by a crash left: temporary files, and stored zips with no submission row.

    A temporary file is locked by the process receiving it, so one whose lock nobody holds is a leftover of a
    killed process, whatever its age. Stored zips, which replicas share, go only when older than
    ``older_than_seconds``, so uploads in flight on other replicas are safe.
    """
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in tmp_dir.glob(f"*{UPLOAD_SUFFIX}"):
        if not in_use(path):
            path.unlink(missing_ok=True)
            removed += 1
    known = set(session.scalars(select(Submission.zip_key)))
    for key in store.keys("submissions/"):
        if key not in known and store.modified(key) < cutoff:
            store.delete(key)
            removed += 1
    return removed


def get_submission(session: Session, submission_id: str) -> Submission | None:
    return session.get(Submission, submission_id)


def cancel(session: Session, submission: Submission) -> None:
    for job in submission.jobs:
        if job.status in ("queued", "running"):
            job.status, job.finished_at, job.lease_token = "cancelled", utcnow(), None
            job.message = "cancelled by the owner"
    refresh_status(session, submission)
    session.commit()


def update_visibility(session: Session, submission: Submission, *, public: bool | None,
                      hidden: bool | None) -> Submission:
    """Set what is given; who may set which is the caller's check."""
    if hidden is not None:
        submission.hidden = hidden
    if public is not None:
        submission.public = public
    session.commit()
    return submission


def rescore(session: Session, submission: Submission) -> Submission:
    """Drop the scores and queue every job again with fresh attempts (e.g. after a scorer fix)."""
    session.execute(delete(ScoreRow).where(ScoreRow.submission_id == submission.id))
    now = utcnow()
    for job in submission.jobs:
        job.status, job.attempts, job.not_before = "queued", 0, now
        job.lease_token = job.lease_owner = job.lease_expires_at = None
        job.started_at = job.finished_at = job.message = job.error_kind = None
        job.log = "[platform] queued again for a rescore by an admin\n"
    # refresh_status never moves a status backwards; a rescore is the one deliberate restart.
    submission.status = "queued"
    if submission.callback_url:
        submission.webhook_state, submission.webhook_attempts, submission.webhook_next_at = "pending", 0, now
    session.commit()
    return submission


def logs_of(submission: Submission) -> LogsPublic:
    parts = [f"===== {job.model} on {job.benchmark} v{job.benchmark_version}: {job.status} =====\n{job.log}"
             for job in submission.jobs]
    return LogsPublic(submission_id=submission.id, log="\n".join(parts))


def refresh_status(session: Session, submission: Submission) -> None:
    """Derive the submission's status from its jobs; it never moves backwards."""
    statuses = [job.status for job in submission.jobs]
    if statuses and all(status in TERMINAL_JOB_STATUSES for status in statuses):
        if "succeeded" in statuses:
            status = "completed"
        elif all(status == "cancelled" for status in statuses):
            status = "cancelled"
        else:
            status = "failed"
    elif any(status != "queued" for status in statuses):
        status = "running"
    else:
        status = "queued"
    if STATUS_ORDER[status] >= STATUS_ORDER[submission.status]:
        submission.status = status


# Each job of a submission with its score (at most one: uq_score), in one query rather than two. Built once:
# building it and its cache key on every call took about a third of a poll's time in the database layer.
_JOINED = and_(ScoreRow.submission_id == Job.submission_id, ScoreRow.model == Job.model,
               ScoreRow.benchmark == Job.benchmark, ScoreRow.benchmark_version == Job.benchmark_version)
JOBS_WITH_SCORES = (select(Job, ScoreRow).outerjoin(ScoreRow, _JOINED)
                    .where(Job.submission_id == bindparam("submission_id")).order_by(Job.id)
                    .offset(bindparam("offset")).limit(bindparam("limit")))
# What the aggregate needs of every job, whatever the page: a few columns, no ORM objects.
AGGREGATE_LEAVES = (select(Job.model, Job.benchmark, Job.region, Job.kind, ScoreRow.ceiled).outerjoin(ScoreRow, _JOINED)
                    .where(Job.submission_id == bindparam("submission_id"), Job.leaderboard.is_(True))
                    .order_by(Job.id))
JOB_COUNT = select(func.count(Job.id)).where(Job.submission_id == bindparam("submission_id"))


def scores_of(session: Session, submission: Submission, *, with_provenance: bool = True, offset: int = 0,
              limit: int | None = None) -> ScoresPublic:
    """One page of the submission's score entries, in job order, and the aggregate of all its models.

    Linear in the number of jobs: the aggregate groups the leaves by model in one pass.
    """
    params = {"submission_id": submission.id}
    total = session.scalar(JOB_COUNT, params)
    page = limit if limit is not None else max(total - offset, 0)
    jobs_and_rows = session.execute(JOBS_WITH_SCORES, {**params, "offset": offset, "limit": page}).all() if page else []
    entries = []
    for job, row in jobs_and_rows:
        score = {} if row is None else row.score().model_dump(exclude=None if with_provenance else {"provenance"})
        entries.append(ScoreEntry.model_validate({
            **score, "model": job.model, "benchmark": job.benchmark, "benchmark_version": job.benchmark_version,
            "region": job.region, "status": job.status, "message": job.message, "attempts": job.attempts,
            "started_at": job.started_at, "finished_at": job.finished_at,
        }))
    leaves: dict[str, list[dict]] = {}
    for model, benchmark, region, kind, ceiled in session.execute(AGGREGATE_LEAVES, params):
        leaves.setdefault(model, []).append({"benchmark": benchmark, "region": region, "kind": kind, "value": ceiled})
    aggregate = {model: aggregate_model(leaves[model]) for model in submission.models if model in leaves}
    end = offset + len(entries)
    return ScoresPublic(submission_id=submission.id, status=submission.status, scores=entries, aggregate=aggregate,
                        total=total, next_offset=end if end < total and entries else None)
