"""Issue 13: the reserved `reference` account, which `make seed` submits the reference models with.

`make run` (scripts/run_platform.py) writes its token to var/reference-token once and hands it to the API as
API_REFERENCE_TOKEN; start-up makes the account hold it. Nobody can sign up as `reference`.
"""
import sqlite3

import httpx
import pytest

from submission_api.core.config import ApiSettings
from tests.conftest import start_platform

OPERATOR_TOKEN = "cs_operator-chosen-reference-token"


def me(platform, token: str) -> httpx.Response:
    return httpx.get(f"{platform.url}/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """A platform started as `make run` starts it (no API_REFERENCE_TOKEN in the environment)."""
    platform = start_platform(tmp_path_factory.mktemp("reference"), scorers=0)
    yield platform
    platform.stop()


def test_make_run_writes_the_reference_token_once_and_the_api_gives_it_to_the_reference_account(embedded):
    path = embedded.var / "reference-token"
    assert path.stat().st_mode & 0o777 == 0o600
    token = path.read_text().strip()
    assert token.startswith("cs_") and len(token) > 40
    answer = me(embedded, token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "reference" and answer.json()["is_admin"] is False


@pytest.mark.parametrize("name", ["reference", "Reference", "REFERENCE"])
def test_nobody_signs_up_as_reference(embedded, name):
    response = httpx.post(f"{embedded.url}/users", json={"name": name}, timeout=30)
    assert response.status_code == 409, response.text
    assert response.json()["detail"] == (f"the user name {name!r} is reserved for the platform's reference models "
                                         "(`make seed` submits them with the reference account's token); choose "
                                         "another")


def test_a_new_token_replaces_the_one_start_up_gave_before(tmp_path):
    """Restarted with another API_REFERENCE_TOKEN (the environment wins over var/reference-token), the account
    holds the new token and the old one is revoked; the file is kept as it was."""
    first = start_platform(tmp_path, scorers=0)
    embedded_token = (tmp_path / "reference-token").read_text().strip()
    first.stop()
    second = start_platform(tmp_path, scorers=0, API_REFERENCE_TOKEN=OPERATOR_TOKEN)
    try:
        assert me(second, OPERATOR_TOKEN).json()["name"] == "reference"
        assert me(second, embedded_token).status_code == 401
        assert (tmp_path / "reference-token").read_text().strip() == embedded_token
    finally:
        second.stop()


def test_start_up_never_adopts_a_user_who_signed_up_as_reference_before_the_name_was_reserved(tmp_path):
    first = start_platform(tmp_path, scorers=0, API_REFERENCE_TOKEN=OPERATOR_TOKEN)
    squatter = httpx.post(f"{first.url}/users", json={"name": "mallory"}, timeout=30).json()["token"]
    first.stop()
    with sqlite3.connect(tmp_path / "cortexscore.db") as db:  # as if mallory had signed up as 'reference' first
        db.execute("DELETE FROM api_tokens WHERE user_id IN (SELECT id FROM users WHERE name = 'reference')")
        db.execute("DELETE FROM users WHERE name = 'reference'")
        db.execute("UPDATE users SET name = 'reference' WHERE name = 'mallory'")
    restarted = start_platform(tmp_path, scorers=0, API_REFERENCE_TOKEN=OPERATOR_TOKEN)
    try:
        assert me(restarted, OPERATOR_TOKEN).status_code == 401  # not handed to the squatter
        assert me(restarted, squatter).json()["name"] == "reference"
        assert "no reference account: user" in restarted.logs() and "was not created by start-up" in restarted.logs()
    finally:
        restarted.stop()


@pytest.mark.parametrize("value, problem", [("change-me-reference-token", "is a placeholder"),
                                            ("short", "has 5 characters, fewer than 16")])
def test_a_placeholder_reference_token_is_refused(value, problem):
    with pytest.raises(ValueError, match=f"API_REFERENCE_TOKEN {problem}"):
        ApiSettings(worker_token="w" * 32, reference_token=value)
