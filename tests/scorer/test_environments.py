"""Submissions with their own dependencies: wheels from a local package index, built once, refused by name."""
from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, start_platform
from tests.zips import tiny_model_source, tutorial_files, write_zip

pytestmark = pytest.mark.slow
BENCHMARK = "Synthetic2026.IT-pls"


def make_wheel(folder: Path, name: str, version: str, files: dict[str, str | bytes], requires=()) -> Path:
    """A pure-Python wheel, written as the wheel format says: files, METADATA, WHEEL and RECORD."""
    module = name.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    contents = {**files, f"{info}/METADATA": "Metadata-Version: 2.1\nName: {}\nVersion: {}\n{}".format(
        name, version, "".join(f"Requires-Dist: {item}\n" for item in requires)),
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: cortexscore-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for path, content in contents.items():
        data = content.encode() if isinstance(content, str) else content
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    contents[f"{info}/RECORD"] = "\n".join(record + [f"{info}/RECORD,,"]) + "\n"
    target = folder / name / f"{module}-{version}-py3-none-any.whl"
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w") as archive:
        for path, content in contents.items():
            archive.writestr(path, content)
    return target


@pytest.fixture(scope="module")
def package_index(tmp_path_factory):
    """A PEP 503 index of a few test packages, served over HTTP on 127.0.0.1 (directory listings are its pages)."""
    root = tmp_path_factory.mktemp("index")
    simple = root / "simple"
    make_wheel(simple, "cortexscore-testdep", "1.0", {"cortexscore_testdep/__init__.py":
                                                      "from cortexscore_testhelper import OFFSET\nSCALE = 3.0 + OFFSET\n"},
               requires=["cortexscore-testhelper>=0.1"])
    make_wheel(simple, "cortexscore-testhelper", "0.2", {"cortexscore_testhelper/__init__.py": "OFFSET = 0.0\n"})
    make_wheel(simple, "cortexscore-big", "1.0", {"cortexscore_big/data.bin": bytes(range(256)) * 2048})
    (simple / "cortexscore-sdistonly").mkdir()
    (simple / "cortexscore-sdistonly" / "cortexscore_sdistonly-1.0.tar.gz").write_bytes(b"not built, ever")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/simple"
    for _ in range(100):
        try:
            httpx.get(url + "/", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait()


@pytest.fixture(scope="module")
def dependency_platform(tmp_path_factory, package_index):
    running = start_platform(tmp_path_factory.mktemp("deps") / "var", scorers=1,
                             SCORER_PACKAGE_INDEX_URL=package_index, SCORER_MAX_ENVIRONMENT_BYTES=str(100_000))
    yield running
    running.stop()


USES_TESTDEP = "import cortexscore_testdep\nx = x * cortexscore_testdep.SCALE"


def submission(tmp_path: Path, name: str, requirements: str, setup_requires: list[str] | None = None) -> Path:
    files = tutorial_files(root=f"sub_{name}", **{"models/base_models.py": tiny_model_source(name, USES_TESTDEP),
                                                  "requirements.txt": requirements})
    if setup_requires is not None:
        files[f"sub_{name}/setup.py"] = f"from setuptools import setup\nsetup(name='s', install_requires={setup_requires!r})\n"
    return write_zip(tmp_path / f"{name}.zip", files)


def run(platform, path: Path) -> tuple[dict, str]:
    with platform.client() as client, open(path, "rb") as handle:
        created = client.post("/submissions", files={"file": handle}, data={"benchmarks": BENCHMARK})
        assert created.status_code == 202, created.text
        body = platform.wait_for(created.json()["id"], timeout=600)
        # An anonymous upload's log is its uploader's: the owner secret the upload answered with.
        return body, client.get(f"/submissions/{created.json()['id']}/logs",
                                headers={"X-Owner-Secret": created.json()["owner_secret"]}).json()["log"]


def test_a_wheel_only_dependency_is_installed_once_and_reused(dependency_platform, tmp_path):
    tutorial = ["model-tools @ git+https://github.com/brain-score/model-tools.git", "numpy", "torch"]
    first, first_log = run(dependency_platform, submission(tmp_path, "first", "cortexscore-testdep==1.0\n", tutorial))
    [score] = first["scores"]
    assert first["status"] == "completed", (score.get("message"), first_log[-2000:])
    assert score["provenance"]["environment"] == {"cortexscore-testdep": "1.0", "cortexscore-testhelper": "0.2"}
    assert "built environment" in first_log and "cortexscore-testhelper==0.2" in first_log
    second, second_log = run(dependency_platform, submission(tmp_path, "second", "cortexscore-testdep==1.0\n"))
    assert second["status"] == "completed" and "reusing the built environment" in second_log
    assert "building an environment" not in second_log


@pytest.mark.parametrize("name, requirements, problem", [
    ("sdist_only", "cortexscore-sdistonly==1.0\n", "no binary wheel of cortexscore-sdistonly==1.0 for this platform"),
    ("platform_pin", "numpy<1.0\n", "conflicts with the platform's numpy"),
    ("too_large", "cortexscore-big\n", "over the limit of 100,000 bytes per submission environment"),
    ("url", "mylib @ https://example.org/mylib-1.0-py3-none-any.whl\n", "names a URL or a path"),
])
def test_refused_requirements_fail_with_a_named_cause(dependency_platform, tmp_path, name, requirements, problem):
    body, log = run(dependency_platform, submission(tmp_path, name, requirements))
    [score] = body["scores"]
    assert body["status"] == "failed" and score["attempts"] == 1, score
    assert problem in score["message"], score["message"]
