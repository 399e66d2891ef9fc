"""Issue 15, part 2: what a hostile user tried against uploads, over a real socket on one platform.

The platform runs the embedded default (anonymous uploads and sign-up on) with small limits, so each is reached
in a few requests: 4 anonymous uploads per minute from one address, 30 models per zip, 70 jobs in flight per
user, score pages of at most 50 entries, and a 2 s body idle timeout.
"""
import socket
import sqlite3
import time

import httpx
import pytest

from tests.conftest import start_platform
from tests.submission_api.submissions.test_submissions import residue
from tests.zips import BASE_MODELS, tutorial_files, write_zip

SYNTHETIC = "Synthetic2026.IT-pls"
ANONYMOUS_PER_WINDOW = 4
MAX_MODELS = 30
CONCURRENT_JOBS = 70
PAGE_MAX = 50
IDLE_SECONDS = 2


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    platform = start_platform(tmp_path_factory.mktemp("hostile-users"), scorers=0,
                              API_ANONYMOUS_UPLOADS_PER_WINDOW=str(ANONYMOUS_PER_WINDOW),
                              API_ANONYMOUS_UPLOAD_WINDOW_SECONDS="60", API_MAX_MODELS_PER_UPLOAD=str(MAX_MODELS),
                              API_QUOTA_CONCURRENT_JOBS=str(CONCURRENT_JOBS), API_SCORES_PAGE_MAX=str(PAGE_MAX),
                              API_UPLOAD_IDLE_TIMEOUT_SECONDS=str(IDLE_SECONDS))
    with httpx.Client(base_url=platform.url) as client:
        platform.token = client.post("/users", json={"name": "uploader"}).json()["token"]
    yield platform
    platform.stop()


def models_zip(path, count: int):
    names = ", ".join(f"'model-{index}'" for index in range(count))
    source = BASE_MODELS.replace("return [MODEL_NAME]", f"return [{names}]")
    return write_zip(path, tutorial_files(**{"models/base_models.py": source}))


def post(platform, path, token=None, headers=None, **fields):
    headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    with httpx.Client(base_url=platform.url, timeout=60, headers=headers) as client, open(path, "rb") as handle:
        return client.post("/submissions", files={"file": (path.name, handle, "application/zip")},
                           data={"benchmarks": SYNTHETIC, **fields})


def raw_request(platform, data: bytes, timeout: float = 20) -> str:
    with socket.create_connection(("127.0.0.1", platform.port)) as connection:
        connection.settimeout(timeout)
        connection.sendall(data)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
                chunk = connection.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except socket.timeout:
            pass
    return answer.decode(errors="replace")


def multipart_request(platform, body: bytes, boundary="b0undary", token=None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (f"POST /submissions HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: multipart/form-data; boundary={boundary}"
            f"\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def test_anonymous_submission_is_managed_only_with_its_owner_secret(hostile, tmp_path):
    """Knowing the (published) id of a public anonymous submission no longer lets anyone read its logs,
    make it private or cancel it: its uploader got an owner secret, once, in the upload's answer."""
    created = post(hostile, models_zip(tmp_path / "anon.zip", 1), public="true")
    assert created.status_code == 202, created.text
    body = created.json()
    secret = body["owner_secret"]
    assert secret and secret.startswith("os_")
    submission = f"/submissions/{body['id']}"
    with httpx.Client(base_url=hostile.url) as stranger:
        assert stranger.get(f"{submission}/scores").status_code == 200  # public results stay public
        for response in (stranger.get(f"{submission}/logs"), stranger.patch(submission, json={"public": False}),
                         stranger.delete(submission), stranger.get(f"{submission}/webhooks"),
                         stranger.get(f"{submission}/logs", headers={"X-Owner-Secret": "os_guessed"})):
            assert response.status_code == 403, response.text
            assert "X-Owner-Secret" in response.json()["detail"]
        assert stranger.get(submission).json()["status"] == "queued"
    with httpx.Client(base_url=hostile.url, headers={"X-Owner-Secret": secret}) as owner:
        assert owner.get(f"{submission}/logs").status_code == 200
        assert owner.patch(submission, json={"public": False}).status_code == 200
        assert owner.delete(submission).json()["status"] == "cancelled"
    with sqlite3.connect(hostile.var / "cortexscore.db") as db:
        stored = db.execute("SELECT owner_secret_hash FROM submissions WHERE id = ?", (body["id"],)).fetchone()[0]
    assert stored != secret and len(stored) == 64


def test_anonymous_uploads_are_rate_limited_per_address(hostile, tmp_path):
    path = models_zip(tmp_path / "burst.zip", 1)
    before = residue(hostile)
    statuses, limited = [], None
    for _ in range(ANONYMOUS_PER_WINDOW + 3):
        response = post(hostile, path)
        statuses.append(response.status_code)
        if response.status_code == 429:
            limited = response
        elif response.status_code == 202:
            httpx.delete(f"{hostile.url}/submissions/{response.json()['id']}",
                         headers={"X-Owner-Secret": response.json().get("owner_secret") or ""})
    assert statuses.count(202) <= ANONYMOUS_PER_WINDOW and limited is not None, statuses
    assert statuses[-1] == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "anonymous uploads are limited" in limited.json()["detail"]
    submissions, jobs, files = residue(hostile)
    assert submissions - before[0] == statuses.count(202) and not [name for name in files if name.endswith(".upload")]
    # A signed-up user is not limited by the anonymous window.
    assert post(hostile, path, token=hostile.token).status_code == 202


def test_models_per_zip_are_capped_with_a_clear_422(hostile, tmp_path):
    before = residue(hostile)
    response = post(hostile, models_zip(tmp_path / "many.zip", MAX_MODELS + 1), token=hostile.token)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]["code"] == "too_many_models"
    assert f"limit of {MAX_MODELS}" in response.json()["detail"]["message"]
    assert residue(hostile) == before


def test_models_times_benchmarks_count_against_the_concurrent_quota(hostile, tmp_path):
    """A user with jobs in flight cannot pass the quota with one big zip: its models x benchmarks are counted."""
    path = models_zip(tmp_path / "quota.zip", MAX_MODELS)
    with httpx.Client(base_url=hostile.url) as client:
        token = client.post("/users", json={"name": "quota-user"}).json()["token"]
    assert post(hostile, path, token=token).status_code == 202
    assert post(hostile, path, token=token).status_code == 202  # 60 jobs in flight, under the quota of 70
    before = residue(hostile)
    response = post(hostile, path, token=token)  # 60 + 30 > 70
    assert response.status_code == 429, response.text
    assert "this upload makes 30 more" in response.json()["detail"] and response.headers["retry-after"]
    assert residue(hostile) == before


def test_scores_are_paged(hostile, tmp_path):
    created = post(hostile, models_zip(tmp_path / "paged.zip", MAX_MODELS), token=hostile.token).json()
    with httpx.Client(base_url=hostile.url, headers={"Authorization": f"Bearer {hostile.token}"}) as client:
        first = client.get(f"/submissions/{created['id']}/scores", params={"limit": 20}).json()
        assert len(first["scores"]) == 20 and first["total"] == MAX_MODELS and first["next_offset"] == 20
        rest = client.get(f"/submissions/{created['id']}/scores", params={"offset": 20, "limit": 20}).json()
        assert len(rest["scores"]) == MAX_MODELS - 20 and rest["next_offset"] is None
        assert [entry["model"] for entry in first["scores"] + rest["scores"]] == [f"model-{i}" for i in range(MAX_MODELS)]
        too_big = client.get(f"/submissions/{created['id']}/scores", params={"limit": PAGE_MAX + 1})
        assert too_big.status_code == 422 and f"at most {PAGE_MAX}" in too_big.text


def test_a_body_that_does_not_match_its_boundary_is_a_400(hostile):
    before = residue(hostile)
    body = (b"--another-boundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.zip\"\r\n\r\n"
            b"PK\r\n--another-boundary--\r\n")
    answer = raw_request(hostile, multipart_request(hostile, body, token=hostile.token))
    assert answer.startswith("HTTP/1.1 400"), answer
    assert "malformed_multipart" in answer and "boundary" in answer
    assert residue(hostile) == before


def test_a_part_header_of_4_mib_is_a_400(hostile):
    before = residue(hostile)
    body = (b"--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.zip\"\r\nX-Junk: "
            + b"j" * (4 << 20) + b"\r\n\r\nPK\r\n--b0undary--\r\n")
    answer = raw_request(hostile, multipart_request(hostile, body, token=hostile.token))
    assert answer.startswith("HTTP/1.1 400"), answer[:500]
    assert "header_too_large" in answer
    assert residue(hostile) == before


def test_a_stalled_upload_is_dropped_after_the_idle_timeout(hostile):
    before = residue(hostile)
    head = (b"--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.zip\"\r\n"
            b"Content-Type: application/zip\r\n\r\n" + b"\0" * 1000)
    request = (f"POST /submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {hostile.token}\r\n"
               "Content-Type: multipart/form-data; boundary=b0undary\r\nContent-Length: 10000000\r\n\r\n").encode()
    started = time.monotonic()
    answer = raw_request(hostile, request + head, timeout=IDLE_SECONDS + 15)
    assert answer.startswith("HTTP/1.1 408"), answer
    assert "upload_idle" in answer and time.monotonic() - started < IDLE_SECONDS + 10
    assert residue(hostile) == before


@pytest.mark.parametrize("url, named", [("http://example.com/hook\r\nX-Injected: 1", "control characters"),
                                        ("http://example.com/a\tb", "control characters"),
                                        ("http://[::1/hook", "not a valid URL")])
def test_callback_urls_with_control_characters_or_a_broken_host_are_422(hostile, tmp_path, url, named):
    before = residue(hostile)
    response = post(hostile, models_zip(tmp_path / "cb.zip", 1), token=hostile.token, callback_url=url)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]["code"] == "invalid_callback_url" and named in response.text
    assert residue(hostile) == before
