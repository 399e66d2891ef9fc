"""Accounts over a real socket: tokens, ownership of submissions, admin actions, the daily upload quota."""
import httpx
import pytest

from tests.submission_api.platforms import ADMIN_TOKEN, accounts_platform  # noqa: F401 (fixture)
from tests.zips import tutorial_files, write_zip

SYNTHETIC = "Synthetic2026.IT-pls"


def api(platform, token=None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=platform.url, headers=headers, timeout=60)


def upload(platform, token, path, **fields):
    with api(platform, token) as client, open(path, "rb") as handle:
        return client.post("/submissions", files={"file": (path.name, handle, "application/zip")},
                           data={"benchmarks": SYNTHETIC, **fields})


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory):
    return write_zip(tmp_path_factory.mktemp("accounts") / "tiny.zip", tutorial_files())


@pytest.fixture(scope="module")
def users(accounts_platform):
    """Three users, created by the admin since sign-up is closed; name -> token."""
    tokens = {}
    with api(accounts_platform, ADMIN_TOKEN) as admin:
        for name in ("alice", "bob", "carol"):
            response = admin.post("/users", json={"name": name})
            assert response.status_code == 201, response.text
            tokens[name] = response.json()["token"]
    return tokens


def test_closed_platform_refuses_anonymous_uploads_and_sign_up(accounts_platform, zip_path):
    response = upload(accounts_platform, None, zip_path)
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]
    with api(accounts_platform) as client:
        assert client.post("/users", json={"name": "mallory"}).status_code == 403


def test_a_token_is_shown_once_and_only_its_hash_is_kept(accounts_platform, users):
    import sqlite3

    with sqlite3.connect(accounts_platform.var / "cortexscore.db") as db:
        stored = [row[0] for row in db.execute("SELECT token_hash FROM api_tokens")]
    assert users["alice"] not in stored and len(stored[0]) == 64
    with api(accounts_platform, users["alice"]) as client:
        listed = client.get("/tokens").json()
    assert all("token" not in row for row in listed) and listed[0]["prefix"] == users["alice"][:8]


def test_other_users_get_404_on_a_private_submission_its_logs_and_cancel(accounts_platform, users, zip_path):
    created = upload(accounts_platform, users["alice"], zip_path)
    assert created.status_code == 202, created.text
    submission = created.json()["id"]
    for token in (users["bob"], None):
        with api(accounts_platform, token) as other:
            assert other.get(f"/submissions/{submission}").status_code == 404
            assert other.get(f"/submissions/{submission}/scores").status_code == 404
            assert other.get(f"/submissions/{submission}/logs").status_code == 404
            assert other.delete(f"/submissions/{submission}").status_code == 404
    with api(accounts_platform, users["alice"]) as owner:
        assert owner.get(f"/submissions/{submission}").json()["status"] == "queued"
        assert "queued" in owner.get(f"/submissions/{submission}/logs").json()["log"]


def test_public_results_are_readable_by_all_but_logs_cancel_and_hiding_are_not(accounts_platform, users, zip_path):
    submission = upload(accounts_platform, users["alice"], zip_path, public="true").json()["id"]
    with api(accounts_platform, users["bob"]) as bob:
        assert bob.get(f"/submissions/{submission}/scores").json()["status"] == "queued"
        assert bob.get(f"/submissions/{submission}/logs").status_code == 404
        assert bob.delete(f"/submissions/{submission}").status_code == 404
        assert bob.patch(f"/submissions/{submission}", json={"public": False}).status_code == 404
    with api(accounts_platform, users["alice"]) as alice:
        assert alice.patch(f"/submissions/{submission}", json={"hidden": True}).status_code == 403
        assert alice.post(f"/submissions/{submission}/rescore").status_code == 403
    with api(accounts_platform, ADMIN_TOKEN) as admin:
        assert admin.patch(f"/submissions/{submission}", json={"hidden": True}).status_code == 200
        rescored = admin.post(f"/submissions/{submission}/rescore")
        assert rescored.status_code == 200 and rescored.json()["status"] == "queued"
    with api(accounts_platform, users["bob"]) as bob:
        assert bob.get(f"/submissions/{submission}/scores").status_code == 404
    with api(accounts_platform, users["alice"]) as alice:
        assert alice.get(f"/submissions/{submission}/scores").status_code == 200
        assert alice.delete(f"/submissions/{submission}").json()["status"] == "cancelled"


def test_polling_scores_checks_the_submission_then_the_token(accounts_platform, users, zip_path):
    submission = upload(accounts_platform, users["alice"], zip_path, public="true").json()["id"]
    with api(accounts_platform, "cs_never-issued") as stranger:
        assert stranger.get("/submissions/nope/scores").status_code == 404
        response = stranger.get(f"/submissions/{submission}/scores")
        assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    with api(accounts_platform, users["bob"]) as bob:
        scores = bob.get(f"/submissions/{submission}/scores").json()
    assert scores["status"] == "queued" and [row["status"] for row in scores["scores"]] == ["queued"]


def test_a_revoked_token_gets_401(accounts_platform, users):
    with api(accounts_platform, users["bob"]) as bob:
        created = bob.post("/tokens", json={"name": "ci"}).json()
    with api(accounts_platform, created["token"]) as ci:
        assert ci.get("/users/me").json()["name"] == "bob"
        assert ci.delete(f"/tokens/{created['id']}").json()["revoked_at"]
        response = ci.get("/users/me")
        assert response.status_code == 401
        assert "revoked" in response.json()["detail"]
    with api(accounts_platform, "cs_never-issued") as stranger:
        assert stranger.get("/leaderboard").status_code == 200
        assert stranger.get("/users/me").status_code == 401


def test_the_sixth_upload_in_a_day_gets_429_and_a_cancelled_one_does_not_count(accounts_platform, users, zip_path):
    token = users["carol"]
    accepted = [upload(accounts_platform, token, zip_path) for _ in range(5)]
    assert [response.status_code for response in accepted] == [202] * 5
    sixth = upload(accounts_platform, token, zip_path)
    assert sixth.status_code == 429
    assert 0 < int(sixth.headers["Retry-After"]) <= 24 * 3600
    assert "quota" in sixth.json()["detail"]
    with api(accounts_platform, token) as carol:
        assert carol.delete(f"/submissions/{accepted[0].json()['id']}").json()["status"] == "cancelled"
    assert upload(accounts_platform, token, zip_path).status_code == 202
    assert upload(accounts_platform, token, zip_path).status_code == 429


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.1.2.3", "169.254.169.254", "[::1]"])
def test_a_deployed_platform_refuses_callbacks_to_internal_addresses(accounts_platform, users, zip_path, host):
    response = upload(accounts_platform, users["alice"], zip_path, callback_url=f"http://{host}:8001/hook")
    assert response.status_code == 422
    assert "internal address" in response.json()["detail"]["message"]


def test_a_deployed_platform_accepts_a_public_callback_and_returns_its_signing_secret(accounts_platform, users,
                                                                                      zip_path):
    response = upload(accounts_platform, users["alice"], zip_path, callback_url="https://93.184.216.34/hook")
    assert response.status_code == 202, response.text
    with api(accounts_platform, users["alice"]) as alice:
        assert response.json()["webhook_secret"] == alice.get("/users/me").json()["webhook_secret"]
