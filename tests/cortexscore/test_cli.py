"""The `cortexscore` command against a running platform, run as a user runs it: a separate process."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, free_port
from tests.submission_api.platforms import FIXTURE_BENCHMARKS, scored_platform  # noqa: F401 (fixture)
from tests.zips import tutorial_files, write_zip

CLI = Path(sys.executable).with_name("cortexscore")
BENCHMARKS = ",".join(FIXTURE_BENCHMARKS)


def cortexscore(*args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "HOME": str(Path.home())})


def submitted_id(result: subprocess.CompletedProcess) -> str:
    return re.search(r"submitted (\S+):", result.stderr).group(1)


def test_submit_wait_prints_the_score_table_and_exits_0_when_completed(scored_platform):
    folder = EXAMPLES / "custom_model_submission" / "my_custom_submission"
    owner = ("--url", scored_platform.url, "--token", scored_platform.user_token)
    result = cortexscore("submit", folder, *owner, "--benchmarks", "Fixture2026.IT-pls", "--wait",
                         "--poll-seconds", "1")
    assert result.returncode == 0, result.stdout + result.stderr + scored_platform.logs()
    [row] = [line for line in result.stdout.splitlines() if "my-model" in line and "Fixture2026.IT-pls" in line]
    assert "succeeded" in row and re.search(r"0\.\d{4}.*(conv1|relu1|relu2)", row), row
    assert re.search(r"my-model: average 0\.\d{4}, neural 0\.\d{4}, IT 0\.\d{4}", result.stdout)
    submission = submitted_id(result)
    printed = cortexscore("scores", submission, "--json", *owner).stdout
    scores = json.loads(printed)
    assert scores["status"] == "completed" and [entry["status"] for entry in scores["scores"]] == ["succeeded"]
    average = scores["aggregate"]["my-model"]["average"]
    assert f"average {average:.4f}" in result.stdout
    status = cortexscore("status", submission, *owner)
    assert status.returncode == 0 and "completed" in status.stdout
    assert "committed layer" in cortexscore("logs", submission, *owner).stdout
    # Private by default: without the owner's token the submission does not exist.
    hidden = cortexscore("scores", submission, "--url", scored_platform.url)
    assert hidden.returncode == 2 and "404" in hidden.stderr


def test_submit_wait_exits_1_when_every_benchmark_fails(scored_platform, tmp_path):
    # The test layout's get_model raises NotImplementedError: every job fails as the user's fault.
    broken = write_zip(tmp_path / "broken.zip", tutorial_files())
    result = cortexscore("submit", broken, "--url", scored_platform.url, "--benchmarks", BENCHMARKS, "--wait",
                         "--poll-seconds", "1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.count("failed") >= 3 and "NotImplementedError" in result.stdout


def test_connection_and_usage_errors_exit_2(scored_platform, tmp_path):
    folder = EXAMPLES / "custom_model_submission" / "my_custom_submission"
    unreachable = cortexscore("submit", folder, "--url", f"http://127.0.0.1:{free_port()}", "--wait")
    assert unreachable.returncode == 2 and "cannot reach the platform" in unreachable.stderr
    not_a_submission = cortexscore("submit", tmp_path, "--url", scored_platform.url)
    assert not_a_submission.returncode == 2 and "not a submission folder" in not_a_submission.stderr
    unknown = cortexscore("submit", folder, "--url", scored_platform.url, "--benchmarks", "NoSuch.IT")
    assert unknown.returncode == 2 and "NoSuch.IT" in unknown.stderr
    assert cortexscore("submit").returncode == 2


def test_token_create_signs_up_then_adds_tokens(scored_platform):
    first = cortexscore("token", "create", "--user", "cli-user", "--url", scored_platform.url)
    assert first.returncode == 0, first.stderr
    token = first.stdout.strip()
    assert token.startswith("cs_") and "never shown again" in first.stderr
    second = cortexscore("token", "create", "--name", "ci", "--url", scored_platform.url, "--token", token)
    assert second.returncode == 0 and second.stdout.strip() != token and "cli-user" in second.stderr
    listed = cortexscore("token", "list", "--url", scored_platform.url, "--token", token)
    assert listed.stdout.count("cs_") == 2 and token not in listed.stdout


@pytest.mark.slow
def test_check_and_local_score_on_a_benchmark_fetched_from_the_store(scored_platform, tmp_path):
    folder = EXAMPLES / "custom_model_submission" / "my_custom_submission"
    checked = cortexscore("check", folder)
    assert checked.returncode == 0 and "Test successful, you are ready to submit!" in checked.stdout
    scored = subprocess.run([str(CLI), "score", "--model", str(folder), "--benchmark", "Fixture2026.IT-pls",
                             "--store-url", scored_platform.store_url, "--cache-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=600, env={"COLUMNS": "200", "PATH": "/usr/bin"})
    assert scored.returncode == 0, scored.stderr
    assert re.search(r"my-model\s+│\s+0\.\d{4}\s+│\s+0\.\d{4}", scored.stdout), scored.stdout
    assert "public data only (100 stimuli)" in scored.stdout and "activations" in scored.stderr
    # Downloads are content-addressed and verified: one file per stored object, named by its sha256.
    assert len(list((tmp_path / "objects").glob("*"))) == 3
    missing = cortexscore("score", "--model", folder, "--benchmark", "NoSuch.IT", "--store-url",
                          scored_platform.store_url, "--cache-dir", tmp_path)
    assert missing.returncode == 2 and "no benchmark 'NoSuch.IT'" in missing.stderr


def test_the_ci_example_fails_the_build_below_the_threshold(tmp_path):
    """examples/ci/check_threshold.py on the scores JSON the CLI prints."""
    scores = {"submission_id": "s", "status": "completed", "aggregate": {"my-model": {"average": 0.25, "IT": 0.5}},
              "scores": [{"model": "my-model", "benchmark": "B.IT", "ceiled": 0.5, "status": "succeeded"}]}
    path = tmp_path / "scores.json"
    path.write_text(json.dumps(scores))
    script = EXAMPLES / "ci" / "check_threshold.py"

    def check(*args, document=None):
        if document is not None:
            path.write_text(json.dumps(document))
        return subprocess.run([sys.executable, str(script), str(path), *args], capture_output=True, text=True)

    assert check("--min", "0.2").returncode == 0
    below = check("--min", "0.3")
    assert below.returncode == 1 and "average 0.2500 is below the threshold 0.3000" in below.stderr
    assert check("--min", "0.45", "--node", "IT").returncode == 0
    assert check("--min", "0.6", "--benchmark", "B.IT").returncode == 1
    assert check("--min", "0.1", "--node", "V1").returncode == 1
    failed = check("--min", "0", document={**scores, "status": "failed"})
    assert failed.returncode == 1 and "not completed" in failed.stderr
