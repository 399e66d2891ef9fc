"""Schemas of accounts, tokens, moderation and the leaderboard (the submission schemas live in schemas.py)."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from submission_api.submissions.schemas import SubmissionCreated


class UserCreate(BaseModel):
    name: str = Field(min_length=2, max_length=64)
    token_name: str = Field("", max_length=128)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    is_admin: bool
    created_at: datetime


class UserPrivate(UserPublic):
    """What a user sees of themselves: also the secret that signs their webhooks."""

    webhook_secret: str


class TokenCreate(BaseModel):
    name: str = Field("", max_length=128)


class TokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    """The only response that ever holds the token itself."""

    token: str
    user: UserPublic


class SubmissionCreatedPublic(SubmissionCreated):
    # The secret that signs this submission's webhook: the owner's, or a fresh one for an anonymous upload.
    webhook_secret: str | None = None


class SubmissionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public: bool | None = None
    hidden: bool | None = None


class WebhookDeliveryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    message_id: str
    attempt: int
    url: str
    event: str
    status_code: int | None
    succeeded: bool
    error: str | None
    created_at: datetime
