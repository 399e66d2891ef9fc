"""The model a leaderboard route names: listed publicly, or 404."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException

from submission_api.core.dependencies import SessionDep
from submission_api.leaderboard.service import model_entry


def listed_model(submission_id: str, model: str, session: SessionDep) -> dict:
    entry = model_entry(session, submission_id, model)
    if entry is None:
        raise HTTPException(404, f"no public model {model!r} in submission {submission_id!r}")
    return entry


ListedModel = Annotated[dict, Depends(listed_model)]
