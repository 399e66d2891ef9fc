"""Issue 13 on an S3 object store (`rclone serve s3`): the client PUTs weights straight to a presigned URL, and
completing the upload checks the size and the sha256 of what arrived before anything is ready."""
from __future__ import annotations

import hashlib
import os

import httpx
import pytest

from cortexscore.client import Client
from tests.benchmark_store.test_object_stores import needs_rclone
from tests.submission_api.platforms import SYNTHETIC, weights_s3_platform  # noqa: F401 (fixture)
from tests.submission_api.weights.uploads import auth, declare, detail_code, weighted_zip, weights_file

pytestmark = needs_rclone


def stored_objects(platform) -> dict[str, bytes]:
    store = platform.s3.open()
    return {key: b"".join(store.iter_chunks(key)) for key in store.keys("weights/")}


def test_a_presigned_put_goes_straight_to_s3_and_is_verified_on_completion(weights_s3_platform):
    platform = weights_s3_platform
    data = os.urandom(200_000)
    with platform.client() as client:
        created = declare(client, platform.user_token, data)
        assert created.status_code == 201, created.text
        upload = created.json()
        assert upload["method"] == "presigned" and upload["upload_expires_at"]
        # Signed for the store's public address (API_S3_PUBLIC_URL), not the one the API itself uses.
        assert upload["upload_url"].startswith(f"http://localhost:{platform.s3.port}/") and "X-Amz-Signature" in \
            upload["upload_url"]
        early = client.post(f"/weights/{upload['id']}/complete", headers=auth(platform.user_token))
        assert early.status_code == 409 and detail_code(early) == "upload_incomplete"
        # No token, no API: the object store checks the URL's signature alone.
        assert httpx.put(upload["upload_url"], content=data).status_code == 200
        done = client.post(f"/weights/{upload['id']}/complete", headers=auth(platform.user_token))
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "ready" and done.json()["upload_url"] is None
        # The URL still works for an hour, but what was verified lies elsewhere, out of its reach.
        assert httpx.put(upload["upload_url"], content=b"swapped after the check").status_code == 200
        objects = stored_objects(platform)
        verified = [key for key, value in objects.items() if not key.startswith("weights/incoming/")]
        assert [objects[key] for key in verified] == [data]
        assert client.delete(f"/weights/{upload['id']}", headers=auth(platform.user_token)).status_code == 204
    assert stored_objects(platform) == {}


def test_a_presigned_upload_of_the_wrong_size_or_bytes_is_refused_and_deleted(weights_s3_platform):
    platform = weights_s3_platform
    data = os.urandom(5000)
    with platform.client() as client:
        short = declare(client, platform.user_token, data).json()
        assert httpx.put(short["upload_url"], content=data[:4000]).status_code == 200
        refused = client.post(f"/weights/{short['id']}/complete", headers=auth(platform.user_token))
        assert refused.status_code == 422 and detail_code(refused) == "size_mismatch"
        assert "4000 bytes, not the declared 5000" in refused.json()["detail"]["message"]
        wrong = declare(client, platform.user_token, data, name="wrong.bin",
                        sha256=hashlib.sha256(b"something else").hexdigest()).json()
        assert httpx.put(wrong["upload_url"], content=data).status_code == 200
        refused = client.post(f"/weights/{wrong['id']}/complete", headers=auth(platform.user_token))
        assert refused.status_code == 422 and detail_code(refused) == "sha256_mismatch"
        assert stored_objects(platform) == {}, "refused bytes must not stay in the store"
        assert client.get(f"/weights/{wrong['id']}", headers=auth(platform.user_token)).json()["status"] == "pending"
        for upload in (short, wrong):
            assert client.delete(f"/weights/{upload['id']}", headers=auth(platform.user_token)).status_code == 204


def test_the_client_uploads_presigned_and_a_second_run_reuses_the_ready_file(weights_s3_platform, tmp_path):
    path = tmp_path / "w.bin"
    path.write_bytes(os.urandom(300_000))
    steps = []
    with Client(weights_s3_platform.url, weights_s3_platform.user_token) as client:
        uploaded = client.upload_weights(path, progress=lambda stage, done, total: steps.append(stage))
        assert uploaded["status"] == "ready" and uploaded["method"] == "presigned"
        assert uploaded["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert {"hashing", "uploading", "verifying"} <= set(steps)
        again = client.upload_weights(path)
        assert again["id"] == uploaded["id"] and again["status"] == "ready"
        assert client.weights()["used_bytes"] == 300_000
        client._request("DELETE", f"/weights/{uploaded['id']}")


@pytest.mark.slow
def test_weights_uploaded_to_s3_are_served_to_the_scorer_and_used(weights_s3_platform, tmp_path):
    platform = weights_s3_platform
    path = weights_file(tmp_path)
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    with Client(platform.url, platform.user_token) as owner:
        uploaded = owner.upload_weights(path)
        created = owner.submit(weighted_zip(tmp_path, {"tiny.pt": sha256}), benchmarks=[SYNTHETIC], public=True)
        scores = platform.wait_for(created["id"], timeout=600)
        log = owner.logs(created["id"])
    assert scores["status"] == "completed", log + platform.logs()
    assert f"sha256 {sha256} verified; at /weights/tiny.pt" in log and "loaded /weights/tiny.pt" in log
    assert uploaded["method"] == "presigned"
