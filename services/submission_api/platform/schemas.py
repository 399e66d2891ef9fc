"""The benchmark catalogue as GET /benchmarks lists it."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from cortexscore.benchmarks.spec import BenchmarkSpec


class BenchmarkPublic(BaseModel):
    identifier: str
    version: int
    region: str | None
    kind: Literal["neural", "behavior", "engineering"]
    metric: str
    num_stimuli: int
    visual_degrees: float
    ceiling: float | None
    ceiling_error: float | None
    access: Literal["public", "private"]
    # Whether the benchmark counts on the leaderboard: synthetic ones never do.
    leaderboard: bool
    synthetic: bool
    citation: str

    @classmethod
    def from_spec(cls, spec: BenchmarkSpec) -> BenchmarkPublic:
        return cls(identifier=spec.identifier, version=spec.version, region=spec.region, kind=spec.kind,
                   metric=spec.metric, num_stimuli=spec.num_stimuli, visual_degrees=spec.visual_degrees,
                   ceiling=spec.ceiling.value if spec.ceiling else None,
                   ceiling_error=spec.ceiling.error if spec.ceiling else None,
                   access="public" if spec.public else "private", leaderboard=spec.leaderboard and not spec.synthetic,
                   synthetic=spec.synthetic, citation=spec.citation)
