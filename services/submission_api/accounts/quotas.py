"""Per-user quotas: uploads per day and jobs in flight.

An upload counts against the daily quota unless each of its jobs was
cancelled or failed for a platform reason: neither is the user's doing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, func, not_, or_, select
from sqlalchemy.orm import Session

from submission_api.core.models import Job, Submission, utcnow

DAY = timedelta(days=1)
CONCURRENT_RETRY_SECONDS = 60


@dataclass
class QuotaExceeded(Exception):
    message: str
    retry_after: int


def _excused_job():
    return or_(Job.status == "cancelled", and_(Job.status == "failed", Job.error_kind == "platform"))


def uploads_counted(session: Session, user_id: int, since) -> list:
    """Creation times of the user's uploads since ``since`` that count against the daily quota, oldest first."""
    has_counted_job = select(Job.id).where(Job.submission_id == Submission.id, not_(_excused_job())).exists()
    return list(session.scalars(
        select(Submission.created_at).where(Submission.owner_id == user_id, Submission.created_at >= since,
                                            has_counted_job).order_by(Submission.created_at)))


def check_quota(session: Session, *, user_id: int, uploads_per_day: int, concurrent_jobs: int,
                new_jobs: int = 0) -> None:
    """Raise QuotaExceeded, with the seconds until a retry can succeed, when the user is over either quota; with
    ``new_jobs``, when the jobs in flight and those of the upload together would pass the concurrent quota."""
    now = utcnow()
    recent = uploads_counted(session, user_id, now - DAY)
    if len(recent) >= uploads_per_day:
        oldest = recent[len(recent) - uploads_per_day]
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
        wait = max(1, int((oldest + DAY - now).total_seconds()) + 1)
        raise QuotaExceeded(f"you have made {len(recent)} uploads in the last 24 hours, the daily quota is "
                            f"{uploads_per_day}; try again in {wait} s", wait)
    in_flight = session.scalar(select(func.count(Job.id)).join(Submission).where(
        Submission.owner_id == user_id, Job.status.in_(("queued", "running"))))
    if in_flight >= concurrent_jobs or (new_jobs and in_flight + new_jobs > concurrent_jobs):
        raise QuotaExceeded(f"you have {in_flight} jobs queued or running"
                            + (f" and this upload makes {new_jobs} more" if new_jobs else "")
                            + f", the quota is {concurrent_jobs}; wait for some to finish or cancel a submission",
                            CONCURRENT_RETRY_SECONDS)
