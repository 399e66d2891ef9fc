"""Issue 13 in a real browser: the reference badge and its filter, and an owner's private model on their own page.

A tiny model submitted publicly by the reserved `reference` account, and one submitted (private by default) by
a user, on the fixture leaderboard benchmarks of tests/submission_api/platforms.py.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

import pytest

from cortexscore.client import Client
from tests.browser.test_site import CHROMIUM, browser, page, playwright, visible_models  # noqa: F401 (fixtures)
from tests.submission_api.platforms import ADMIN_TOKEN, scored_platform  # noqa: F401 (fixture)
from tests.zips import tiny_model_source, tutorial_files, write_zip

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    playwright is None or not Path(CHROMIUM).exists(),
    reason="needs playwright (pip) and Debian's chromium at /usr/bin/chromium (.ci/run installs it)")]
BENCHMARK = "Fixture2026.IT-pls"


@pytest.fixture(scope="module")
def marks(scored_platform, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("browser-marks")
    with Client(scored_platform.url, ADMIN_TOKEN) as admin:
        owner = admin.sign_up("browser-owner-13")["token"]
    made = {}
    for name, token, public in (("tiny-seeded", scored_platform.reference_token, True),
                                ("tiny-mine", owner, False)):
        files = tutorial_files(root=f"sub_{name.replace('-', '_')}",
                               **{"models/base_models.py": tiny_model_source(name, seed=7)})
        with Client(scored_platform.url, token) as client:
            created = client.submit(write_zip(folder / f"{name}.zip", files), benchmarks=[BENCHMARK], public=public)
            assert client.wait(created["id"], poll_seconds=1, timeout=600)["status"] == "completed"
        made[name] = created["id"]
    return {"owner": owner, **made}


def test_the_reference_filter_narrows_the_board_to_the_badged_models(scored_platform, marks, page):
    page.goto(scored_platform.url + "/")
    assert "tiny-seeded" in visible_models(page) and "tiny-mine" not in visible_models(page)
    badge = page.locator('#leaderboard tr[data-model="tiny-seeded"] .badge.reference')
    assert badge.inner_text() == "reference"
    page.select_option("#reference-filter", "true")
    shown = visible_models(page)
    assert "tiny-seeded" in shown and "synthetic-match" not in shown
    assert page.eval_on_selector_all("#leaderboard tbody tr:not([hidden])",
                                     "rows => rows.every(row => row.dataset.reference === 'true')")
    assert parse_qs(page.evaluate("location.search")[1:]) == {"reference": ["true"]}
    page.select_option("#reference-filter", "false")
    assert "tiny-seeded" not in visible_models(page) and "synthetic-match" in visible_models(page)


def test_the_owner_sees_their_private_model_badged_and_opens_its_page(scored_platform, marks, page):
    page.goto(f"{scored_platform.url}/?token={marks['owner']}")
    assert "tiny-mine" in visible_models(page)
    row = page.locator('#leaderboard tr[data-model="tiny-mine"]')
    assert row.locator(".badge.private").inner_text() == "private"
    # Changing the view keeps the token in the URL, so that a reload still shows the owner's board.
    page.fill("#search", "tiny")
    assert parse_qs(page.evaluate("location.search")[1:]) == {"token": [marks["owner"]], "q": ["tiny"]}
    page.reload()
    assert "tiny-mine" in visible_models(page)
    row.locator("a.model-link").click()
    page.wait_for_url("**/models/**")
    assert page.locator("#model-name").inner_text().startswith("tiny-mine")
    assert page.locator("#model-name .badge.private").count() == 1
