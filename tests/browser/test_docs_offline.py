"""/docs renders in headless Chromium with every host but the platform's unreachable (no CDN)."""
import shutil

import httpx
import pytest

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")


def test_docs_render_offline_and_hide_the_scorers_protocol(platform, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    schema = httpx.get(f"{platform.url}/openapi.json", timeout=30).json()
    assert not [path for path in schema["paths"] if path.startswith("/internal")]
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # No name resolves but the loopback: a page that needs a CDN cannot load its scripts.
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--window-size=1400,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.get(f"{platform.url}/docs")
        title = WebDriverWait(driver, 30).until(
            expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, ".swagger-ui .info .title")))
        assert "CortexScore submission API" in title.text
        operations = driver.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
        paths = {element.get_attribute("data-path") for element in operations}
        assert "/submissions" in paths and not any(path.startswith("/internal") for path in paths)
        driver.save_screenshot(str(tmp_path / "docs-offline.png"))
    finally:
        driver.quit()
