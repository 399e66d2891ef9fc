"""The score history: each new ``scores`` row is copied, in the same transaction, into ``score_history``.

Rescores delete scores but never their history, so the leaderboard can be read
as it stood at any date (``GET /leaderboard?as_of=``). Registered on import.
"""
from __future__ import annotations

from sqlalchemy import event, insert

from submission_api.core.models import ScoreHistory, ScoreRow, utcnow

# Every column of the history but its own: each has a namesake in ``scores``.
COPIED = tuple(name for name in ScoreHistory.__table__.columns.keys() if name not in ("id", "recorded_at"))


@event.listens_for(ScoreRow, "after_insert")
def _record_history(mapper, connection, target: ScoreRow) -> None:
    connection.execute(insert(ScoreHistory).values(
        **{name: getattr(target, name) for name in COPIED}, recorded_at=target.created_at or utcnow()))
