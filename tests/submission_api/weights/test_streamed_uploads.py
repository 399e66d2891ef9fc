"""Issue 13 on the embedded default (filesystem object store): weights streamed through the API in resumable
chunks, verified before they are ready, referenced by sha256 from a submission's weights.toml, and used by a
sandboxed model; every refusal named. Real HTTP against one running platform."""
from __future__ import annotations

import hashlib
import os
import socket
import time
from urllib.parse import urlsplit

import pytest

from cortexscore.client import ApiError, Client
from tests.submission_api.platforms import (SYNTHETIC, WEIGHTS_QUOTA, WEIGHTS_ZIP_LIMIT,  # noqa: F401 (fixture)
                                            weights_platform)
from tests.submission_api.weights.uploads import (auth, declare, detail_code, put_chunk, weighted_zip,
                                                  weights_file)


def test_anonymous_weight_uploads_are_refused_with_how_to_get_a_token(weights_platform):
    with weights_platform.client() as client:
        response = client.post("/weights", json={"name": "w.bin", "sha256": "a" * 64, "size": 10})
    assert response.status_code == 401
    assert detail_code(response) == "account_required"
    assert "cortexscore token create --user NAME" in response.json()["detail"]["message"]


def test_a_streamed_upload_cut_off_mid_chunk_resumes_from_the_bytes_that_arrived(weights_platform):
    data = os.urandom(300_000)
    token = weights_platform.user_token
    with weights_platform.client() as client:
        created = declare(client, token, data)
        assert created.status_code == 201, created.text
        upload = created.json()
        assert upload["method"] == "streamed" and upload["status"] == "pending" and upload["received"] == 0
        assert upload["upload_url"].endswith(f"/weights/{upload['id']}")
        assert put_chunk(client, token, upload["id"], data[:100_000], 0, len(data)).json()["received"] == 100_000
        # A client that dies mid-chunk: it announces 100 000 bytes, sends 50 000, and its connection closes.
        target = urlsplit(weights_platform.url)
        with socket.create_connection((target.hostname, target.port)) as raw:
            raw.sendall(f"PUT /weights/{upload['id']} HTTP/1.1\r\nHost: {target.netloc}\r\n"
                        f"Authorization: Bearer {token}\r\nContent-Range: bytes 100000-199999/{len(data)}\r\n"
                        f"Content-Length: 100000\r\n\r\n".encode() + data[100_000:150_000])
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # the bytes are on the platform's disk as they arrive
                head = client.head(f"/weights/{upload['id']}", headers=auth(token))
                if int(head.headers["Upload-Offset"]) == 150_000:
                    break
                time.sleep(0.1)
        time.sleep(0.5)
        head = client.head(f"/weights/{upload['id']}", headers=auth(token))
        assert int(head.headers["Upload-Offset"]) == 150_000
        # Declaring the same file again answers the same upload, with where to resume.
        again = declare(client, token, data)
        assert again.status_code == 200 and again.json()["id"] == upload["id"]
        assert again.json()["received"] == 150_000
        done = put_chunk(client, token, upload["id"], data[150_000:], 150_000, len(data))
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "ready" and done.json()["completed_at"]
        assert done.json()["reference"] == f'"w.bin" = "{hashlib.sha256(data).hexdigest()}"'
        stored = weights_platform.var / "objects" / "weights"
        # The platform is shared with other modules' tests, whose weights are stored beside these.
        assert sum(path.read_bytes() == data for path in stored.rglob("*") if path.is_file()) == 1
        assert not list((weights_platform.var / "weights-tmp").glob("*.part"))
        assert client.delete(f"/weights/{upload['id']}", headers=auth(token)).status_code == 204


def test_a_chunk_that_does_not_continue_the_upload_is_refused_with_the_offset(weights_platform):
    data = os.urandom(1000)
    token = weights_platform.user_token
    with weights_platform.client() as client:
        upload = declare(client, token, data).json()
        skipped = put_chunk(client, token, upload["id"], data[500:], 500, len(data))
        assert skipped.status_code == 409 and detail_code(skipped) == "offset_mismatch"
        assert skipped.headers["Upload-Offset"] == "0"
        assert "Content-Range: bytes 0-.../1000" in skipped.json()["detail"]["message"]
        wrong_total = put_chunk(client, token, upload["id"], data, 0, 999)
        assert wrong_total.status_code == 422 and detail_code(wrong_total) == "size_mismatch"
        too_long = client.put(f"/weights/{upload['id']}", content=data + b"extra", headers=auth(token))
        assert too_long.status_code == 422 and detail_code(too_long) == "size_mismatch"
        assert client.get(f"/weights/{upload['id']}", headers=auth(token)).json()["received"] == 0
        incomplete = client.post(f"/weights/{upload['id']}/complete", headers=auth(token))
        assert incomplete.status_code == 409 and detail_code(incomplete) == "upload_incomplete"
        assert client.delete(f"/weights/{upload['id']}", headers=auth(token)).status_code == 204


def test_bytes_that_do_not_hash_to_the_declared_sha256_are_refused_and_discarded(weights_platform):
    data = os.urandom(2000)
    token = weights_platform.user_token
    with weights_platform.client() as client:
        upload = declare(client, token, data, sha256=hashlib.sha256(b"another file").hexdigest()).json()
        response = client.put(f"/weights/{upload['id']}", content=data, headers=auth(token))
        assert response.status_code == 422 and detail_code(response) == "sha256_mismatch"
        message = response.json()["detail"]["message"]
        assert hashlib.sha256(data).hexdigest() in message and "upload it again" in message
        state = client.get(f"/weights/{upload['id']}", headers=auth(token)).json()
        assert state["status"] == "pending" and state["received"] == 0
        assert client.delete(f"/weights/{upload['id']}", headers=auth(token)).status_code == 204


def test_an_upload_over_the_quota_is_refused_and_fits_once_space_is_freed(weights_platform):
    token = weights_platform.user_token
    big = os.urandom(WEIGHTS_QUOTA // 2 + 1)
    with weights_platform.client() as client:
        first = declare(client, token, big, name="first.bin")
        assert first.status_code == 201
        second = declare(client, token, big[::-1], name="second.bin")
        assert second.status_code == 413 and detail_code(second) == "over_quota"
        message = second.json()["detail"]["message"]
        assert f"quota of {WEIGHTS_QUOTA} bytes" in message and "DELETE /weights/{id}" in message
        listed = client.get("/weights", headers=auth(token)).json()
        assert listed["quota_bytes"] == WEIGHTS_QUOTA and listed["used_bytes"] >= len(big)
        assert client.delete(f"/weights/{first.json()['id']}", headers=auth(token)).status_code == 204
        second = declare(client, token, big[::-1], name="second.bin")
        assert second.status_code == 201
        assert client.delete(f"/weights/{second.json()['id']}", headers=auth(token)).status_code == 204


def test_unknown_and_other_accounts_uploads_are_404(weights_platform):
    data = os.urandom(100)
    with weights_platform.client() as client:
        upload = declare(client, weights_platform.user_token, data).json()
        for upload_id, token in (("no-such-upload", weights_platform.user_token),
                                 (upload["id"], weights_platform.other_token)):
            response = client.get(f"/weights/{upload_id}", headers=auth(token))
            assert response.status_code == 404 and detail_code(response) == "unknown_upload"
            assert client.put(f"/weights/{upload_id}", content=b"x", headers=auth(token)).status_code == 404
        assert client.delete(f"/weights/{upload['id']}", headers=auth(weights_platform.user_token)).status_code == 204


def test_a_submission_must_refer_to_ready_weights_of_its_own_submitter(weights_platform, tmp_path):
    data = os.urandom(5000)
    sha256 = hashlib.sha256(data).hexdigest()
    archive = weighted_zip(tmp_path, {"tiny.pt": sha256})
    with Client(weights_platform.url, weights_platform.user_token) as owner, \
            Client(weights_platform.url, weights_platform.other_token) as other, Client(weights_platform.url) as anonymous:
        with pytest.raises(ApiError) as missing:
            owner.submit(archive, benchmarks=[SYNTHETIC])
        assert missing.value.status_code == 422 and missing.value.detail["code"] == "unknown_weights"
        assert "cortexscore upload-weights tiny.pt" in missing.value.message
        with weights_platform.client() as client:
            pending = declare(client, weights_platform.user_token, data, name="tiny.pt").json()
        with pytest.raises(ApiError) as not_ready:
            owner.submit(archive, benchmarks=[SYNTHETIC])
        assert not_ready.value.detail["code"] == "weights_not_ready" and "it resumes" in not_ready.value.message
        path = tmp_path / "tiny.pt"
        path.write_bytes(data)
        assert owner.upload_weights(path)["status"] == "ready"
        with pytest.raises(ApiError) as unowned:
            other.submit(archive, benchmarks=[SYNTHETIC])
        assert unowned.value.detail["code"] == "unknown_weights"
        with pytest.raises(ApiError) as anonymous_refused:
            anonymous.submit(archive, benchmarks=[SYNTHETIC])
        assert anonymous_refused.value.status_code == 401
        assert anonymous_refused.value.detail["code"] == "weights_need_account"
        broken = weighted_zip(tmp_path, {"../tiny.pt": sha256}, name="broken.zip")
        with pytest.raises(ApiError) as invalid:
            owner.submit(broken, benchmarks=[SYNTHETIC])
        assert invalid.value.detail["code"] == "invalid_weights" and "plain file name" in invalid.value.message
        with weights_platform.client() as client:
            client.delete(f"/weights/{pending['id']}", headers=auth(weights_platform.user_token))


@pytest.mark.slow
def test_weights_bigger_than_the_zip_limit_are_uploaded_verified_and_used_by_the_model(weights_platform, tmp_path):
    path = weights_file(tmp_path)
    assert path.stat().st_size > 2 * WEIGHTS_ZIP_LIMIT
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    with Client(weights_platform.url, weights_platform.user_token) as owner:
        # Inside the zip, the weights make it too big to upload.
        inside = weighted_zip(tmp_path, {}, name="inside.zip", extra={"tiny.pt": path.read_bytes()})
        with pytest.raises(ApiError) as too_large:
            owner.submit(inside, benchmarks=[SYNTHETIC])
        assert too_large.value.status_code == 413
        uploaded = owner.upload_weights(path, chunk_bytes=50_000)
        assert uploaded["status"] == "ready" and uploaded["sha256"] == sha256
        created = owner.submit(weighted_zip(tmp_path, {"tiny.pt": sha256}), benchmarks=[SYNTHETIC], public=True)
        with weights_platform.client() as client:
            in_use = client.delete(f"/weights/{uploaded['id']}", headers=auth(weights_platform.user_token))
        assert in_use.status_code == 409 and detail_code(in_use) == "weights_in_use"
        scores = weights_platform.wait_for(created["id"], timeout=600)
        log = owner.logs(created["id"])
    assert scores["status"] == "completed", log + weights_platform.logs()
    assert f"weights tiny.pt: {path.stat().st_size} bytes, sha256 {sha256} verified; at /weights/tiny.pt" in log
    assert "loaded /weights/tiny.pt" in log and "weights are read-only: Read-only file system" in log
    assert scores["scores"][0]["provenance"]["weights_sha256"] == {"tiny.pt": sha256}
