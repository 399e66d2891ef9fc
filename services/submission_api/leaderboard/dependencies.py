"""What leaderboard routes read from the request: the model a route names, and the view the query asks for."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query

from submission_api.accounts.service import authenticate
from submission_api.core.dependencies import SessionDep
from submission_api.leaderboard.service import View, model_entry, parse_weights


def viewer_id(session: SessionDep, authorization: Annotated[str | None, Header()] = None,
              token: Annotated[str | None, Query(max_length=200, description=(
                  "your API token, for a browser's link (the 'Authorization: Bearer' header is preferred): the "
                  "board then also holds your own private models"))] = None) -> int | None:
    """The signed-in viewer's id, whose private models join the board; None for everyone else.

    The board is public: a token that is unknown or revoked shows it as to anyone, as it always has, rather
    than refusing it (401 is for the routes that need a user)."""
    scheme, _, header_token = (authorization or "").partition(" ")
    raw = header_token.strip() if scheme.lower() == "bearer" and header_token.strip() else (token or "").strip()
    user = authenticate(session, raw) if raw else None
    return user.id if user else None


ViewerId = Annotated[int | None, Depends(viewer_id)]


def listed_model(submission_id: str, model: str, session: SessionDep, owner_id: ViewerId) -> dict:
    """The model, if it is on the board: public, or the signed-in viewer's own."""
    entry = model_entry(session, submission_id, model, owner_id)
    if entry is None:
        raise HTTPException(404, f"no public model {model!r} in submission {submission_id!r}")
    return entry


ListedModel = Annotated[dict, Depends(listed_model)]


def parse_as_of(as_of: str | None) -> datetime | None:
    """A date means the end of that day (UTC); a datetime without a zone is UTC."""
    if not as_of:
        return None
    try:
        if len(as_of) == 10:
            return datetime.combine(date.fromisoformat(as_of) + timedelta(days=1), time(), tzinfo=timezone.utc)
        moment = datetime.fromisoformat(as_of)
    except ValueError:
        raise HTTPException(422, f"as_of {as_of!r} is not a date (YYYY-MM-DD) or an ISO datetime") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def board_view(
    q: Annotated[str, Query(max_length=200, description="models whose name contains this")] = "",
    benchmarks: Annotated[str | None, Query(description="comma-separated benchmark subset; absent: all")] = None,
    w: Annotated[str | None, Query(description="per-benchmark weights, 'benchmark:weight,...'; default 1")] = None,
    architecture: str | None = None, family: str | None = None, training_data: str | None = None,
    licence: str | None = None,
    params_min: Annotated[float | None, Query(ge=0)] = None, params_max: Annotated[float | None, Query(ge=0)] = None,
    reference: Annotated[bool | None, Query(description="true: only the reference models (submitted by the "
                                                        "reserved 'reference' account); false: only the others")]
    = None,
) -> View:
    try:
        weights = parse_weights(w)
    except ValueError as error:
        raise HTTPException(422, str(error)) from None
    filters = tuple((name, value) for name, value in (("architecture", architecture), ("family", family),
                                                      ("training_data", training_data), ("licence", licence))
                    if value)
    subset = tuple(sorted(filter(None, benchmarks.split(",")))) if benchmarks is not None else None
    return View(q=q.strip(), benchmarks=subset, weights=tuple(sorted(weights)), filters=filters,
                params_min=params_min, params_max=params_max, reference=reference)


def as_of_moment(as_of: Annotated[str | None, Query(description="YYYY-MM-DD or ISO datetime: the board as it "
                                                                "stood then")] = None) -> datetime | None:
    return parse_as_of(as_of)


BoardView = Annotated[View, Depends(board_view)]
AsOf = Annotated[datetime | None, Depends(as_of_moment)]
