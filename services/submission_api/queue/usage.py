"""Resource usage per job, as the scorer reports it, for the owner's page and /metrics."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from submission_api.core.models import Job


def job_usage(session: Session, submission_id: str) -> list[dict]:
    jobs = session.scalars(select(Job).where(Job.submission_id == submission_id).order_by(Job.id)).all()
    return [{"id": job.id, "model": job.model, "benchmark": job.benchmark, "status": job.status,
             "attempts": job.attempts, "wall_seconds": (job.finished_at - job.started_at).total_seconds()
             if job.finished_at and job.started_at else None,
             **{name: getattr(job, name, None) for name in ("cpu_seconds", "peak_memory_bytes", "cache_hit")}}
            for job in jobs]
