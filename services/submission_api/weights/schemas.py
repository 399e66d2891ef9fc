"""What the weight-upload routes take and answer."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cortexscore.weights import NAME_PATTERN, SHA256_PATTERN


class WeightUploadCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN.pattern, description="the file name the model will see under /weights")
    sha256: str = Field(pattern=SHA256_PATTERN.pattern, description="the file's sha256, 64 lowercase hex digits")
    size: int = Field(ge=1, le=1 << 44, description="the file's size in bytes")


class WeightUploadPublic(BaseModel):
    id: str
    name: str
    sha256: str
    size: int
    method: Literal["presigned", "streamed"]
    status: Literal["pending", "ready"]
    received: int = Field(description="bytes received so far (streamed uploads; where a client resumes)")
    created_at: datetime
    completed_at: datetime | None = None
    upload_url: str | None = Field(None, description="where to PUT the bytes while the upload is pending")
    upload_expires_at: datetime | None = Field(None, description="when a presigned upload_url stops working")
    reference: str = Field(description="the weights.toml line that refers to this file")


class WeightUploadsPublic(BaseModel):
    used_bytes: int
    quota_bytes: int
    uploads: list[WeightUploadPublic]
