"""Admin actions on a submission: hide it from everyone else, or score it again from scratch."""
from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from submission_api.core.models import ScoreRow, Submission, utcnow


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
