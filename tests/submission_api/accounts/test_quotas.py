"""Quota accounting, on database rows written as the queue writes them."""
from datetime import timedelta

import pytest

from submission_api.accounts.quotas import QuotaExceeded, check_quota
from submission_api.accounts.service import create_user
from submission_api.core.models import utcnow
from tests.submission_api.rows import IT, V1, add_submission


def quota(session, user, uploads=2, concurrent=3):
    check_quota(session, user_id=user.id, uploads_per_day=uploads, concurrent_jobs=concurrent)


def test_platform_failures_and_cancellations_do_not_count_against_the_daily_quota(session):
    user = create_user(session, name="dana")
    add_submission(session, owner=user, jobs=[("m", IT, "failed", "platform", None)])
    add_submission(session, owner=user, jobs=[("m", IT, "cancelled", None, None)])
    add_submission(session, owner=user, jobs=[("m", IT, "succeeded", None, 0.5)],
                   created_at=utcnow() - timedelta(days=1, minutes=1))
    quota(session, user)
    add_submission(session, owner=user, jobs=[("m", IT, "failed", "submission", None)])
    add_submission(session, owner=user, jobs=[("m", IT, "succeeded", None, 0.5)])
    with pytest.raises(QuotaExceeded, match="2 uploads in the last 24 hours") as raised:
        quota(session, user)
    assert 0 < raised.value.retry_after <= 24 * 3600


def test_jobs_in_flight_are_limited(session):
    user = create_user(session, name="erin")
    add_submission(session, owner=user, jobs=[("m", IT, "queued", None, None), ("m", V1, "running", None, None)])
    quota(session, user, uploads=10, concurrent=3)
    add_submission(session, owner=user, jobs=[("m", IT, "queued", None, None)])
    with pytest.raises(QuotaExceeded, match="3 jobs queued or running"):
        quota(session, user, uploads=10, concurrent=3)
