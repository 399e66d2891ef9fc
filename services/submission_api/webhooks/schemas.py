"""Schemas of webhook deliveries: every attempt, as the owner of a submission reads them."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


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
