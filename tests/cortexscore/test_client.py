"""The Python client: zipping, webhook signatures, and calls against a running platform."""
import base64
import zipfile

import pytest

from cortexscore.client import (ApiError, Client, PlatformUnreachable, WebhookVerificationError, sign_webhook,
                                verify_webhook, zip_submission)
from tests.conftest import EXAMPLES, free_port
from tests.submission_api.platforms import scored_platform  # noqa: F401 (fixture)
from tests.zips import tutorial_files, write_zip

SECRET = "whsec_" + base64.b64encode(b"a test secret").decode()


def test_a_folder_is_zipped_under_one_root_without_caches(tmp_path):
    folder = tmp_path / "outer" / "my_submission"
    for name in ("models/__init__.py", "models/base_models.py", "setup.py", "models/__pycache__/x.pyc"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("# code\n")
    expected = ["my_submission/models/__init__.py", "my_submission/models/base_models.py", "my_submission/setup.py"]
    for given in (folder, folder.parent):  # the submission folder, or a folder holding only it
        assert sorted(zipfile.ZipFile(zip_submission(given, tmp_path)).namelist()) == expected
    existing = write_zip(tmp_path / "ready.zip", tutorial_files())
    assert zip_submission(existing) == existing
    with pytest.raises(ValueError, match="not a submission folder"):
        zip_submission(tmp_path / "outer" / "my_submission" / "models")
    with pytest.raises(ValueError, match="does not exist"):
        zip_submission(tmp_path / "missing")


def test_webhook_verification_rejects_tampering_old_deliveries_and_missing_headers():
    body = b'{"type":"submission.completed"}'
    headers = {"Webhook-Id": "msg_1", "Webhook-Timestamp": "1000",
               "Webhook-Signature": "v1,bogus " + sign_webhook(SECRET, "msg_1", 1000, body)}
    assert verify_webhook(SECRET, headers, body, now=1010) == {"type": "submission.completed"}
    with pytest.raises(WebhookVerificationError, match="no signature"):
        verify_webhook(SECRET, {**headers, "Webhook-Id": "msg_2"}, body, now=1010)
    with pytest.raises(WebhookVerificationError, match="replay"):
        verify_webhook(SECRET, headers, body, now=5000)
    with pytest.raises(WebhookVerificationError, match="webhook-signature"):
        verify_webhook(SECRET, {"webhook-id": "msg_1", "webhook-timestamp": "1000"}, body, now=1010)


def test_an_unreachable_platform_raises_platform_unreachable():
    with Client(f"http://127.0.0.1:{free_port()}") as client, pytest.raises(PlatformUnreachable, match="is it running"):
        client.benchmarks()


def test_submit_wait_scores_and_errors_against_the_platform(scored_platform, tmp_path):
    with Client(scored_platform.url) as anonymous:
        account = anonymous.sign_up("client-user", token_name="notebook")
        assert account["token"].startswith("cs_") and account["name"] == "notebook"
    with Client(scored_platform.url, account["token"]) as client:
        assert client.me()["name"] == "client-user"
        assert "Fixture2026.IT-pls" in {benchmark["identifier"] for benchmark in client.benchmarks()}
        created = client.submit(write_zip(tmp_path / "broken.zip", tutorial_files()),
                                benchmarks=["Fixture2026.IT-pls"])
        seen = []
        scores = client.wait(created["id"], poll_seconds=0.5, timeout=300, on_update=seen.append)
        assert scores["status"] == "failed" and seen[-1] == scores
        assert "NotImplementedError" in scores["scores"][0]["message"]
        assert "get_model" in client.logs(created["id"])
        with pytest.raises(ApiError) as refused:
            client.submit(EXAMPLES / "custom_model_submission" / "my_custom_submission", benchmarks="NoSuch.IT")
        assert refused.value.status_code == 422 and "NoSuch.IT" in refused.value.message
    with Client(scored_platform.url) as stranger, pytest.raises(ApiError) as missing:
        stranger.scores(created["id"])
    assert missing.value.status_code == 404
