"""Health and the benchmark catalogue."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException
from sqlalchemy import text

from submission_api.platform.catalogue import CatalogueUnavailable
from submission_api.core.dependencies import CatalogueDep, SessionDep

router = APIRouter(tags=["platform"])


@router.get("/healthz")
def healthz(session: SessionDep) -> dict:
    try:
        session.execute(text("SELECT 1"))
    except Exception as error:
        raise HTTPException(503, f"database unavailable: {type(error).__name__}") from None
    return {"status": "ok"}


@router.get("/benchmarks")
def benchmarks(catalogue: CatalogueDep) -> list[dict]:
    try:
        specs = catalogue.all()
    except CatalogueUnavailable as error:
        raise HTTPException(503, str(error), headers={"Retry-After": "10"}) from None
    return [
        {"identifier": spec.identifier, "version": spec.version, "region": spec.region, "kind": spec.kind,
         "metric": spec.metric, "num_stimuli": spec.num_stimuli, "visual_degrees": spec.visual_degrees,
         "ceiling": spec.ceiling.value if spec.ceiling else None,
         "ceiling_error": spec.ceiling.error if spec.ceiling else None,
         "access": "public" if spec.public else "private", "leaderboard": spec.leaderboard and not spec.synthetic,
         "synthetic": spec.synthetic, "citation": spec.citation}
        for spec in specs
    ]
