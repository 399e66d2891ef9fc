"""Issue 15, part 2: nobody can squat the admin account, by signing up or by being there first."""
import sqlite3

import httpx
import pytest

from tests.conftest import start_platform

ADMIN_TOKEN = "cs_operator-admin-token"


@pytest.fixture(scope="module")
def squatted(tmp_path_factory):
    """A platform started without API_ADMIN_TOKEN, where a user signed up; its var dir, and that user's token."""
    var = tmp_path_factory.mktemp("squat")
    platform = start_platform(var, scorers=0)
    try:
        with httpx.Client(base_url=platform.url) as client:
            yield platform, client
    finally:
        platform.stop()


@pytest.mark.parametrize("name", ["admin", "Admin", "ADMIN", "root"])
def test_signing_up_with_a_reserved_name_is_refused(squatted, name):
    platform, client = squatted
    response = client.post("/users", json={"name": name})
    assert response.status_code == 409, response.text
    assert "reserved" in response.json()["detail"]


def test_start_up_never_promotes_an_existing_user_named_admin(squatted):
    """A user who got the name 'admin' before it was reserved stays a plain user when the operator later starts
    the platform with API_ADMIN_TOKEN; the operator is told, and the token is not handed to the squatter."""
    platform, client = squatted
    squatter = client.post("/users", json={"name": "mallory"}).json()["token"]
    platform.stop()
    with sqlite3.connect(platform.var / "cortexscore.db") as db:  # as if signed up as 'admin' before the fix
        db.execute("DELETE FROM api_tokens WHERE user_id IN (SELECT id FROM users WHERE name = 'admin')")
        db.execute("DELETE FROM users WHERE name = 'admin'")  # where the sign-up test got it (unfixed code only)
        db.execute("UPDATE users SET name = 'admin' WHERE name = 'mallory'")
    restarted = start_platform(platform.var, scorers=0, API_ADMIN_TOKEN=ADMIN_TOKEN)
    try:
        with httpx.Client(base_url=restarted.url) as fresh:
            me = fresh.get("/users/me", headers={"Authorization": f"Bearer {squatter}"}).json()
            assert me["name"] == "admin" and me["is_admin"] is False
            assert fresh.get("/users/me", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 401
        assert "does not promote" in restarted.logs()
    finally:
        restarted.stop()
