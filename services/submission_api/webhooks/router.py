"""The owner's view of a submission's webhook deliveries: every attempt, newest last."""
from __future__ import annotations

from fastapi import APIRouter

from submission_api.submissions.dependencies import OwnedSubmission
from submission_api.webhooks.schemas import WebhookDeliveryPublic

router = APIRouter(prefix="/submissions", tags=["submissions"])


@router.get("/{submission_id}/webhooks", response_model=list[WebhookDeliveryPublic])
def read_webhook_deliveries(submission: OwnedSubmission) -> list[WebhookDeliveryPublic]:
    return [WebhookDeliveryPublic.model_validate(row) for row in submission.webhook_deliveries]
