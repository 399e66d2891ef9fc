"""The owner's view of a submission's webhook deliveries: every attempt, newest last."""
from __future__ import annotations

from fastapi import APIRouter

from submission_api.submissions.dependencies import OwnedSubmission
from submission_api.webhooks.schemas import WebhookDeliveryPublic

router = APIRouter(prefix="/submissions", tags=["submissions"])


@router.get("/{submission_id}/webhooks", response_model=list[WebhookDeliveryPublic],
            summary="A submission's webhook deliveries",
            responses={200: {"description": "every delivery attempt, oldest first"},
                       403: {"description": "a public anonymous submission without its X-Owner-Secret"},
                       404: {"description": "no such submission, or a private one you do not own"}})
def read_webhook_deliveries(submission: OwnedSubmission) -> list[WebhookDeliveryPublic]:
    """The owner's record of the completion webhook: each attempt's URL, event, HTTP status, error and the
    start of the response body. Owner only: its token, or an anonymous upload's `X-Owner-Secret`."""
    return [WebhookDeliveryPublic.model_validate(row) for row in submission.webhook_deliveries]
