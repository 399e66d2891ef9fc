"""Issue 14 in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium) over a platform with three
scored tiny models on two leaderboard benchmarks (different metrics, so that weights can reorder the board).

Covers filtering, weights that reorder the page and the URL, the CSV download, a benchmark page with thumbnails,
a comparison, a live log line while a job runs, and the queue position of a second submission. Each test saves a
screenshot under its tmp dir.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from cortexscore.client import Client
from cortexscore.storage import open_store
from tests.conftest import start_platform
from tests.zips import tiny_model_source, tutorial_files, write_zip

CHROMIUM = "/usr/bin/chromium"
try:
    import playwright  # noqa: F401
except ImportError:  # pragma: no cover
    playwright = None
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    playwright is None or not Path(CHROMIUM).exists(),
    reason="needs playwright (pip) and Debian's chromium at /usr/bin/chromium (.ci/run installs it)")]

ADMIN_TOKEN = "cs_site-admin-token"
# name -> (region, the synthetic variant whose data and metric it reuses)
BENCHMARKS = {"Site2026.V1-pls": ("V1", "Synthetic2026.IT-pls"), "Site2026.IT-ridge": ("IT", "Synthetic2026.IT-ridge")}
MODELS = {"tiny-alpha": ("CNN", 1), "tiny-beta": ("CNN", 2), "tiny-gamma": ("ViT", 3)}
SLOW_HOOK = "import time\nprint('site-tick forward pass', flush=True)\ntime.sleep(2)"


def register_benchmarks(platform) -> None:
    store = open_store(str(platform.var / "store"))
    deadline = time.monotonic() + 120
    for identifier, (region, source) in BENCHMARKS.items():
        key = f"catalog/{source}/v1.json"
        while not store.exists(key):
            assert time.monotonic() < deadline, "the store never registered the synthetic benchmarks"
            time.sleep(0.5)
        spec = {**json.loads(b"".join(store.iter_chunks(key))), "identifier": identifier, "region": region,
                "leaderboard": True, "synthetic": False, "citation": f"@misc{{{identifier}, title={{site fixture}}}}"}
        document = platform.var / f"{identifier}.json"
        document.write_text(json.dumps(spec))
        store.put_file(f"catalog/{identifier}/v1.json", document)


def model_zip(folder: Path, name: str, *, seed: int, hook: str = "pass", metadata: str | None = None) -> Path:
    files = tutorial_files(root=f"sub_{name.replace('-', '_')}",
                           **{"models/base_models.py": tiny_model_source(name, forward_hook=hook, seed=seed)},
                           **({"metadata.yaml": metadata} if metadata is not None else {}))
    return write_zip(folder / f"{name}.zip", files)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    var = tmp_path_factory.mktemp("site")
    platform = start_platform(var, scorers=1, API_ADMIN_TOKEN=ADMIN_TOKEN, SCORER_HEARTBEAT_SECONDS="1")
    try:
        register_benchmarks(platform)
        with Client(platform.url, ADMIN_TOKEN) as admin:
            platform.user_token = admin.sign_up("site-user")["token"]
        ids = []
        with Client(platform.url, platform.user_token) as client:
            for name, (architecture, seed) in MODELS.items():
                metadata = f"architecture: {architecture}\nfamily: tiny\ntraining_data: none\nlicence: MIT\n"
                path = model_zip(var, name, seed=seed, metadata=metadata)
                ids.append(client.submit(path, benchmarks=list(BENCHMARKS), public=True)["id"])
        for submission_id in ids:
            assert platform.wait_for(submission_id, timeout=300)["status"] == "completed", platform.logs()
        yield platform
    finally:
        platform.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    yield page
    page.screenshot(path=str(tmp_path / "screenshot.png"), full_page=True)
    context.close()


def visible_models(page) -> list[str]:
    return page.eval_on_selector_all("#leaderboard tbody tr:not([hidden])",
                                     "rows => rows.map(row => row.getAttribute('data-model'))")


def board_order(site, **params) -> list[str]:
    return [row["model"] for row in httpx.get(f"{site.url}/leaderboard", params=params).json()["models"]]


def test_filters_and_search_narrow_the_board(site, page):
    page.goto(site.url + "/")
    assert sorted(visible_models(page)) == sorted(MODELS)
    page.select_option("select[data-filter=architecture]", "ViT")
    assert visible_models(page) == ["tiny-gamma"]
    assert parse_qs(urlsplit(page.url).query)["architecture"] == ["ViT"]
    page.select_option("select[data-filter=architecture]", "CNN")
    assert sorted(visible_models(page)) == ["tiny-alpha", "tiny-beta"]
    page.fill("#search", "beta")
    assert visible_models(page) == ["tiny-beta"]
    assert parse_qs(urlsplit(page.url).query) == {"q": ["beta"], "architecture": ["CNN"]}
    # The URL alone restores the view.
    page.goto(page.url)
    assert visible_models(page) == ["tiny-beta"]
    assert page.input_value("#search") == "beta"


def test_weights_reorder_the_page_and_the_url(site, page):
    default = board_order(site)
    candidates = {name: board_order(site, w=f"{name}:0") for name in BENCHMARKS}
    changed = {name: order for name, order in candidates.items() if order != default}
    assert changed, f"no single benchmark reorders the board: {default} {candidates}"
    name, expected = next(iter(changed.items()))
    page.goto(site.url + "/")
    assert visible_models(page) == default
    page.click("#benchmark-panel summary")
    page.fill(f'input.bench-weight[data-benchmark="{name}"]', "0")
    assert visible_models(page) == expected
    assert parse_qs(urlsplit(page.url).query)["w"] == [f"{name}:0"]
    ranks = page.eval_on_selector_all("#leaderboard tbody tr:not([hidden]) td.rank", "cells => cells.map(c => c.textContent)")
    assert ranks == ["1", "2", "3"]
    # The server ranks the same URL the same way.
    page.goto(page.url)
    assert visible_models(page) == expected


def test_csv_download_holds_the_view(site, page, tmp_path):
    page.goto(site.url + "/?architecture=CNN")
    with page.expect_download() as info:
        page.click("#download-csv")
    path = tmp_path / "leaderboard.csv"
    info.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert sorted(row["model"] for row in rows) == ["tiny-alpha", "tiny-beta"]
    for row in rows:
        for benchmark in BENCHMARKS:
            assert row[f"{benchmark}:raw"] and row[f"{benchmark}:ceiling"] and row[f"{benchmark}:ceiled"]
            assert row[f"{benchmark}:error"] != ""


def test_a_benchmark_page_with_thumbnails(site, page):
    page.goto(site.url + "/")
    page.click('a.bench-link[href="/benchmarks/Site2026.IT-ridge"]')
    assert page.inner_text("#benchmark-name") == "Site2026.IT-ridge"
    page.wait_for_function("() => Array.from(document.querySelectorAll('#thumbnails img')).every(i => i.complete)")
    widths = page.eval_on_selector_all("#thumbnails img", "images => images.map(i => i.naturalWidth)")
    assert widths and all(width > 0 for width in widths)
    assert "±" in page.inner_text("#ceiling")
    assert "Site2026.V1-pls" in page.inner_text("#correlations")
    assert page.query_selector("#histogram svg rect") is not None


def test_a_comparison_page(site, page):
    page.goto(site.url + "/compare?models=tiny-alpha,tiny-gamma")
    assert page.eval_on_selector_all("#compare thead th[data-model]", "ths => ths.map(t => t.dataset.model)") == [
        "tiny-alpha", "tiny-gamma"]
    assert page.query_selector_all("#compare small.error")
    lines = page.query_selector_all('figure.plot[data-benchmark="Site2026.V1-pls"] svg polyline')
    assert len(lines) == 2


def test_live_log_and_the_queue_position_of_a_second_submission(site, page):
    with Client(site.url, site.user_token) as client:
        slow = client.submit(model_zip(site.var, "tiny-slow", seed=4, hook=SLOW_HOOK),
                             benchmarks=["Site2026.V1-pls"], public=True)["id"]
        second = client.submit(model_zip(site.var, "tiny-second", seed=5),
                               benchmarks=["Site2026.V1-pls"], public=True)["id"]
    queue = httpx.get(f"{site.url}/queue", params={"submission": second}).json()
    [place] = [entry for entry in queue["submissions"] if entry["submission_id"] == second]
    assert place["position"] >= 1 and place["eta_seconds"] > 0
    page.goto(f"{site.url}/submissions/{slow}/page?token={site.user_token}")
    page.wait_for_selector("#live-log .log-line:has-text('site-tick')", timeout=120_000)
    second_page = page.context.new_page()
    second_page.goto(f"{site.url}/submissions/{second}/page?token={site.user_token}")
    position = second_page.inner_text("#position")
    assert position.isdigit() and int(position) >= 1, position
    second_page.close()
    page.goto(f"{site.url}/queue")
    assert second in page.inner_text("#queue-submissions")
    assert site.wait_for(second, timeout=300)["status"] == "completed"


def column(page, key: str) -> list[float | None]:
    index = page.evaluate("key => 2 + JSON.parse(document.getElementById('leaderboard').dataset.leaves).indexOf(key)",
                          key)
    values = page.eval_on_selector_all(f"#leaderboard tbody tr td:nth-child({index + 1})",
                                       "cells => cells.map(c => c.getAttribute('data-value'))")
    return [float(value) if value else None for value in values]


def test_sort_collapse_and_open_a_model_page(site, page):
    page.goto(site.url + "/")
    assert page.title() == "CortexScore leaderboard"
    for source in page.eval_on_selector_all("script[src], link[href]", "els => els.map(e => e.src || e.href)"):
        assert urlsplit(source).netloc == urlsplit(site.url).netloc, source
    groups = page.eval_on_selector_all("#leaderboard th.group", "ths => ths.map(t => t.dataset.group)")
    assert groups == ["neural", "behavior", "V1", "V2", "V4", "IT"]
    average = page.locator('th[data-col="average"]')
    average.click()
    assert average.get_attribute("aria-sort") == "ascending"  # the page loads sorted by average, descending
    ascending = column(page, "average")
    assert ascending == sorted(ascending)
    # Collapsing V1 hides its benchmark and keeps its aggregate.
    page.click('th.group[data-group="V1"]')
    assert page.locator('th[data-col="Site2026.V1-pls"]').is_hidden()
    assert page.locator('th[data-col="V1"]').is_visible()
    assert page.get_attribute('th.group[data-group="V1"]', "colspan") == "1"
    page.click('th.group[data-group="V1"]')
    assert page.locator('th[data-col="Site2026.V1-pls"]').is_visible()
    page.click("a.model-link >> text=tiny-gamma")
    assert page.inner_text("#model-name") == "tiny-gamma"
    assert "ViT" in page.inner_text("#model-card")
    committed = page.eval_on_selector_all('figure.plot[data-benchmark="Site2026.IT-ridge"] circle[data-committed=true]',
                                          "cs => cs.map(c => c.dataset.layer)")
    assert committed == ["conv1"]


def test_a_malformed_metadata_yaml_is_a_named_422(site, tmp_path):
    path = model_zip(tmp_path, "tiny-bad", seed=6, metadata="architecture: [unclosed\n")
    with open(path, "rb") as handle:
        response = httpx.post(f"{site.url}/submissions", files={"file": handle},
                              headers={"Authorization": f"Bearer {site.user_token}"})
    assert response.status_code == 422 and response.json()["detail"]["code"] == "invalid_metadata"
