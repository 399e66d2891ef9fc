"""Health and the benchmark catalogue."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException
from sqlalchemy import text

from submission_api.core.dependencies import SessionDep
from submission_api.platform.catalogue import CatalogueUnavailable
from submission_api.platform.dependencies import CatalogueDep
from submission_api.platform.schemas import BenchmarkPublic

router = APIRouter(tags=["platform"])


@router.get("/healthz", summary="Health check",
            responses={200: {"description": "the API and its database answer"},
                       503: {"description": "the database does not answer"}})
def healthz(session: SessionDep) -> dict:
    """`{"status": "ok"}` when the API can reach its database; what `make run` and probes wait for."""
    try:
        session.execute(text("SELECT 1"))
    except Exception as error:
        raise HTTPException(503, f"database unavailable: {type(error).__name__}") from None
    return {"status": "ok"}


@router.get("/benchmarks", response_model=list[BenchmarkPublic], summary="The benchmark catalogue",
            responses={200: {"description": "every benchmark version the store holds"},
                       503: {"description": "the benchmark store does not answer; retry after `Retry-After`"}})
def benchmarks(catalogue: CatalogueDep) -> list[BenchmarkPublic]:
    """Every benchmark of the benchmark store: identifier, version, region, metric, number of stimuli, ceiling,
    visual degrees, public/private split, and whether it counts on the leaderboard."""
    try:
        specs = catalogue.all()
    except CatalogueUnavailable as error:
        raise HTTPException(503, str(error), headers={"Retry-After": "10"}) from None
    return [BenchmarkPublic.from_spec(spec) for spec in specs]
