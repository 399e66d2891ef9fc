"""The benchmark catalogue as a dependency."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from submission_api.platform.catalogue import Catalogue


def get_catalogue(request: Request) -> Catalogue:
    return request.app.state.catalogue


CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]
