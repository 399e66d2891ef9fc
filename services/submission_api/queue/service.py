"""The queue as users see it: order of claim, positions, and estimates from recent durations.

Scorers claim queued jobs by (not_before, id) (jobs/service.claim); positions
follow that order. An ETA is the jobs ahead plus the submission's own, spread
over the scorers at work, times the mean duration of the last finished jobs.
"""
from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from submission_api.core.models import Job, Submission, utcnow

RECENT_JOBS = 50
DEFAULT_JOB_SECONDS = 60.0
LISTED_JOBS = 200


def _aware(moment: datetime | None) -> datetime | None:
    from datetime import timezone
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def mean_job_seconds(session: Session) -> float:
    recent = session.execute(select(Job.started_at, Job.finished_at).where(
        Job.status.in_(("succeeded", "failed")), Job.started_at.is_not(None), Job.finished_at.is_not(None))
        .order_by(Job.finished_at.desc()).limit(RECENT_JOBS)).all()
    durations = [(_aware(end) - _aware(start)).total_seconds() for start, end in recent]
    durations = [seconds for seconds in durations if seconds >= 0]
    return sum(durations) / len(durations) if durations else DEFAULT_JOB_SECONDS


def queue_snapshot(session: Session, submission_id: str | None = None, now: datetime | None = None) -> dict:
    """The queue; ``submission_id`` (which the caller knows, so may see) is always among the submissions."""
    now = now or utcnow()
    rows = session.execute(
        select(Job.submission_id, Job.model, Job.benchmark, Job.status, Job.not_before, Job.created_at,
               Job.started_at, Job.lease_owner, Submission.public, Submission.hidden)
        .join(Submission, Submission.id == Job.submission_id)
        .where(Job.status.in_(("queued", "running"))).order_by(Job.not_before, Job.id)).all()
    running = [row for row in rows if row.status == "running"]
    waiting = [row for row in rows if row.status == "queued"]
    scorers = max(len({row.lease_owner for row in running}), 1)
    mean = mean_job_seconds(session)

    def shown(row) -> bool:
        return bool(row.public and not row.hidden)

    jobs = [{"position": None, "status": "running", "submission_id": row.submission_id if shown(row) else None,
             "model": row.model if shown(row) else None, "benchmark": row.benchmark,
             "queued_at": row.created_at, "started_at": row.started_at} for row in running]
    jobs += [{"position": index, "status": "queued", "submission_id": row.submission_id if shown(row) else None,
              "model": row.model if shown(row) else None, "benchmark": row.benchmark, "queued_at": row.created_at,
              "started_at": None} for index, row in enumerate(waiting, start=1)]
    submissions = {}
    for row in rows:
        if not (shown(row) or row.submission_id == submission_id):
            continue
        entry = submissions.setdefault(row.submission_id, {"submission_id": row.submission_id, "position": None,
                                                           "jobs_ahead": 0, "queued": 0, "running": 0,
                                                           "eta_seconds": 0.0, "_elapsed": []})
        entry[row.status] += 1
        if row.status == "running" and row.started_at is not None:
            entry["_elapsed"].append((now - _aware(row.started_at)).total_seconds())
    for index, row in enumerate(waiting):
        entry = submissions.get(row.submission_id)
        if entry is not None and entry["position"] is None:
            entry["position"], entry["jobs_ahead"] = index + 1, index
    for entry in submissions.values():
        remaining_running = max((mean - min(entry.pop("_elapsed") or [0.0])), 0.0) if entry["running"] else 0.0
        if entry["queued"]:
            # Its last job starts once everything ahead of it and its own earlier jobs have gone through.
            last = [index for index, row in enumerate(waiting) if row.submission_id == entry["submission_id"]][-1]
            waves = math.ceil((last + 1) / scorers)
            entry["eta_seconds"] = round(max(waves * mean, remaining_running), 1)
        else:
            entry["eta_seconds"] = round(remaining_running, 1)
    if submission_id is not None and submission_id not in submissions:
        submissions[submission_id] = {"submission_id": submission_id, "position": None, "jobs_ahead": 0,
                                      "queued": 0, "running": 0, "eta_seconds": 0.0}
    return {"waiting": len(waiting), "running": len(running), "scorers": scorers,
            "mean_job_seconds": round(mean, 2), "jobs": jobs[:LISTED_JOBS], "submissions": list(submissions.values())}


def submission_logs(session: Session, submission_id: str) -> list[tuple[int, str, str, str, str]]:
    """(job id, model, benchmark, status, log) of each of the submission's jobs."""
    return [tuple(row) for row in session.execute(
        select(Job.id, Job.model, Job.benchmark, Job.status, Job.log).where(Job.submission_id == submission_id)
        .order_by(Job.id))]
