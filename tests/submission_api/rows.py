"""Database rows written as the queue writes them, for the service tests of several domains."""
import secrets

from submission_api.core.models import Job, ScoreRow, Submission, utcnow

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
