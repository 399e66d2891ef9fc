"""Issue 13 end to end: `make seed` against a platform `make run` started (its var dir and port) puts the
reference models on the leaderboard through the normal queue, as public submissions of the `reference` account,
marked as such; a user's private model stays off everyone's board but its owner's.

The platform offers the two fixture leaderboard benchmarks (tests/submission_api/platforms.py), so the pixels
baseline scores in seconds; the real datasets' numbers are in docs/benchmarks.md.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cortexscore.client import Client
from tests.conftest import EXAMPLES, ROOT, zip_folder
from tests.submission_api.platforms import FIXTURE_BENCHMARKS, scored_platform  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def make_seed(platform, *seed_args: str) -> subprocess.CompletedProcess:
    """`make seed` as a developer runs it after `make run PORT=... VAR_DIR=...`: no CORTEXSCORE_* in the shell,
    and the venv already installed (``-o`` keeps make from reinstalling it)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CORTEXSCORE_")}
    return subprocess.run(["make", "--no-print-directory", "-o", f"{BIN}/cortexscore", "seed", f"BIN={BIN}",
                           f"PORT={platform.port}", f"VAR_DIR={platform.var}", f"SEED_ARGS={' '.join(seed_args)}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def test_make_seed_scores_the_reference_models_as_the_reference_account(scored_platform, tmp_path):
    seeded = make_seed(scored_platform, "--only", "pixels", "--poll-seconds", "1")
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr + scored_platform.logs()
    # Pixels has no ImageNet logits: the leaderboard suite's neural benchmarks only (here, both fixtures).
    assert f"models pixels on {', '.join(sorted(FIXTURE_BENCHMARKS))}" in seeded.stderr, seeded.stderr
    assert seeded.stderr.strip().splitlines()[-1] == "reference submissions: 1 submitted, 1 completed"
    seeded_id = re.search(r"^submitted pixels \(the pixels baseline\) as (\S+):", seeded.stderr, re.M).group(1)
    board = Client(scored_platform.url).leaderboard()
    [pixels] = [row for row in board["models"] if row["submission_id"] == seeded_id]
    assert (pixels["model"], pixels["reference"]) == ("pixels", True)
    assert pixels["public"] is True
    assert {name: cell["status"] for name, cell in pixels["benchmarks"].items()} == {
        name: "succeeded" for name in FIXTURE_BENCHMARKS}
    users = [row for row in board["models"]
             if row["submission_id"] in (scored_platform.match_submission, scored_platform.custom_submission)]
    assert users and not any(row["reference"] for row in users)
    submission = httpx.get(f"{scored_platform.url}/submissions/{pixels['submission_id']}", timeout=30).json()
    assert submission["status"] == "completed"
    # A user's own submission, private by default, is on their board only, beside the reference models.
    folder = EXAMPLES / "synthetic_match_submission" / "synthetic_match"
    with Client(scored_platform.url, scored_platform.user_token) as owner:
        created = owner.submit(zip_folder(folder, tmp_path / "match.zip"), benchmarks=["Fixture2026.IT-pls"])
        assert owner.wait(created["id"], poll_seconds=1, timeout=600)["status"] == "completed"
        mine = [row for row in owner.leaderboard()["models"] if row["submission_id"] == created["id"]]
    assert [(row["model"], row["public"], row["reference"]) for row in mine] == [("synthetic-match", False, False)]
    everyone = Client(scored_platform.url).leaderboard()["models"]
    assert not [row for row in everyone if row["submission_id"] == created["id"]]
    reference_only = httpx.get(f"{scored_platform.url}/leaderboard", params={"reference": "true"}, timeout=30).json()
    assert pixels["submission_id"] in {row["submission_id"] for row in reference_only["models"]}
