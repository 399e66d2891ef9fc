"""Schemas of users and their API tokens."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


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
