"""The leaderboard in headless Chromium (Debian's chromium + chromium-driver, driven by Selenium).

It loads the page the platform serves, sorts a column, opens a model page,
and saves screenshots under tests/artifacts/.
"""
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.submission_api.platforms import scored_platform  # noqa: F401 (fixture)

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1500,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def scored(scored_platform):
    for submission in (scored_platform.match_submission, scored_platform.custom_submission):
        assert scored_platform.wait_for(submission, timeout=600)["status"] == "completed"
    return scored_platform


def column_values(browser, column: str) -> list[float | None]:
    from selenium.webdriver.common.by import By

    headers = browser.find_elements(By.CSS_SELECTOR, "#leaderboard thead th")
    index = [header.get_attribute("data-column") for header in headers].index(column)
    cells = browser.find_elements(By.CSS_SELECTOR, f"#leaderboard tbody tr td:nth-child({index + 1})")
    return [float(cell.get_attribute("data-value")) if cell.get_attribute("data-value") else None for cell in cells]


def models_in_order(browser) -> list[str]:
    from selenium.webdriver.common.by import By

    return [row.get_attribute("data-model") for row in browser.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr")]


def test_sort_a_column_and_open_a_model_page(scored, browser):
    from selenium.webdriver.common.by import By

    ARTIFACTS.mkdir(exist_ok=True)
    browser.get(scored.url + "/")
    assert browser.title == "CortexScore leaderboard"
    headers = [header.text for header in browser.find_elements(By.CSS_SELECTOR, "#leaderboard thead th")]
    assert headers[:9] == ["#", "Model", "average", "neural", "V1", "V2", "V4", "IT", "behavior"]
    assert headers[9:] == ["Fixture2026.V1-pls", "Fixture2026.IT-pls"]
    assert sorted(models_in_order(browser)) == ["my-model", "synthetic-match"]
    # Every asset comes from the platform itself.
    for element in browser.find_elements(By.CSS_SELECTOR, "script[src], link[href]"):
        source = element.get_attribute("src") or element.get_attribute("href")
        assert urlsplit(source).netloc == urlsplit(scored.url).netloc, source
    scores = browser.find_elements(By.CSS_SELECTOR, "#leaderboard td.score")
    assert scores and all(0 <= float(cell.text) <= 1 and "background" in cell.get_attribute("style")
                          for cell in scores)
    browser.save_screenshot(str(ARTIFACTS / "leaderboard.png"))

    v1 = browser.find_element(By.CSS_SELECTOR, 'th[data-column="V1"]')
    v1.click()
    assert v1.get_attribute("aria-sort") == "descending"
    # Only my-model was scored on V1: it leads, synthetic-match (no V1 score) goes last.
    assert models_in_order(browser) == ["my-model", "synthetic-match"]
    assert column_values(browser, "V1")[-1] is None
    browser.save_screenshot(str(ARTIFACTS / "leaderboard-sorted-v1.png"))
    it = browser.find_element(By.CSS_SELECTOR, 'th[data-column="IT"]')
    it.click()
    assert it.get_attribute("aria-sort") == "descending" and v1.get_attribute("aria-sort") is None
    assert models_in_order(browser) == ["synthetic-match", "my-model"]
    average = browser.find_element(By.CSS_SELECTOR, 'th[data-column="average"]')
    average.click()
    descending = column_values(browser, "average")
    assert average.get_attribute("aria-sort") == "descending" and descending == sorted(descending, reverse=True)
    order = models_in_order(browser)
    average.click()
    assert average.get_attribute("aria-sort") == "ascending" and column_values(browser, "average") == descending[::-1]
    assert models_in_order(browser) == order[::-1]

    browser.find_element(By.LINK_TEXT, "synthetic-match").click()
    assert browser.find_element(By.ID, "model-name").text == "synthetic-match"
    row = browser.find_element(By.CSS_SELECTOR, '#benchmarks tr[data-benchmark="Fixture2026.IT-pls"]')
    cells = [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
    assert cells[2] == "succeeded" and cells[-1] == "features"
    assert all(cells[index] not in ("", "—") for index in range(3, 8)), cells
    plot = browser.find_element(By.CSS_SELECTOR, 'figure.plot[data-benchmark="Fixture2026.IT-pls"] svg')
    committed = plot.find_elements(By.CSS_SELECTOR, 'circle[data-committed="true"]')
    assert [circle.get_attribute("data-layer") for circle in committed] == ["features"]
    assert browser.find_element(By.ID, "bibtex").text
    browser.save_screenshot(str(ARTIFACTS / "model-synthetic-match.png"))
