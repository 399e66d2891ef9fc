"""A benchmark's page (its spec, scores, histogram and correlations) and model comparisons, from the board."""
from __future__ import annotations

import math
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from submission_api.core.models import Job, ScoreRow, Submission
from submission_api.leaderboard.service import _visible, cached, full_board
from submission_api.platform.catalogue import CatalogueUnavailable

HISTOGRAM_BINS = 10
THUMBNAILS = 12


def pearson(xs: list[float], ys: list[float]) -> float | None:
    """>>> round(pearson([1, 2, 3], [2, 4, 7]), 3)
    0.993
    """
    if len(xs) < 2:
        return None
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys))
    sxx, syy = sum((x - mean_x) ** 2 for x in xs), sum((y - mean_y) ** 2 for y in ys)
    return None if sxx == 0 or syy == 0 else sxy / math.sqrt(sxx * syy)


def histogram(values: list[float], bins: int = HISTOGRAM_BINS) -> list[dict]:
    low, high = min([0.0, *values]), max([1.0, *values])
    width = (high - low) / bins
    counts = Counter(min(int((value - low) / width), bins - 1) for value in values)
    return [{"low": low + index * width, "high": low + (index + 1) * width, "count": counts.get(index, 0)}
            for index in range(bins)]


def correlations(board: dict, identifier: str) -> list[dict]:
    result = []
    for column in board["benchmarks"]:
        other = column["identifier"]
        if other == identifier:
            continue
        pairs = [(row["benchmarks"][identifier]["score"], row["benchmarks"][other]["score"])
                 for row in board["models"]
                 if identifier in row["benchmarks"] and other in row["benchmarks"]
                 and row["benchmarks"][identifier]["score"] is not None
                 and row["benchmarks"][other]["score"] is not None]
        result.append({"benchmark": other, "r": pearson([x for x, _ in pairs], [y for _, y in pairs]),
                       "models": len(pairs)})
    return result


def _versions(session: Session, identifier: str) -> list[dict]:
    counts = Counter(session.scalars(select(Job.benchmark_version).join(Submission).where(
        _visible(), Job.benchmark == identifier, Job.status == "succeeded")))
    return [{"version": version, "models": count} for version, count in sorted(counts.items())]


def benchmark_detail(session: Session, catalogue, identifier: str) -> dict | None:
    board = full_board(session)
    column = next((column for column in board["benchmarks"] if column["identifier"] == identifier), None)
    try:
        spec = next((spec for spec in catalogue.all() if spec.identifier == identifier), None)
    except CatalogueUnavailable:
        spec = None
    if spec is None and column is None:
        return None

    def build() -> dict:
        scores = [row["benchmarks"][identifier]["score"] for row in board["models"]
                  if identifier in row["benchmarks"] and row["benchmarks"][identifier]["score"] is not None]
        public = spec.public if spec else True
        stimuli_access = spec.stimulus_set.access if spec else "public"
        thumbnails = []
        if spec is not None and public and stimuli_access == "public":
            thumbnails = [{"stimulus_id": str(index), "url": f"/benchmarks/{identifier}/stimuli/{index}.png"}
                          for index in range(min(THUMBNAILS, spec.num_stimuli))]
        return {
            "identifier": identifier,
            "version": spec.version if spec else column["version"],
            "region": spec.region if spec else column["region"],
            "kind": spec.kind if spec else column["kind"],
            "species": (spec.source.get("species") if spec else None) or (
                "macaque" if (spec.kind if spec else column["kind"]) == "neural" else None),
            "metric": spec.metric if spec else "",
            "ceiling": spec.ceiling.value if spec and spec.ceiling else None,
            "ceiling_error": spec.ceiling.error if spec and spec.ceiling else None,
            "citation": spec.citation if spec else "",
            "public": public,
            "stimuli_access": stimuli_access,
            "assembly_access": spec.assembly.access if spec else "public",
            "num_stimuli": spec.num_stimuli if spec else 0,
            "versions": _versions(session, identifier),
            "scores": sorted(scores),
            "histogram": histogram(scores),
            "correlations": correlations(board, identifier),
            "thumbnails": thumbnails,
        }

    return cached(session, ("benchmark", identifier, spec.model_dump_json() if spec else None), build)


def _find(board: dict, name: str) -> dict | None:
    submission_id, _, model = name.rpartition("/")
    for row in board["models"]:
        if row["model"] == model and (not submission_id or row["submission_id"] == submission_id):
            return row
    return None


def compare_models(session: Session, names: list[str]) -> tuple[dict, list[str]]:
    board = full_board(session)
    rows = {name: _find(board, name) for name in names}
    missing = [name for name, row in rows.items() if row is None]
    if missing:
        return {}, missing
    found = list(rows.values())
    layer_scores: dict[tuple[str, str], dict] = {}
    for score in session.execute(select(ScoreRow.submission_id, ScoreRow.model, ScoreRow.benchmark,
                                        ScoreRow.provenance).where(
            ScoreRow.submission_id.in_([row["submission_id"] for row in found]))):
        layer_scores[(score.submission_id, score.model, score.benchmark)] = (
            (score.provenance or {}).get("layer_scores") or {})
    used = {name for row in found for name in row["benchmarks"]}
    models = [{"model": row["model"], "submission_id": row["submission_id"], "aggregate": row["aggregate"],
               "benchmarks": row["benchmarks"],
               "layer_scores": {benchmark: layer_scores.get((row["submission_id"], row["model"], benchmark), {})
                                for benchmark in row["benchmarks"]}} for row in found]
    return {"benchmarks": [column for column in board["benchmarks"] if column["identifier"] in used],
            "models": models}, []
