"""The leaderboard JSON, page, model page and layer plot, served by a platform that scored real submissions."""
import re
import xml.etree.ElementTree as ElementTree

import httpx
import pytest

from tests.submission_api.platforms import FIXTURE_BENCHMARKS, scored_platform  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def match(scored_platform) -> dict:
    body = scored_platform.wait_for(scored_platform.match_submission, timeout=600)
    assert body["status"] == "completed", body
    return body


def test_leaderboard_json_ranks_public_models_on_leaderboard_benchmarks_only(scored_platform, match):
    board = httpx.get(f"{scored_platform.url}/leaderboard").json()
    assert board["aggregate_columns"] == ["average", "neural", "V1", "V2", "V4", "IT", "behavior"]
    assert {column["identifier"] for column in board["benchmarks"]} <= set(FIXTURE_BENCHMARKS)
    [row] = [row for row in board["models"] if row["submission_id"] == match["submission_id"]]
    [score] = match["scores"]
    assert row["model"] == "synthetic-match"
    assert row["benchmarks"]["Fixture2026.IT-pls"]["ceiled"] == score["ceiled"]
    assert row["benchmarks"]["Fixture2026.IT-pls"]["score"] == min(max(score["ceiled"], 0), 1)
    clipped = min(max(score["ceiled"], 0), 1)
    # IT alone among the four regions: neural is IT / 4 and the average is neural / 2 (no behaviour yet).
    assert row["aggregate"] == pytest.approx({"IT": clipped, "neural": clipped / 4, "average": clipped / 8})


def test_the_page_and_the_model_page_are_served_with_their_own_assets(scored_platform, match):
    page = httpx.get(f"{scored_platform.url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="leaderboard"' in page.text and "synthetic-match" in page.text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert sorted(assets) == ["/static/leaderboard.css", "/static/leaderboard.js"]
    assert "http" not in "".join(re.findall(r'(?:src)="([^"]+)"', page.text))
    for asset in assets:
        assert httpx.get(scored_platform.url + asset).status_code == 200
    link = re.search(r'href="(/models/[^"]+/synthetic-match)"', page.text).group(1)
    model_page = httpx.get(scored_platform.url + link).text
    [score] = match["scores"]
    assert f"{score['raw']:.3f}" in model_page and f"{score['ceiling']:.3f}" in model_page
    assert f'class="layer">{score["layer"]}<' in model_page
    assert "@misc{cortexscore2026synthetic" in model_page  # the example's get_bibtex, cited on its page
    svg = httpx.get(f"{scored_platform.url}{link}/Fixture2026.IT-pls/layers.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    root = ElementTree.fromstring(svg.text)
    markers = root.findall("{http://www.w3.org/2000/svg}circle")
    assert [marker.get("data-layer") for marker in markers] == list(score["provenance"]["layer_scores"])
    assert [marker.get("data-layer") for marker in markers if marker.get("data-committed") == "true"] == [
        score["layer"]]


def test_private_and_unknown_models_have_no_page(scored_platform, match):
    assert httpx.get(f"{scored_platform.url}/models/{match['submission_id']}/nobody").status_code == 404
    assert httpx.get(f"{scored_platform.url}/models/nope/synthetic-match").status_code == 404
    assert httpx.get(f"{scored_platform.url}/leaderboard/nope/synthetic-match").status_code == 404
