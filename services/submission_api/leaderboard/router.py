"""The leaderboard: JSON at /leaderboard, the web page at /, and a page per model with its layer plots."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from submission_api.core.dependencies import SessionDep
from submission_api.leaderboard.dependencies import ListedModel
from submission_api.leaderboard.pages import TEMPLATES, layer_plot
from submission_api.leaderboard.schemas import LeaderboardPublic
from submission_api.leaderboard.service import AGGREGATE_COLUMNS, leaderboard

router = APIRouter(tags=["leaderboard"])


@router.get("/leaderboard", response_model=LeaderboardPublic)
def read_leaderboard(session: SessionDep) -> dict:
    """Every public model's aggregates and benchmark scores, ranked by average."""
    return leaderboard(session)


@router.get("/leaderboard/{submission_id}/{model}")
def read_leaderboard_model(entry: ListedModel) -> dict:
    return entry


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def leaderboard_page(request: Request, session: SessionDep) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "leaderboard.html", {"board": leaderboard(session)})


@router.get("/models/{submission_id}/{model}", response_class=HTMLResponse, include_in_schema=False)
def model_page(request: Request, entry: ListedModel) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "model.html",
                                      {"entry": entry, "aggregate_columns": AGGREGATE_COLUMNS})


@router.get("/models/{submission_id}/{model}/{benchmark}/layers.svg", include_in_schema=False)
def layer_plot_svg(benchmark: str, entry: ListedModel) -> Response:
    cell = next((cell for cell in entry["benchmarks"] if cell["benchmark"] == benchmark and cell["layer_scores"]),
                None)
    if cell is None:
        raise HTTPException(404, f"no per-layer scores of {entry['model']!r} on {benchmark!r}")
    return Response(str(layer_plot(cell)), media_type="image/svg+xml")
