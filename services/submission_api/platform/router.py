"""Health and the benchmark catalogue."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException
from sqlalchemy import text

from submission_api.core.dependencies import SessionDep
from submission_api.platform.catalogue import CatalogueUnavailable
from submission_api.platform.dependencies import CatalogueDep
from submission_api.platform.schemas import BenchmarkPublic

router = APIRouter(tags=["platform"])


@router.get("/healthz")
def healthz(session: SessionDep) -> dict:
    try:
        session.execute(text("SELECT 1"))
    except Exception as error:
        raise HTTPException(503, f"database unavailable: {type(error).__name__}") from None
    return {"status": "ok"}


@router.get("/benchmarks", response_model=list[BenchmarkPublic])
def benchmarks(catalogue: CatalogueDep) -> list[BenchmarkPublic]:
    try:
        specs = catalogue.all()
    except CatalogueUnavailable as error:
        raise HTTPException(503, str(error), headers={"Retry-After": "10"}) from None
    return [BenchmarkPublic.from_spec(spec) for spec in specs]
