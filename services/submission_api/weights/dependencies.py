"""Weight-upload dependencies: who may upload (an account: the quota is per account), the upload a route names,
and the byte range a chunk claims."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Header

from submission_api.accounts.dependencies import OptionalUser
from submission_api.core.dependencies import SessionDep, SettingsDep
from submission_api.core.models import User, WeightUpload
from submission_api.submissions.upload import rejection
from submission_api.weights.service import WeightsRefused, get_upload

CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


@contextmanager
def answered_as_rejections() -> Iterator[None]:
    """A service's WeightsRefused, answered in the contract's ``{code, message, problems}`` shape."""
    try:
        yield
    except WeightsRefused as refused:
        raise rejection(refused.status, refused.code, refused.message, headers=refused.headers or None) from None


def weights_uploader(user: OptionalUser, settings: SettingsDep) -> User:
    """Weights count against a per-account quota, so uploading them needs an account (anonymous submissions don't)."""
    if user is None:
        how = ("sign up with `cortexscore token create --user NAME`" if settings.allow_signup
               else "ask an admin for an account")
        raise rejection(401, "account_required", f"weight uploads need an account, whose storage quota they count "
                                                 f"against: {how} and send 'Authorization: Bearer <token>' "
                                                 "(CORTEXSCORE_TOKEN for the CLI)", headers={"WWW-Authenticate": "Bearer"})
    return user


WeightsUploader = Annotated[User, Depends(weights_uploader)]


def owned_upload(upload_id: str, owner: WeightsUploader, session: SessionDep) -> WeightUpload:
    """The caller's upload; another account's is answered as unknown, as if it did not exist."""
    upload = get_upload(session, upload_id)
    if upload is None or upload.owner_id != owner.id:
        raise rejection(404, "unknown_upload", f"no weight upload {upload_id!r} of yours; GET /weights lists your "
                                               "uploads, POST /weights starts one")
    return upload


OwnedUpload = Annotated[WeightUpload, Depends(owned_upload)]


def weights_tmp_dir(settings: SettingsDep) -> Path:
    """Part files of streamed uploads: beside the filesystem store under var/, so finishing one is a rename."""
    return settings.var_dir / "weights-tmp"


WeightsTmpDir = Annotated[Path, Depends(weights_tmp_dir)]


def chunk_range(upload: OwnedUpload, content_range: Annotated[str | None, Header(
        description="bytes START-END/TOTAL (END inclusive); without it the body is the whole file")] = None,
                ) -> tuple[int, int, int]:
    """(start, end exclusive, total) of the chunk a PUT carries."""
    if content_range is None:
        return 0, upload.size, upload.size
    match = CONTENT_RANGE.match(content_range.strip())
    if match is None or int(match[2]) < int(match[1]):
        raise rejection(400, "invalid_content_range", f"Content-Range {content_range!r} is not 'bytes START-END/"
                                                      "TOTAL' with END >= START (END inclusive), e.g. "
                                                      f"'bytes 0-1048575/{upload.size}'")
    return int(match[1]), int(match[2]) + 1, int(match[3])


ChunkRange = Annotated[tuple[int, int, int], Depends(chunk_range)]

