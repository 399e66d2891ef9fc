"""Issue 13 on a real platform: reference models are marked on the board, and a private model is on its owner's
board only (JSON, CSV, the model's entry and the page), marked private; the empty board says how to fill it."""
import re
from types import SimpleNamespace

import httpx
import pytest

from cortexscore.client import Client
from tests.submission_api.platforms import ADMIN_TOKEN, scored_platform  # noqa: F401 (fixture)
from tests.zips import tiny_model_source, tutorial_files, write_zip

BENCHMARK = "Fixture2026.IT-pls"


def tiny_zip(folder, name: str, seed: int):
    files = tutorial_files(root=f"sub_{name.replace('-', '_')}",
                           **{"models/base_models.py": tiny_model_source(name, seed=seed)})
    return write_zip(folder / f"{name}.zip", files)


def board(platform, token: str | None = None, **query) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{platform.url}/leaderboard", params=query, headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def rows_of(body: dict, submission_id: str) -> list[dict]:
    return [row for row in body["models"] if row["submission_id"] == submission_id]


@pytest.fixture(scope="module")
def marked(scored_platform, tmp_path_factory):
    """A tiny model submitted publicly by the reference account, and one submitted (private by default) by
    owner-13; stranger-13 has an account and nothing else."""
    folder = tmp_path_factory.mktemp("marks")
    with Client(scored_platform.url, ADMIN_TOKEN) as admin:
        owner, stranger = (admin.sign_up(name)["token"] for name in ("owner-13", "stranger-13"))
    with Client(scored_platform.url, scored_platform.reference_token) as reference:
        seeded = reference.submit(tiny_zip(folder, "tiny-reference", 1), benchmarks=[BENCHMARK], public=True)
    with Client(scored_platform.url, owner) as client:
        private = client.submit(tiny_zip(folder, "tiny-private", 2), benchmarks=[BENCHMARK])
    for token, created in ((scored_platform.reference_token, seeded), (owner, private)):
        with Client(scored_platform.url, token) as client:  # a private submission answers its owner only
            ended = client.wait(created["id"], poll_seconds=1, timeout=600)
        assert ended["status"] == "completed", scored_platform.logs()
    return SimpleNamespace(owner=owner, stranger=stranger, seeded=seeded, private=private)


def test_the_202_answer_says_who_sees_the_submission_and_how_to_change_it(marked):
    assert marked.private["public"] is False and marked.seeded["public"] is True
    assert marked.private["visibility"] == (
        "private: on the leaderboard only for you (GET /leaderboard with your token, or /?token=<token>); make it "
        f"public with PATCH /submissions/{marked.private['id']} and the body {{\"public\": true}}, or upload with "
        "public=true (`cortexscore submit --public`)")
    assert marked.seeded["visibility"].startswith("public: everyone sees its models on the leaderboard")


def test_reference_models_are_marked_and_the_board_filters_on_the_mark(scored_platform, marked):
    everyone = board(scored_platform)
    [seeded] = rows_of(everyone, marked.seeded["id"])
    assert (seeded["model"], seeded["reference"], seeded["public"]) == ("tiny-reference", True, True)
    others = [row for row in everyone["models"] if row["submission_id"] == scored_platform.match_submission]
    assert others and all(row["reference"] is False for row in others)
    only = board(scored_platform, reference="true")["models"]
    assert only and all(row["reference"] for row in only) and rows_of({"models": only}, marked.seeded["id"])
    assert [row["rank"] for row in only] == list(range(1, len(only) + 1))
    unmarked = board(scored_platform, reference="false")["models"]
    assert unmarked and not any(row["reference"] for row in unmarked)
    assert len(only) + len(unmarked) == len(everyone["models"])
    entry = httpx.get(f"{scored_platform.url}/leaderboard/{marked.seeded['id']}/tiny-reference", timeout=60).json()
    assert entry["reference"] is True and entry["public"] is True


def test_a_private_model_is_on_its_owners_board_only(scored_platform, marked):
    submission = marked.private["id"]
    assert rows_of(board(scored_platform), submission) == []
    assert rows_of(board(scored_platform, marked.stranger), submission) == []
    [row] = rows_of(board(scored_platform, marked.owner), submission)
    assert (row["model"], row["public"], row["reference"]) == ("tiny-private", False, False)
    assert row["benchmarks"][BENCHMARK]["status"] == "succeeded"
    # The token may come as ?token= too (a browser's link); the owner's public rows are the same as everyone's.
    assert rows_of(board(scored_platform, token=marked.owner), submission) == [row]
    assert len(board(scored_platform, marked.owner)["models"]) == len(board(scored_platform)["models"]) + 1
    csv = httpx.get(f"{scored_platform.url}/leaderboard.csv", headers={"Authorization": f"Bearer {marked.owner}"},
                    timeout=60)
    assert csv.headers["cache-control"] == "private" and f"tiny-private,{submission}," in csv.text
    assert submission not in httpx.get(f"{scored_platform.url}/leaderboard.csv", timeout=60).text
    path = f"{scored_platform.url}/leaderboard/{submission}/tiny-private"
    assert httpx.get(path, timeout=60).status_code == 404
    assert httpx.get(path, headers={"Authorization": f"Bearer {marked.stranger}"}, timeout=60).status_code == 404
    entry = httpx.get(path, headers={"Authorization": f"Bearer {marked.owner}"}, timeout=60).json()
    assert entry["public"] is False and entry["model"] == "tiny-private"
    # The board is public: an unknown token shows it as to anyone (as before issue 13), never 401.
    unknown = board(scored_platform, "cs_not-a-token")
    assert rows_of(unknown, submission) == [] and len(unknown["models"]) == len(board(scored_platform)["models"])


def test_the_page_badges_reference_and_private_models(scored_platform, marked):
    submission = marked.private["id"]
    everyone = httpx.get(f"{scored_platform.url}/", timeout=60).text
    row = re.search(rf'<tr data-model="tiny-reference" data-submission="{marked.seeded["id"]}" '
                    r'data-reference="true" data-public="true".*?</tr>', everyone, re.S)
    assert row and '<span class="badge reference"' in row.group(0)
    assert submission not in everyone and 'class="badge private"' not in everyone
    assert 'id="reference-filter"' in everyone
    assert "reserved <code>reference</code> account (<code>make seed</code>)" in everyone
    stranger = httpx.get(f"{scored_platform.url}/", params={"token": marked.stranger}, timeout=60).text
    assert submission not in stranger
    owner = httpx.get(f"{scored_platform.url}/", params={"token": marked.owner}, timeout=60)
    assert owner.headers["cache-control"] == "private"
    row = re.search(rf'<tr data-model="tiny-private" data-submission="{submission}" data-reference="false" '
                    r'data-public="false".*?</tr>', owner.text, re.S)
    assert row and '<span class="badge private"' in row.group(0) and "your own" in owner.text
    # Its link keeps the token, so that the owner's model page opens; without the token it is not there.
    link = re.search(r'href="(/models/[^"]+/tiny-private\?token=[^"]+)"', row.group(0)).group(1)
    page = httpx.get(scored_platform.url + link.replace("&amp;", "&"), timeout=60)
    assert page.status_code == 200 and 'class="badge private"' in page.text
    assert httpx.get(f"{scored_platform.url}/models/{submission}/tiny-private", timeout=60).status_code == 404
    only = httpx.get(f"{scored_platform.url}/", params={"reference": "true"}, timeout=60).text
    shown = re.findall(r'<tr data-model="[^"]+" data-submission="[^"]+" data-reference="(\w+)"[^>]*?(hidden)?>', only)
    assert shown and all(hidden or mark == "true" for mark, hidden in shown)


def test_an_empty_board_says_how_to_get_onto_it(platform):
    """The session's plain platform has no leaderboard benchmark, so nothing is ranked on it."""
    page = httpx.get(f"{platform.url}/", timeout=60).text
    [empty] = re.findall(r'<p id="empty">(.*?)</p>', page, re.S)
    assert empty.startswith("No public model has been scored yet. Run <code>make seed</code> to score the "
                            "reference models, or submit yours: <code>cortexscore submit my_submission --public "
                            "--wait</code>")
    assert f"-F public=true {platform.url}/submissions" in empty
