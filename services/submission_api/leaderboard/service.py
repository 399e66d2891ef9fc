"""The leaderboard: one row per model of each public, visible, completed submission.

Only leaderboard benchmarks count (synthetic ones never do). A row's
aggregates follow :func:`cortexscore.aggregation.aggregate_model`: a failed
benchmark counts as 0 beside scored siblings, a region with nothing scored is
missing. Cell values are ceiled scores clipped to [0, 1] (engineering
benchmarks: raw values), and the unclipped numbers travel with them.
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from cortexscore.aggregation import aggregate_model

from submission_api.core.models import Job, ScoreRow, Submission

AGGREGATE_COLUMNS = ("average", "neural", "V1", "V2", "V4", "IT", "behavior")
REGION_ORDER = {region: index for index, region in enumerate(("V1", "V2", "V4", "IT"))}


def _display_value(kind: str, row: ScoreRow | None) -> float | None:
    if row is None:
        return None
    if kind == "engineering":
        return row.raw
    return None if row.ceiled is None else min(max(row.ceiled, 0.0), 1.0)


def _cell(job: Job, row: ScoreRow | None) -> dict:
    return {"benchmark": job.benchmark, "version": job.benchmark_version, "region": job.region, "kind": job.kind,
            "status": job.status, "score": _display_value(job.kind, row),
            **{name: getattr(row, name, None) for name in ("raw", "ceiling", "ceiled", "error", "ceiling_error",
                                                            "layer")},
            "message": job.message}


def _leaves(cells: list[dict]) -> list[dict]:
    return [{"benchmark": cell["benchmark"], "region": cell["region"], "kind": cell["kind"],
             "value": cell["ceiled"] if cell["kind"] != "engineering" else cell["raw"]} for cell in cells]


def _visible_submissions(session: Session):
    return select(Submission).where(Submission.public.is_(True), Submission.hidden.is_(False),
                                    Submission.status == "completed")


def _scores_by_job(session: Session, submission_ids: list[str], *, with_provenance: bool) -> dict[int, ScoreRow]:
    if not submission_ids:
        return {}
    query = select(ScoreRow).where(ScoreRow.submission_id.in_(submission_ids))
    return {row.job_id: row for row in session.scalars(
        query if with_provenance else query.options(defer(ScoreRow.provenance)))}


def _benchmark_sort_key(column: dict) -> tuple:
    kind_order = {"neural": 0, "behavior": 1, "engineering": 2}.get(column["kind"], 3)
    return kind_order, REGION_ORDER.get(column["region"], 9), column["identifier"]


def leaderboard(session: Session) -> dict:
    """The leaderboard as JSON: the columns, then the rows ranked by average (unscored last)."""
    submissions = session.scalars(_visible_submissions(session).order_by(Submission.created_at)).all()
    # Logs and provenance are the bulk of these rows and the table needs neither.
    jobs = session.scalars(select(Job).where(Job.submission_id.in_([s.id for s in submissions]),
                                             Job.leaderboard.is_(True)).order_by(Job.id).options(defer(Job.log))).all()
    scores = _scores_by_job(session, [s.id for s in submissions], with_provenance=False)
    cells: dict[tuple[str, str], list[dict]] = defaultdict(list)
    columns: dict[str, dict] = {}
    for job in jobs:
        cells[(job.submission_id, job.model)].append(_cell(job, scores.get(job.id)))
        columns[job.benchmark] = {"identifier": job.benchmark, "version": max(
            job.benchmark_version, columns.get(job.benchmark, {}).get("version", 0)), "region": job.region,
            "kind": job.kind}
    created = {submission.id: submission.created_at for submission in submissions}
    rows = []
    for (submission_id, model), model_cells in cells.items():
        rows.append({"model": model, "submission_id": submission_id, "submitted_at": created[submission_id],
                     "aggregate": aggregate_model(_leaves(model_cells)),
                     "benchmarks": {cell["benchmark"]: cell for cell in model_cells}})
    rows.sort(key=lambda row: (row["aggregate"].get("average") is None, -row["aggregate"].get("average", 0.0),
                               row["model"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return {"aggregate_columns": list(AGGREGATE_COLUMNS),
            "benchmarks": sorted(columns.values(), key=_benchmark_sort_key), "models": rows}


def model_entry(session: Session, submission_id: str, model: str) -> dict | None:
    """One model's page: its aggregates, bibtex, and every benchmark's numbers and layer scores; None if not listed."""
    submission = session.scalar(_visible_submissions(session).where(Submission.id == submission_id))
    if submission is None or model not in submission.models:
        return None
    jobs = [job for job in submission.jobs if job.model == model]
    scores = _scores_by_job(session, [submission.id], with_provenance=True)
    benchmarks, bibtex = [], ""
    for job in jobs:
        row = scores.get(job.id)
        provenance = (row.provenance if row is not None else None) or {}
        bibtex = bibtex or provenance.get("bibtex") or ""
        benchmarks.append({**_cell(job, row), "leaderboard": job.leaderboard,
                           "layer_scores": provenance.get("layer_scores") or {}})
    leaves = _leaves([cell for cell in benchmarks if cell["leaderboard"]])
    return {"model": model, "submission_id": submission.id, "submitted_at": submission.created_at,
            "bibtex": bibtex, "aggregate": aggregate_model(leaves) if leaves else {}, "benchmarks": benchmarks}
