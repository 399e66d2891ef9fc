"""The leaderboard: JSON at /leaderboard (and CSV at /leaderboard.csv), the web page at /, a page per model with
its layer plots, a page per benchmark, and side-by-side comparisons. Every view of the board takes the same query
(:func:`submission_api.leaderboard.dependencies.board_view`)."""
from __future__ import annotations

import gzip

import httpx
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from submission_api.core.dependencies import SessionDep
from submission_api.leaderboard.benchmarks import benchmark_detail, compare_models
from submission_api.leaderboard.dependencies import AsOf, BoardView, ListedModel, ViewerId
from submission_api.leaderboard.export import board_csv
from submission_api.leaderboard.pages import TEMPLATES, layer_plot, render_leaderboard
from submission_api.leaderboard.schemas import BenchmarkDetail, ComparePublic, LeaderboardPublic
from submission_api.leaderboard.service import AGGREGATE_COLUMNS, cached, leaderboard
from submission_api.platform.catalogue import CatalogueUnavailable
from submission_api.platform.dependencies import CatalogueDep

router = APIRouter(tags=["leaderboard"])


def _board_response(request: Request, session, key: tuple, body: bytes | str, media_type: str,
                    headers: dict | None = None, owner_id: int | None = None) -> Response:
    """A board-sized body (megabytes for 1000 models), gzipped once per board state for clients that accept it."""
    data = body.encode() if isinstance(body, str) else body
    # A signed-in owner's board differs from everyone's: never let a shared cache hand it on.
    headers = {**(headers or {}), "Vary": "Accept-Encoding, Authorization",
               **({"Cache-Control": "private"} if owner_id is not None else {})}
    if "gzip" in request.headers.get("accept-encoding", "") and len(data) > 4096:
        compressed = cached(session, ("gzip", *key), lambda: gzip.compress(data, compresslevel=5, mtime=0),
                            owner_id=owner_id)
        return Response(compressed, media_type=media_type, headers={**headers, "Content-Encoding": "gzip"})
    return Response(data, media_type=media_type, headers=headers)


@router.get("/leaderboard", response_model=LeaderboardPublic, summary="The leaderboard as JSON",
            responses={200: {"description": "the columns, then one row per model ranked by average (unscored "
                                            "last), each with `reference` and `public`"}})
def read_leaderboard(request: Request, session: SessionDep, view: BoardView, as_of: AsOf,
                     owner_id: ViewerId) -> Response:
    """Every public model's aggregates and benchmark scores, ranked by average, in the view the query asks for.

    Rows submitted by the reserved `reference` account (`make seed`) have `reference: true`. With a token
    (`Authorization: Bearer`, or `?token=`) the board also holds the caller's own private models, marked
    `public: false`; nobody else sees them."""
    board = leaderboard(session, view, as_of, owner_id)
    body = cached(session, ("json", as_of, view),
                  lambda: LeaderboardPublic.model_validate(board).model_dump_json().encode(), owner_id=owner_id)
    return _board_response(request, session, ("json", as_of, view), body, "application/json", owner_id=owner_id)


@router.get("/leaderboard.csv", response_class=Response, summary="The leaderboard as CSV",
            responses={200: {"content": {"text/csv": {}}, "description": "the view as CSV"}})
def read_leaderboard_csv(request: Request, session: SessionDep, view: BoardView, as_of: AsOf,
                         owner_id: ViewerId) -> Response:
    """The view as CSV: a line per model, its aggregates, then score, raw, ceiling, ceiled and error per benchmark.
    With a token, the caller's private models are in it too, as in `GET /leaderboard`."""
    text = cached(session, ("csv", as_of, view),
                  lambda: board_csv(leaderboard(session, view, as_of, owner_id)).encode(), owner_id=owner_id)
    return _board_response(request, session, ("csv", as_of, view), text, "text/csv; charset=utf-8",
                           {"Content-Disposition": 'attachment; filename="leaderboard.csv"'}, owner_id=owner_id)


@router.get("/leaderboard/{submission_id}/{model}", summary="One model of the leaderboard",
            responses={200: {"description": "the model's aggregates, bibtex, and every benchmark's numbers with "
                                            "its per-layer scores"},
                       404: {"description": "no such model on the board (private models: only to their owner)"}})
def read_leaderboard_model(entry: ListedModel) -> dict:
    """A model of the board: its aggregates, `reference` and `public` marks, model card, bibtex, and for every
    benchmark (leaderboard or not) its numbers, committed layer and per-layer scores. A private model answers
    only its owner's token; everyone else gets 404."""
    return entry


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def leaderboard_page(request: Request, session: SessionDep, view: BoardView, as_of: AsOf,
                     owner_id: ViewerId) -> Response:
    page, key = render_leaderboard(request, session, view, as_of, owner_id)
    return _board_response(request, session, key, page, "text/html; charset=utf-8", owner_id=owner_id)


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


def _detail(identifier: str, session, catalogue) -> dict:
    detail = benchmark_detail(session, catalogue, identifier)
    if detail is None:
        raise HTTPException(404, f"no benchmark {identifier!r}; GET /benchmarks lists them")
    return detail


@router.get("/benchmarks/{identifier}.json", response_model=BenchmarkDetail, summary="A benchmark, as JSON",
            responses={404: {"description": "no such benchmark"}})
def read_benchmark_json(identifier: str, session: SessionDep, catalogue: CatalogueDep) -> dict:
    """A benchmark: citation, region, species, metric, ceiling, versions, public/private split, the public
    models' scores and their histogram, its correlation with every other benchmark, and sample stimuli."""
    return _detail(identifier, session, catalogue)


@router.get("/benchmarks/{identifier}/stimuli/{index}.png", include_in_schema=False)
def benchmark_thumbnail(identifier: str, index: int, request: Request) -> Response:
    """A public stimulus as a thumbnail, as the benchmark store serves it."""
    store_url = request.app.state.settings.store_url.rstrip("/")
    try:
        response = httpx.get(f"{store_url}/benchmarks/{identifier}/stimuli/{index}.png", timeout=20)
    except httpx.HTTPError as error:
        raise HTTPException(503, f"the benchmark store is unavailable ({error})") from None
    if response.status_code != 200:
        raise HTTPException(response.status_code if response.status_code in (403, 404) else 502,
                            response.text[:200])
    return Response(response.content, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/benchmarks/{identifier}", response_model=BenchmarkDetail, summary="A benchmark's page",
            responses={200: {"content": {"text/html": {}}, "description": "the page, or its JSON for "
                                                                          "`Accept: application/json`"},
                       404: {"description": "no such benchmark"}})
def benchmark_page(identifier: str, request: Request, session: SessionDep, catalogue: CatalogueDep):
    """The benchmark's page; ``Accept: application/json`` gets the JSON of /benchmarks/{id}.json."""
    detail = _detail(identifier, session, catalogue)
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return JSONResponse(BenchmarkDetail.model_validate(detail).model_dump(mode="json"))
    from submission_api.leaderboard.plots import histogram_svg
    return TEMPLATES.TemplateResponse(request, "benchmark.html",
                                      {"detail": detail, "histogram": histogram_svg(detail["histogram"])})


def _compared(session, models: str) -> dict:
    names = [name.strip() for name in models.split(",") if name.strip()]
    if not 2 <= len(names) <= 4:
        raise HTTPException(422, "compare two to four models: ?models=a,b")
    result, missing = compare_models(session, names)
    if missing:
        raise HTTPException(404, f"no public model(s) {', '.join(missing)} on the leaderboard")
    return result


ModelsQuery = Query(description="two to four model names (or submission_id/model), comma-separated")


@router.get("/compare.json", response_model=ComparePublic, summary="Compare two to four models",
            responses={404: {"description": "a model is not on the public leaderboard"},
                       422: {"description": "fewer than two or more than four models"}})
def read_compare(session: SessionDep, models: str = ModelsQuery) -> dict:
    """Two to four models side by side: every benchmark's cell with its error, and each model's layer scores."""
    return _compared(session, models)


@router.get("/compare", response_class=HTMLResponse, include_in_schema=False)
def compare_page(request: Request, session: SessionDep, models: str = ModelsQuery) -> HTMLResponse:
    from submission_api.leaderboard.plots import overlay_svg
    result = _compared(session, models)
    plots = {column["identifier"]: overlay_svg(
        {model["model"]: model["layer_scores"].get(column["identifier"], {}) for model in result["models"]},
        column["identifier"]) for column in result["benchmarks"]}
    return TEMPLATES.TemplateResponse(request, "compare.html", {"result": result, "plots": plots,
                                                                "aggregate_columns": AGGREGATE_COLUMNS})


__all__ = ["router", "CatalogueUnavailable"]
