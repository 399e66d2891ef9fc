"""Issue 15, part 2: a full disk answers 507 and keeps nothing; a killed API's upload leftovers go at start-up."""
import resource
import signal
import sqlite3
import zipfile

import httpx

from tests.conftest import start_platform
from tests.zips import tutorial_files, write_zip

SYNTHETIC = "Synthetic2026.IT-pls"


def test_leftover_of_a_killed_upload_is_removed_at_start_up(tmp_path):
    """A fresh temporary upload no process holds is a leftover, whatever its age: it goes at start-up."""
    var = tmp_path / "var"
    (var / "tmp").mkdir(parents=True)
    leftover = var / "tmp" / "tmpkilled.upload"
    leftover.write_bytes(b"\0" * (8 << 20))
    platform = start_platform(var, scorers=0)
    try:
        assert not leftover.exists(), platform.logs()
        assert "leftover" in platform.logs()
    finally:
        platform.stop()


def test_a_full_disk_answers_507_and_keeps_nothing(tmp_path):
    """The API runs with a 4 MiB limit on the size of any file it writes (RLIMIT_FSIZE, SIGXFSZ ignored): writing
    past it fails as a full disk does, and a 6 MiB upload must answer 507, not 500, leaving no file behind."""
    limit = 4 << 20
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))  # inherited by the platform's processes
    try:
        platform = start_platform(tmp_path / "var", scorers=0)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    try:
        # Stored, not deflated: the zip itself passes the limit.
        path = tmp_path / "big.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
            for name, content in {**tutorial_files(), "my_submission/weights.bin": bytes(6 << 20)}.items():
                archive.writestr(name, content)
        with open(path, "rb") as handle:
            response = httpx.post(f"{platform.url}/submissions", data={"benchmarks": SYNTHETIC}, timeout=60,
                                  files={"file": ("big.zip", handle, "application/zip")})
        assert response.status_code == 507, response.text
        assert response.json()["detail"]["code"] == "insufficient_storage"
        assert "out of storage space" in response.json()["detail"]["message"]
        assert not list((platform.var / "tmp").glob("*"))
        assert not (platform.var / "objects" / "submissions").exists() or not list(
            (platform.var / "objects" / "submissions").iterdir())
        with sqlite3.connect(platform.var / "cortexscore.db") as db:
            assert db.execute("SELECT count(*) FROM submissions").fetchone()[0] == 0
        # A small upload still goes through: the API is not left broken.
        small = write_zip(tmp_path / "small.zip", tutorial_files())
        with open(small, "rb") as handle:
            assert httpx.post(f"{platform.url}/submissions", data={"benchmarks": SYNTHETIC}, timeout=60,
                              files={"file": ("small.zip", handle, "application/zip")}).status_code == 202
    finally:
        platform.stop()
