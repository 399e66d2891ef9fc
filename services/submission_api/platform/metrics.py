"""The API's own metrics: queue depth (read at scrape time), job durations by benchmark, failures by kind."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import func, select

from cortexscore.observability import JOB_DURATION, JOB_FAILURES, GaugeCollector, instrument

from submission_api.core.models import Job, utcnow

_JOB_REPORT = re.compile(r"^/internal/jobs/(\d+)/(complete|fail)$")


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def install_metrics(app) -> None:
    """``/metrics``, request IDs and timings for the API; call once the app has its sessionmaker."""
    factory = app.state.sessionmaker

    def queue_depth() -> dict[str, float]:
        with factory() as session:
            counts = dict(session.execute(select(Job.status, func.count()).where(
                Job.status.in_(("queued", "running"))).group_by(Job.status)).all())
        return {"queued": counts.get("queued", 0), "running": counts.get("running", 0)}

    def job_reported(method: str, path: str, status: int) -> None:
        match = _JOB_REPORT.match(path)
        if method != "POST" or status != 200 or match is None:
            return
        with factory() as session:
            job = session.get(Job, int(match.group(1)))
            if job is None or job.started_at is None:
                return
            seconds = (_utc(job.finished_at or utcnow()) - _utc(job.started_at)).total_seconds()
            if match.group(2) == "complete":
                JOB_DURATION.labels(job.benchmark, "succeeded").observe(seconds)
                return
            # A platform error with attempts left puts the job back in the queue without an error kind.
            JOB_FAILURES.labels(job.error_kind or "platform_retried").inc()
            JOB_DURATION.labels(job.benchmark, "failed" if job.status == "failed" else "retried").observe(seconds)

    def job_usage() -> dict[str, float]:
        from submission_api.queue.usage import usage_totals
        with factory() as session:
            return usage_totals(session)

    instrument(app, "submission_api", upload_paths=("/submissions",), on_response=job_reported,
               collectors=[GaugeCollector("cortexscore_queue_depth", "Jobs waiting or running, by status.",
                                          "status", queue_depth),
                           GaugeCollector("cortexscore_job_usage", "Resource usage the scorers reported, over all "
                                          "jobs: CPU and wall seconds, the largest peak memory, activations-cache "
                                          "hits and misses, attempts.", "measure", job_usage)])
