"""Resource usage per job, as the scorer reports it, for the owner's page and /metrics."""
from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from cortexscore.jobs import JobUsage

from submission_api.core.models import Job


def record_usage(job: Job, usage: JobUsage | None) -> None:
    """Keep what the scorer measured of the job's attempt (nothing when it sent nothing)."""
    if usage is None:
        return
    job.wall_seconds, job.cpu_seconds = usage.wall_seconds, usage.cpu_seconds
    job.peak_memory_bytes, job.cache_hit = usage.peak_memory_bytes, usage.cache_hit
    measured = {name: value for name, value in (("layer_count", usage.layer_count),
                                                ("activation_sizes", usage.activation_sizes),
                                                ("parameter_count", usage.parameter_count)) if value is not None}
    if measured:
        # The model card gains what the scorer measured; the submitter's own fields stay as they were.
        cards = dict(job.submission.model_cards or {})
        cards[job.model] = {**measured, **(cards.get(job.model) or {})}
        job.submission.model_cards = cards


def usage_totals(session: Session) -> dict[str, float]:
    """For /metrics: totals over every job that reported its usage."""
    row = session.execute(select(
        func.count(Job.cpu_seconds), func.coalesce(func.sum(Job.cpu_seconds), 0),
        func.coalesce(func.sum(Job.wall_seconds), 0), func.coalesce(func.max(Job.peak_memory_bytes), 0),
        func.coalesce(func.sum(case((Job.cache_hit.is_(True), 1), else_=0)), 0),
        func.coalesce(func.sum(case((Job.cache_hit.is_(False), 1), else_=0)), 0),
        func.coalesce(func.sum(Job.attempts), 0))).one()
    return dict(zip(("jobs_measured", "cpu_seconds", "wall_seconds", "peak_memory_bytes_max", "cache_hits",
                     "cache_misses", "attempts"), (float(value) for value in row)))


def job_usage(session: Session, submission_id: str) -> list[dict]:
    jobs = session.scalars(select(Job).where(Job.submission_id == submission_id).order_by(Job.id)).all()
    return [{"id": job.id, "model": job.model, "benchmark": job.benchmark, "status": job.status,
             "attempts": job.attempts, **{name: getattr(job, name) for name in ("wall_seconds", "cpu_seconds", "peak_memory_bytes",
                                                        "cache_hit")}}
            for job in jobs]
