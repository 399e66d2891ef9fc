"""The leaderboard: one row per model of each public, visible, completed submission.

A signed-in owner (``owner_id``) also sees the models of their own private submissions, each row marked
``public: false``; nobody else does. A row is marked ``reference`` when the reserved ``reference`` account
submitted it (``cortexscore seed-leaderboard``, ``make seed``).

Only leaderboard benchmarks count (synthetic ones never do). A row's
aggregates follow :func:`cortexscore.aggregation.aggregate_model`: a failed
benchmark counts as 0 beside scored siblings, a region with nothing scored is
missing. Cell values are ceiled scores clipped to [0, 1] (engineering
benchmarks: raw values), and the unclipped numbers travel with them.

A *view* (:class:`View`) narrows and re-weights the board: a name search,
model-card filters, a benchmark subset and per-benchmark weights; the page's
script applies the same rules in the browser (static/leaderboard.js).
The board is built with plain column queries and cached until the scores or
the visible submissions change, so the page and JSON stay fast with thousands
of models.
"""
from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from cortexscore.aggregation import aggregate_model
from cortexscore.score import ScoreNumbers

from submission_api.accounts.service import REFERENCE_NAME
from submission_api.core.models import Job, ScoreHistory, ScoreRow, Submission, User
from submission_api.leaderboard import history  # noqa: F401  (registers the score-history writer)

AGGREGATE_COLUMNS = ("average", "neural", "V1", "V2", "V4", "IT", "behavior")
REGIONS = ("V1", "V2", "V4", "IT")
REGION_ORDER = {region: index for index, region in enumerate(REGIONS)}
CARD_FILTERS = ("architecture", "family", "training_data", "licence")
CELL_NUMBERS = tuple(ScoreNumbers.model_fields)


@dataclass(frozen=True)
class View:
    """What the user chose: every field is a query parameter of /, /leaderboard and /leaderboard.csv."""

    q: str = ""
    benchmarks: tuple[str, ...] | None = None
    weights: tuple[tuple[str, float], ...] = ()
    filters: tuple[tuple[str, str], ...] = ()
    params_min: float | None = None
    params_max: float | None = None
    # True: only the reference account's models; False: only the others'; None: all.
    reference: bool | None = None

    @property
    def reweighted(self) -> bool:
        return self.benchmarks is not None or any(weight != 1.0 for _, weight in self.weights)

    def weight(self, benchmark: str) -> float:
        return dict(self.weights).get(benchmark, 1.0)


def parse_weights(text: str | None) -> tuple[tuple[str, float], ...]:
    """``"A:2,B:0.5"`` -> ``(("A", 2.0), ("B", 0.5))``; malformed or negative entries raise ValueError.

    >>> parse_weights("Bench.V1:2,Bench.IT:0.5")
    (('Bench.V1', 2.0), ('Bench.IT', 0.5))
    """
    pairs = []
    for item in filter(None, (text or "").split(",")):
        name, _, value = item.rpartition(":")
        weight = float(value)
        if not name or not weight >= 0 or weight == float("inf"):
            raise ValueError(f"weight {item!r} is not 'benchmark:number' with a number >= 0")
        pairs.append((name, weight))
    return tuple(pairs)


def _display_value(kind: str, ceiled: float | None, raw: float | None) -> float | None:
    if kind == "engineering":
        return raw
    return None if ceiled is None else min(max(ceiled, 0.0), 1.0)


def _cell(job, row) -> dict:
    numbers = {name: getattr(row, name, None) for name in CELL_NUMBERS}
    return {"benchmark": job.benchmark, "version": job.benchmark_version, "region": job.region, "kind": job.kind,
            "status": job.status, "score": _display_value(job.kind, numbers["ceiled"], numbers["raw"]),
            **numbers, "layer": getattr(row, "layer", None), "message": job.message}


def _leaves(cells: list[dict]) -> list[dict]:
    return [{"benchmark": cell["benchmark"], "region": cell["region"], "kind": cell["kind"],
             "value": cell["ceiled"] if cell["kind"] != "engineering" else cell["raw"]} for cell in cells]


def _visible(owner_id: int | None = None):
    """Completed, unhidden submissions that are public, or (for a signed-in owner) their own."""
    shown = Submission.public.is_(True) if owner_id is None else or_(Submission.public.is_(True),
                                                                     Submission.owner_id == owner_id)
    return and_(shown, Submission.hidden.is_(False), Submission.status == "completed")


def _visible_submissions(session: Session, owner_id: int | None = None):
    return select(Submission).where(_visible(owner_id))


def _is_reference(session: Session, owner_id: int | None) -> bool:
    return owner_id is not None and session.scalar(select(User.name).where(User.id == owner_id)) == REFERENCE_NAME


def _benchmark_sort_key(column: dict) -> tuple:
    kind_order = {"neural": 0, "behavior": 1, "engineering": 2}.get(column["kind"], 3)
    return kind_order, REGION_ORDER.get(column["region"], 9), column["identifier"]


def node_of(kind: str, region: str | None) -> str:
    """The aggregate a benchmark feeds: its region, ``behavior`` or ``engineering``."""
    return "behavior" if kind == "behavior" else "engineering" if kind == "engineering" else (region or "neural")


def weighted_aggregate(cells: dict[str, dict], columns: list[dict], view: View) -> dict[str, float]:
    """The hierarchical mean over the view's benchmarks, each leaf weighted by the view's weight.

    A parent is the weighted mean of its children; a child node weighs the mean weight of the chosen
    benchmarks under it (1 when none), so equal weights give :func:`aggregate_model`'s numbers. A failed
    or missing child counts as 0 beside siblings with a number, as there.
    """
    chosen = [column for column in columns if view.benchmarks is None or column["identifier"] in view.benchmarks]
    node_weights: dict[str, list[float]] = defaultdict(list)
    for column in chosen:
        node = node_of(column["kind"], column["region"])
        weight = view.weight(column["identifier"])
        node_weights[node].append(weight)
        if node in REGIONS:
            node_weights["neural"].append(weight)

    def mean_weight(node: str) -> float:
        weights = node_weights.get(node)
        return sum(weights) / len(weights) if weights else 1.0

    def combine(pairs: list[tuple[float | None, float]]) -> float | None:
        if all(value is None for value, _ in pairs):
            return None
        total = sum(weight for _, weight in pairs)
        return None if total == 0 else sum((value or 0.0) * weight for value, weight in pairs) / total

    groups: dict[str, list[tuple[float | None, float]]] = defaultdict(list)
    for column in chosen:
        cell = cells.get(column["identifier"])
        if cell is None:
            continue
        value = cell["ceiled"] if cell["kind"] != "engineering" else cell["raw"]
        if value is not None and cell["kind"] != "engineering":
            value = min(max(value, 0.0), 1.0)
        groups[node_of(cell["kind"], cell["region"])].append((value, view.weight(column["identifier"])))
    nodes = {node: combine(pairs) for node, pairs in groups.items()}
    nodes["neural"] = combine([(nodes.get(region), mean_weight(region)) for region in REGIONS])
    nodes["average"] = combine([(nodes.get("neural"), mean_weight("neural")),
                                (nodes.get("behavior"), mean_weight("behavior"))])
    return {node: value for node, value in nodes.items() if value is not None}


# ---------------------------------------------------------------- the board, cached


_cache: OrderedDict[tuple, dict] = OrderedDict()
_cache_lock = threading.Lock()
CACHE_ENTRIES = 16


def _fingerprint(session: Session, owner_id: int | None = None) -> tuple:
    """Changes whenever a score is written or removed, a job fails, or the submissions visible (to the owner) change."""
    visible = select(func.count(), func.max(Submission.id), func.max(Submission.created_at)).where(_visible(owner_id))
    return (str(session.get_bind().engine.url), *session.execute(select(
        select(func.max(ScoreRow.id)).scalar_subquery(),
        select(func.count()).select_from(ScoreRow).scalar_subquery(),
        select(func.max(ScoreHistory.id)).scalar_subquery(),
        select(func.count()).where(Job.status == "failed").scalar_subquery(),
    )).one(), *session.execute(visible).one())


def cached(session: Session, key: tuple, build, *, owner_id: int | None = None):
    """``build()``, remembered until :func:`_fingerprint` changes; an owner's boards apart from the public one."""
    full_key = (_fingerprint(session, owner_id), owner_id, *key)
    with _cache_lock:
        if full_key in _cache:
            _cache.move_to_end(full_key)
            return _cache[full_key]
    value = build()
    with _cache_lock:
        _cache[full_key] = value
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)
    return value


def _build_board(session: Session, as_of: datetime | None, owner_id: int | None = None) -> dict:
    visible = _visible(owner_id)
    submission_query = (select(Submission.id, Submission.created_at, Submission.model_cards, Submission.public,
                               (User.name == REFERENCE_NAME).label("reference"))
                        .outerjoin(User, User.id == Submission.owner_id).where(visible))
    if as_of is not None:
        submission_query = submission_query.where(Submission.created_at <= as_of)
    submissions = {row.id: row for row in session.execute(submission_query.order_by(Submission.created_at))}
    jobs = session.execute(
        select(Job.id, Job.submission_id, Job.model, Job.benchmark, Job.benchmark_version, Job.region, Job.kind,
               Job.status, Job.message, Job.finished_at)
        .join(Submission, Submission.id == Job.submission_id).where(visible, Job.leaderboard.is_(True))
        .order_by(Job.id)).all()
    if as_of is None:
        scores = {row.job_id: row for row in session.execute(
            select(ScoreRow.job_id, ScoreRow.benchmark_version, *(getattr(ScoreRow, name) for name in CELL_NUMBERS),
                   ScoreRow.layer).join(Submission, Submission.id == ScoreRow.submission_id).where(visible))}
    else:
        scores = {}
        for row in session.execute(
                select(ScoreHistory.job_id, ScoreHistory.benchmark_version, ScoreHistory.raw, ScoreHistory.ceiling,
                       ScoreHistory.ceiled, ScoreHistory.error)
                .join(Submission, Submission.id == ScoreHistory.submission_id)
                .where(visible, ScoreHistory.recorded_at <= as_of)
                .order_by(ScoreHistory.recorded_at, ScoreHistory.id)):
            scores[row.job_id] = row  # the latest score of each job at that date
    cells: dict[tuple[str, str], list[dict]] = defaultdict(list)
    columns: dict[str, dict] = {}
    for job in jobs:
        if job.submission_id not in submissions:
            continue
        row = scores.get(job.id)
        if as_of is not None:
            if row is not None:
                job = SimpleNamespace(**{**job._mapping, "status": "succeeded", "message": None,
                                         "benchmark_version": row.benchmark_version})
            elif job.status == "failed" and job.finished_at is not None and job.finished_at <= as_of:
                pass
            else:
                continue
        cells[(job.submission_id, job.model)].append(_cell(job, row))
        columns[job.benchmark] = {"identifier": job.benchmark, "version": max(
            job.benchmark_version, columns.get(job.benchmark, {}).get("version", 0)), "region": job.region,
            "kind": job.kind}
    rows = []
    for (submission_id, model), model_cells in cells.items():
        submission = submissions[submission_id]
        rows.append({"model": model, "submission_id": submission_id, "submitted_at": submission.created_at,
                     "public": bool(submission.public), "reference": bool(submission.reference),
                     "metadata": (submission.model_cards or {}).get(model) or {},
                     "aggregate": aggregate_model(_leaves(model_cells)),
                     "benchmarks": {cell["benchmark"]: cell for cell in model_cells}})
    _rank(rows)
    return {"aggregate_columns": list(AGGREGATE_COLUMNS), "as_of": as_of,
            "benchmarks": sorted(columns.values(), key=_benchmark_sort_key), "models": rows}


def _rank(rows: list[dict]) -> None:
    rows.sort(key=lambda row: (row["aggregate"].get("average") is None, -row["aggregate"].get("average", 0.0),
                               row["model"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank


def full_board(session: Session, as_of: datetime | None = None, owner_id: int | None = None) -> dict:
    """Every visible model (with ``owner_id``, also that owner's private ones) on every leaderboard benchmark,
    with the default (equal-weight) aggregates."""
    return cached(session, ("board", as_of), lambda: _build_board(session, as_of, owner_id), owner_id=owner_id)


def matches(row: dict, view: View) -> bool:
    if view.q and view.q.lower() not in row["model"].lower():
        return False
    if view.reference is not None and row["reference"] != view.reference:
        return False
    card = row["metadata"]
    for name, wanted in view.filters:
        if str(card.get(name, "")).lower() != wanted.lower():
            return False
    count = card.get("parameter_count")
    if view.params_min is not None and (count is None or count < view.params_min):
        return False
    if view.params_max is not None and (count is None or count > view.params_max):
        return False
    return True


def apply_view(board: dict, view: View) -> dict:
    """The board narrowed to the view's models and benchmarks, re-aggregated with its weights and ranked."""
    columns = [column for column in board["benchmarks"]
               if view.benchmarks is None or column["identifier"] in view.benchmarks]
    rows = []
    for row in board["models"]:
        if not matches(row, view):
            continue
        if view.reweighted:
            row = {**row, "aggregate": weighted_aggregate(row["benchmarks"], board["benchmarks"], view),
                   "benchmarks": {name: cell for name, cell in row["benchmarks"].items()
                                  if view.benchmarks is None or name in view.benchmarks}}
        else:
            row = dict(row)
        rows.append(row)
    _rank(rows)
    return {**board, "benchmarks": columns, "models": rows}


def leaderboard(session: Session, view: View | None = None, as_of: datetime | None = None,
                owner_id: int | None = None) -> dict:
    """The leaderboard as JSON: the columns, then the rows ranked by average (unscored last)."""
    board = full_board(session, as_of, owner_id)
    if view is None or view == View():
        return board
    return cached(session, ("view", as_of, view), lambda: apply_view(board, view), owner_id=owner_id)


def card_values(board: dict) -> dict[str, list[str]]:
    """The distinct values of each model-card filter on the board, for the page's filter menus."""
    values: dict[str, set[str]] = defaultdict(set)
    for row in board["models"]:
        for name in CARD_FILTERS:
            if row["metadata"].get(name):
                values[name].add(str(row["metadata"][name]))
    return {name: sorted(values[name]) for name in CARD_FILTERS}


def model_entry(session: Session, submission_id: str, model: str, owner_id: int | None = None) -> dict | None:
    """One model's page: its aggregates, bibtex, and every benchmark's numbers and layer scores; None if not listed
    (to ``owner_id``, who also sees their private models)."""
    submission = session.scalar(_visible_submissions(session, owner_id).where(Submission.id == submission_id))
    if submission is None or model not in submission.models:
        return None
    jobs = [job for job in submission.jobs if job.model == model]
    scores = {row.job_id: row for row in session.scalars(select(ScoreRow).where(
        ScoreRow.submission_id == submission.id))}
    benchmarks, bibtex = [], ""
    for job in jobs:
        row = scores.get(job.id)
        provenance = (row.provenance if row is not None else None) or {}
        bibtex = bibtex or provenance.get("bibtex") or ""
        benchmarks.append({**_cell(job, row), "leaderboard": job.leaderboard,
                           "layer_scores": provenance.get("layer_scores") or {}})
    leaves = _leaves([cell for cell in benchmarks if cell["leaderboard"]])
    return {"model": model, "submission_id": submission.id, "submitted_at": submission.created_at,
            "public": submission.public, "reference": _is_reference(session, submission.owner_id),
            "metadata": (submission.model_cards or {}).get(model) or {},
            "bibtex": bibtex, "aggregate": aggregate_model(leaves) if leaves else {}, "benchmarks": benchmarks}
