"""The leaderboard: JSON at /leaderboard, the web page at /, and a page per model with its layer plots.

Pages are rendered on the server and work without JavaScript; one small
script, served from /static like every other asset, adds column sorting.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from submission_api.core.dependencies import SessionDep
from submission_api.leaderboard.plots import layer_score_svg
from submission_api.leaderboard.service import AGGREGATE_COLUMNS, leaderboard, model_entry

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
STATIC_DIR = Path(__file__).resolve().parent / "static"
router = APIRouter(tags=["leaderboard"])


def score_colour(value: float) -> str:
    """Red (0) through yellow to green (1), light enough for black text."""
    return f"hsl({120 * min(max(value, 0.0), 1.0):.0f}, 70%, 78%)"


def number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def score_cell(value: float | None, status: str | None = None) -> Markup:
    if value is None:
        label, css = ("failed", "missing failed") if status == "failed" else ("—", "missing")
        return Markup('<td class="{}" data-value="">{}</td>').format(css, label)
    return Markup('<td class="score" data-value="{:.6f}" style="background:{}">{:.3f}</td>').format(
        value, score_colour(value), value)


def layer_plot(cell: dict) -> Markup:
    return Markup(layer_score_svg(cell["layer_scores"], cell["layer"], f"{cell['benchmark']} ({cell['region']})"))


TEMPLATES.env.globals.update(score_cell=score_cell, number=number, layer_plot=layer_plot)


def _entry_or_404(session, submission_id: str, model: str) -> dict:
    entry = model_entry(session, submission_id, model)
    if entry is None:
        raise HTTPException(404, f"no public model {model!r} in submission {submission_id!r}")
    return entry


@router.get("/leaderboard")
def read_leaderboard(session: SessionDep) -> dict:
    """Every public model's aggregates and benchmark scores, ranked by average."""
    return leaderboard(session)


@router.get("/leaderboard/{submission_id}/{model}")
def read_leaderboard_model(submission_id: str, model: str, session: SessionDep) -> dict:
    return _entry_or_404(session, submission_id, model)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def leaderboard_page(request: Request, session: SessionDep) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "leaderboard.html", {"board": leaderboard(session)})


@router.get("/models/{submission_id}/{model}", response_class=HTMLResponse, include_in_schema=False)
def model_page(request: Request, submission_id: str, model: str, session: SessionDep) -> HTMLResponse:
    entry = _entry_or_404(session, submission_id, model)
    return TEMPLATES.TemplateResponse(request, "model.html",
                                      {"entry": entry, "aggregate_columns": AGGREGATE_COLUMNS})


@router.get("/models/{submission_id}/{model}/{benchmark}/layers.svg", include_in_schema=False)
def layer_plot_svg(submission_id: str, model: str, benchmark: str, session: SessionDep) -> Response:
    entry = _entry_or_404(session, submission_id, model)
    cell = next((cell for cell in entry["benchmarks"] if cell["benchmark"] == benchmark and cell["layer_scores"]),
                None)
    if cell is None:
        raise HTTPException(404, f"no per-layer scores of {model!r} on {benchmark!r}")
    return Response(str(layer_plot(cell)), media_type="image/svg+xml")
