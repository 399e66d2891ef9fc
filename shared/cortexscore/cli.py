"""The ``cortexscore`` command: check, score locally, submit and follow submissions, manage tokens, ingest data.

Every platform command takes ``--url`` ($CORTEXSCORE_URL) and ``--token``
($CORTEXSCORE_TOKEN). Exit codes: 0 when the submission completed, 1 when it
failed (or was cancelled), 2 on a usage or connection error, 3 when the
platform refused the request (a 4xx answer: a rejected upload, an unknown
submission, a quota).

Output reads well in logs: when stdout is not a terminal, ``submit --wait``
prints one line per state change instead of a progress bar, and a table that
does not fit the width (80 columns unless $COLUMNS says otherwise) is printed
as one line per row.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from cortexscore.client import DEFAULT_URL, ENDED, ApiError, Client, PlatformUnreachable

app = typer.Typer(help="CortexScore: score vision models on brain benchmarks.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
console = Console()
errors = Console(stderr=True)

EXIT_COMPLETED, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3
DEFAULT_STORE_URL = "http://127.0.0.1:8001"
UrlOption = Annotated[str, typer.Option("--url", envvar="CORTEXSCORE_URL", help="The submission API.")]
TokenOption = Annotated[Optional[str], typer.Option("--token", envvar="CORTEXSCORE_TOKEN",
                                                    help="An API token (see `cortexscore token create`).")]
AGGREGATE_ORDER = ("average", "neural", "V1", "V2", "V4", "IT", "behavior", "engineering")


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    errors.print(Text.assemble(("error:", "red"), f" {message}"), soft_wrap=True)
    return typer.Exit(code)


def _call(function, *args, **kwargs):
    """Run one client call: no answer (or a server error) exits 2, a refusal (4xx) exits 3, each with a message."""
    try:
        return function(*args, **kwargs)
    except PlatformUnreachable as error:
        raise _fail(str(error)) from None
    except ApiError as error:
        hint = f" (retry after {error.retry_after}s)" if error.retry_after else ""
        code = EXIT_REFUSED if 400 <= error.status_code < 500 else EXIT_USAGE
        raise _fail(f"the platform refused (HTTP {error.status_code}): {error.message}{hint}", code) from None
    except ValueError as error:
        raise _fail(str(error)) from None


def _number(value) -> str:
    return "—" if value is None else f"{value:.4f}"


def _say(line: str) -> None:
    """One plain line on stderr, flushed at once: rich would wrap it at the console's width."""
    print(line, file=sys.stderr, flush=True)


def _fits(table: Table, out: Console) -> bool:
    """Whether ``table`` shows every cell in full within the console's width."""
    return Measurement.get(out, out.options.update(max_width=1 << 16), table).maximum <= out.width


def print_rows(title: str, headers: list[str], rows: list[list[str]], lines: list[str], *,
               out: Console | None = None, numeric: tuple[str, ...] = (), styles: dict[str, str] | None = None) -> None:
    """A table when it fits the console's width; else the title and ``lines``, one per row, never cut.

    >>> import io
    >>> narrow = Console(file=io.StringIO(), width=25)
    >>> print_rows("Jobs", ["model", "status"], [["a-long-model-name", "succeeded"]], ["a-long-model-name: succeeded"],
    ...            out=narrow)
    >>> print(narrow.file.getvalue())
    Jobs
    a-long-model-name: succeeded
    """
    out = out or console
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, title_justify="left")
    for header in headers:
        table.add_column(header, no_wrap=True, justify="right" if header in numeric else "left")
    for row in rows:
        table.add_row(*(Text(value, style=(styles or {}).get(value, "")) for value in row))
    if _fits(table, out):
        out.print(table)
        return
    out.print(Text(title), soft_wrap=True)
    for line in lines:
        out.print(Text(line), soft_wrap=True)


STATUS_STYLES = {"succeeded": "green", "completed": "green", "failed": "red", "cancelled": "red"}


def _score_line(entry: dict) -> str:
    parts = [f"ceiled {_number(entry['ceiled'])}", f"raw {_number(entry['raw'])}",
             f"ceiling {_number(entry['ceiling'])}", f"error {_number(entry['error'])}",
             f"layer {entry['layer'] or '—'}"] if entry["status"] == "succeeded" else []
    return f"{entry['model']} on {entry['benchmark']} v{entry['benchmark_version']}: " + ", ".join(
        [entry["status"], *parts])


def print_scores(scores: dict, out: Console | None = None) -> None:
    """A submission's scores: a table of (model, benchmark) rows if it fits, else one line per score; then
    each failure's message on its own line, and each model's aggregate."""
    out = out or console
    headers = ["model", "benchmark", "status", "ceiled", "raw", "ceiling", "error", "layer"]
    rows = [[entry["model"], f"{entry['benchmark']} v{entry['benchmark_version']}", entry["status"],
             _number(entry["ceiled"]), _number(entry["raw"]), _number(entry["ceiling"]), _number(entry["error"]),
             entry["layer"] or "—"] for entry in scores["scores"]]
    print_rows(f"Submission {scores['submission_id']}: {scores['status']}", headers, rows,
               [_score_line(entry) for entry in scores["scores"]], out=out,
               numeric=("ceiled", "raw", "ceiling", "error"), styles=STATUS_STYLES)
    for entry in scores["scores"]:
        if entry["message"]:
            out.print(Text(f"{entry['model']} on {entry['benchmark']}: {entry['message']}"), soft_wrap=True)
    for model, nodes in scores.get("aggregate", {}).items():
        parts = [f"{name} {nodes[name]:.4f}" for name in AGGREGATE_ORDER if name in nodes]
        out.print(Text(f"{model}: " + (", ".join(parts) or "no leaderboard score")), soft_wrap=True)


class StateLines:
    """For logs: one line per state change of a submission and of each of its jobs, with the time since start.

    >>> lines = []
    >>> follow = StateLines(say=lines.append, clock=iter([0, 0, 5, 65]).__next__)
    >>> job = {"model": "m", "benchmark": "B.IT", "status": "queued", "attempts": 0, "ceiled": None, "layer": None,
    ...        "message": None}
    >>> follow({"submission_id": "s1", "status": "queued", "scores": [job]})
    >>> follow({"submission_id": "s1", "status": "queued", "scores": [job]})
    >>> follow({"submission_id": "s1", "status": "running", "scores": [{**job, "status": "running", "attempts": 1}]})
    >>> follow({"submission_id": "s1", "status": "completed", "scores": [{**job, "status": "succeeded",
    ...                                                                   "ceiled": 0.5, "layer": "relu2"}]})
    >>> for line in lines: print(line)
    [00:00] submission s1: queued (0/1 jobs ended)
    [00:00]   m on B.IT: queued
    [00:05] submission s1: running (0/1 jobs ended)
    [00:05]   m on B.IT: running
    [01:05]   m on B.IT: succeeded, ceiled 0.5000, layer relu2
    [01:05] submission s1: completed (1/1 jobs ended)
    """

    def __init__(self, say=_say, clock=time.monotonic):
        self.say, self.clock = say, clock
        self.start: float | None = None
        self.seen: dict[tuple, str] = {}

    def _job_line(self, entry: dict) -> str:
        state = entry["status"]
        if state == "succeeded":
            state += f", ceiled {_number(entry['ceiled'])}, layer {entry['layer'] or '—'}"
        elif state in ("failed", "cancelled") and entry.get("message"):
            first = entry["message"].strip().splitlines()[-1] if entry["message"].strip() else ""
            state += f": {first[:200]}"
        elif state in ("queued", "running") and entry.get("attempts", 0) > 1:
            state += f" (attempt {entry['attempts']})"
        return f"  {entry['model']} on {entry['benchmark']}: {state}"

    def __call__(self, scores: dict) -> None:
        now = self.clock()
        self.start = now if self.start is None else self.start
        elapsed = int(now - self.start)
        stamp = f"[{elapsed // 60:02d}:{elapsed % 60:02d}]"
        submission = scores["submission_id"]
        lines = []
        for entry in scores["scores"]:
            key = (submission, entry["model"], entry["benchmark"])
            if self.seen.get(key) != entry["status"]:
                self.seen[key] = entry["status"]
                lines.append(self._job_line(entry))
        if self.seen.get((submission,)) != scores["status"]:
            self.seen[(submission,)] = scores["status"]
            ended = sum(entry["status"] in ENDED_JOB_STATES for entry in scores["scores"])
            line = f"submission {submission}: {scores['status']} ({ended}/{len(scores['scores'])} jobs ended)"
            # The submission's new state first, unless it has ended: then after the jobs that ended it.
            lines = lines + [line] if scores["status"] in ENDED else [line] + lines
        for line in lines:
            self.say(f"{stamp} {line}")


ENDED_JOB_STATES = ("succeeded", "failed", "cancelled")


def queue_line(place: dict) -> str:
    """>>> queue_line({"position": 3, "jobs_ahead": 2, "queued": 2, "running": 0, "eta_seconds": 125.0})
    'queue position 3 (2 jobs ahead), ETA about 2 min 5 s'
    >>> queue_line({"position": None, "jobs_ahead": 0, "queued": 0, "running": 1, "eta_seconds": 0})
    'running now, ETA about 0 s'
    >>> queue_line({"position": None, "jobs_ahead": 0, "queued": 0, "running": 0, "eta_seconds": 0})
    'no job waiting or running'
    """
    seconds = int(round(place["eta_seconds"]))
    eta = f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
    if not place["position"] and not place["running"]:
        return "no job waiting or running"
    where = (f"queue position {place['position']} ({place['jobs_ahead']} jobs ahead)" if place["position"]
             else "running now")
    return f"{where}, ETA about {eta}"


def _poll(client: Client, submission_ids: list[str], poll_seconds: float, timeout: float | None,
          on_update) -> dict[str, dict]:
    """Poll every submission not yet ended, each round, until all have; returns their last scores."""
    deadline = None if timeout is None else time.monotonic() + timeout
    ended: dict[str, dict] = {}
    while True:
        for submission_id in submission_ids:
            if submission_id not in ended:
                scores = _call(client.scores, submission_id)
                on_update(scores)
                if scores["status"] in ENDED:
                    ended[submission_id] = scores
        if len(ended) == len(submission_ids):
            return {submission_id: ended[submission_id] for submission_id in submission_ids}
        if deadline is not None and time.monotonic() > deadline:
            waiting = [submission_id for submission_id in submission_ids if submission_id not in ended]
            raise TimeoutError(f"submission {', '.join(waiting)} has not ended after {timeout}s")
        time.sleep(poll_seconds)


def _follow(client: Client, submission_ids: list[str], poll_seconds: float, timeout: float | None) -> dict[str, dict]:
    """Poll the submissions until they have ended: a progress bar on a terminal, else a line per state change."""
    if not sys.stdout.isatty():
        return _poll(client, submission_ids, poll_seconds, timeout, StateLines())
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=errors, transient=True) as progress:
        tasks = {submission_id: progress.add_task(f"{submission_id}: scoring", total=None)
                 for submission_id in submission_ids}

        def update(scores: dict) -> None:
            ended = sum(entry["status"] in ENDED_JOB_STATES for entry in scores["scores"])
            progress.update(tasks[scores["submission_id"]], total=len(scores["scores"]), completed=ended,
                            description=f"{scores['submission_id']}: {scores['status']}")

        return _poll(client, submission_ids, poll_seconds, timeout, update)


@app.command()
def check(path: Annotated[Path, typer.Argument(help="The submission folder or zip.")]) -> None:
    """The local "ready to submit" run: load every model and put it through the submission checks.

    Each step is said on stderr as it starts; the verdict is on stdout.
    """
    started = time.monotonic()

    def log(text: str) -> None:
        _say(f"[{time.monotonic() - started:5.1f}s] {text}")

    log(f"checking {path} (loading PyTorch first)")
    from cortexscore.models.check import check_submission

    problems = check_submission(path, log=log)
    for problem in problems:
        errors.print(Text.assemble(("problem:", "red"), f" {problem}"), soft_wrap=True)
    if problems:
        raise typer.Exit(EXIT_FAILED)


@app.command()
def submit(
    path: Annotated[Path, typer.Argument(help="The submission folder (zipped for you) or zip.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    benchmarks: Annotated[Optional[str], typer.Option(help="Comma-separated benchmark identifiers; "
                                                           "default: the leaderboard suite.")] = None,
    public: Annotated[Optional[bool], typer.Option("--public/--private", help="Show it on the leaderboard.")] = None,
    callback_url: Annotated[Optional[str], typer.Option(help="POSTed, signed, when scoring ends.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Poll until scoring ends and print the scores.")] = False,
    poll_seconds: Annotated[float, typer.Option(help="Seconds between polls.")] = 2.0,
    timeout: Annotated[Optional[float], typer.Option(help="Give up waiting after this many seconds.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the final scores as JSON.")] = False,
) -> None:
    """Upload a submission; with --wait, follow it and exit 0 if it completed, 1 if it failed."""
    with Client(url, token) as client:
        created = _call(client.submit, path, benchmarks=benchmarks, public=public, callback_url=callback_url)
        errors.print(Text.assemble("submitted ", (created["id"], "bold"), f": models {', '.join(created['models'])} "
                                   f"on {', '.join(created['benchmarks'])}"), soft_wrap=True)
        if created.get("owner_secret"):
            # Shown once: an anonymous upload's logs, cancel and visibility need it.
            errors.print(f"owner secret (shown once; set CORTEXSCORE_OWNER_SECRET to read its logs or cancel it): "
                         f"{created['owner_secret']}", soft_wrap=True)
        if created.get("visibility"):
            # Private unless --public: say who sees it on the leaderboard, and how to change that.
            errors.print(created["visibility"], soft_wrap=True, markup=False, highlight=False)
        if not wait:
            console.print(created["id"])
            return
        place = client.queue_place(created["id"])
        if place is not None:
            errors.print(queue_line(place), soft_wrap=True)
        try:
            scores = _follow(client, [created["id"]], poll_seconds, timeout)[created["id"]]
        except TimeoutError as error:
            raise _fail(str(error), EXIT_FAILED) from None
    if json_output:
        print(json.dumps(scores, indent=2))
    else:
        print_scores(scores)
    raise typer.Exit(EXIT_COMPLETED if scores["status"] == "completed" else EXIT_FAILED)


@app.command()
def status(submission_id: str, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """A submission's status and its jobs."""
    with Client(url, token) as client:
        body = _call(client.submission, submission_id)
    print_rows(f"Submission {body['id']}: {body['status']} (created {body['created_at']})",
               ["model", "benchmark", "status", "attempts"],
               [[job["model"], job["benchmark"], job["status"], str(job["attempts"])] for job in body["jobs"]],
               [f"{job['model']} on {job['benchmark']}: {job['status']}, attempts {job['attempts']}"
                for job in body["jobs"]], numeric=("attempts",), styles=STATUS_STYLES)


@app.command()
def scores(submission_id: str, url: UrlOption = DEFAULT_URL, token: TokenOption = None,
           json_output: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False) -> None:
    """A submission's scores, as a table or as JSON."""
    with Client(url, token) as client:
        body = _call(client.scores, submission_id)
    if json_output:
        print(json.dumps(body, indent=2))
        return
    print_scores(body)


@app.command()
def logs(submission_id: str, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """The scoring log of a submission you own."""
    with Client(url, token) as client:
        print(_call(client.logs, submission_id))


@app.command()
def cancel(submission_id: str, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Cancel the queued and running jobs of a submission you own."""
    with Client(url, token) as client:
        body = _call(client.cancel, submission_id)
    console.print(f"{body['id']}: {body['status']}")


class UploadLines:
    """One line per step of a weights upload, for logs; the upload itself in tenths.

    >>> lines = []
    >>> report = UploadLines(lines.append)
    >>> for stage, done in [("hashing", 50), ("hashing", 100), ("resuming", 40), ("uploading", 60),
    ...                     ("uploading", 100), ("verifying", 100)]:
    ...     report(stage, done, 100)
    >>> for line in lines: print(line)
    hashing 100 bytes
    resuming at byte 40 of 100 (the platform has the rest up to there)
    uploading: 60 of 100 bytes (60%)
    uploading: 100 of 100 bytes (100%)
    verifying the sha256 on the platform
    """

    def __init__(self, say=_say):
        self.say = say
        self.stage = ""
        self.tenth = -1

    def __call__(self, stage: str, done: int, total: int) -> None:
        first = stage != self.stage
        self.stage = stage
        if stage == "hashing" and first:
            self.say(f"hashing {total} bytes")
        elif stage == "resuming":
            self.say(f"resuming at byte {done} of {total} (the platform has the rest up to there)")
        elif stage == "uploading":
            tenth = done * 10 // total
            if tenth != self.tenth:
                self.tenth = tenth
                self.say(f"uploading: {done} of {total} bytes ({done * 100 // total}%)")
        elif stage == "verifying" and first:
            self.say("verifying the sha256 on the platform")
        elif stage == "reused":
            self.say("already uploaded and verified by this account: nothing to send")


@app.command("upload-weights")
def upload_weights(
    file: Annotated[Path, typer.Argument(help="The weights file (any format your model reads).")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    name: Annotated[Optional[str], typer.Option(help="The name the model sees it under (/weights/NAME); "
                                                     "default: the file's own name.")] = None,
) -> None:
    """Upload a weights file too big for a submission zip, straight to the platform's object store.

    Prints its sha256 and the weights.toml line that refers to it. Run it again after an interruption: it
    resumes. Needs a token (`cortexscore token create`): weights count against your account's storage quota.
    """
    with Client(url, token) as client:
        if sys.stdout.isatty():
            with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=errors,
                          transient=True) as bar:
                task = bar.add_task("hashing", total=None)

                def report(stage: str, done: int, total: int) -> None:
                    bar.update(task, description=stage, completed=done, total=total)

                upload = _call(client.upload_weights, file, name, report)
        else:
            upload = _call(client.upload_weights, file, name, UploadLines())
    errors.print(f"{upload['name']}: {upload['size']} bytes, sha256 verified by the platform; refer to it in "
                 f"weights.toml beside your submission's models/ folder:\n\n[weights]\n{upload['reference']}\n\n"
                 f"Your model finds it at cortexscore.weights.weights_path({upload['name']!r}) "
                 f"(/weights/{upload['name']}, read-only).", soft_wrap=True, markup=False)
    print(upload["sha256"])


@token_app.command("create")
def token_create(
    url: UrlOption = DEFAULT_URL, token: TokenOption = None,
    name: Annotated[str, typer.Option(help="A label for the new token, e.g. 'ci'.")] = "",
    user: Annotated[Optional[str], typer.Option(help="Sign up as this new user (when no token is given).")] = None,
) -> None:
    """Create an API token: for yourself with --token, or as a new user with --user. It is shown only once."""
    with Client(url, token) as client:
        if token:
            created = _call(client.create_token, name)
        elif user:
            created = _call(client.sign_up, user, name)
        else:
            raise _fail("give --user NAME to sign up, or --token (or CORTEXSCORE_TOKEN) to add a token to your account")
    errors.print(Text.assemble(f"token {created['id']} for user ", (created["user"]["name"], "bold"),
                               "; store it now, it is never shown again (use it as CORTEXSCORE_TOKEN):"),
                 soft_wrap=True)
    print(created["token"])


@token_app.command("list")
def token_list(url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Your tokens (never their secrets)."""
    with Client(url, token) as client:
        rows = _call(client.tokens)
    columns = ("id", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    print_rows(f"{len(rows)} token{'s' if len(rows) != 1 else ''}", list(columns),
               [[str(row[column] or "") for column in columns] for row in rows],
               [f"token {row['id']} {row['name']!r} {row['prefix']}: created {row['created_at']}, last used "
                f"{row['last_used_at'] or 'never'}" + (f", revoked {row['revoked_at']}" if row["revoked_at"] else "")
                for row in rows])


@token_app.command("revoke")
def token_revoke(token_id: int, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Revoke one of your tokens: it answers 401 from then on."""
    with Client(url, token) as client:
        row = _call(client.revoke_token, token_id)
    console.print(f"token {row['id']} revoked at {row['revoked_at']}")


@dataclass(frozen=True)
class Reference:
    """A reference submission of examples/ that ``seed-leaderboard`` puts on the leaderboard."""
    name: str
    folder: str  # relative to examples/
    about: str
    # The kinds of benchmark it can be scored on; without --benchmarks it gets the leaderboard suite's of these.
    kinds: tuple[str, ...] = ("neural", "behavior", "engineering")


REFERENCE_SUBMISSIONS = (
    # No ImageNet logits: the behavioural benchmarks could only fail.
    Reference("pixels", "pixels_submission/pixels", "the pixels baseline", kinds=("neural",)),
    Reference("efficientnet_lite0", "efficientnet_lite0_submission/efficientnet_lite0",
              "EfficientNet-Lite0, trained and untrained"),
    Reference("mobilenet_v1", "mobilenet_submission/mobilenet_v1", "MobileNetV1, trained and untrained"),
)
MOBILENET_WEIGHTS = "mobilenet_v1_1.0_224.pt"


def default_examples_dir() -> Path:
    """The repository's examples/ (the package is installed from the repository, editable)."""
    return Path(__file__).resolve().parents[2] / "examples"


def reference_benchmarks(reference: Reference, catalogue: list[dict]) -> str | None:
    """The benchmarks to send ``reference`` to when none are given: None (the platform's default suite) when it
    can take every kind, else the suite's benchmarks of its kinds, as the platform picks the suite.

    >>> pixels = Reference("pixels", "pixels_submission/pixels", "", kinds=("neural",))
    >>> reference_benchmarks(pixels, [{"identifier": "A.IT", "kind": "neural", "leaderboard": True},
    ...                               {"identifier": "B-behaviour", "kind": "behavior", "leaderboard": True},
    ...                               {"identifier": "Synthetic.IT", "kind": "neural", "leaderboard": False}])
    'A.IT'
    """
    if set(reference.kinds) >= {"neural", "behavior", "engineering"}:
        return None
    suite = [entry for entry in catalogue if entry["leaderboard"]] or catalogue
    return ",".join(entry["identifier"] for entry in suite if entry["kind"] in reference.kinds)


def prepare_reference(reference: Reference, examples: Path, workdir: Path) -> Path:
    """The folder to upload for ``reference``; raises FileNotFoundError naming what is missing.

    MobileNetV1's trained weights are not in the repository: the folder is used as is when it holds them,
    else a copy gets them from $MOBILENET_V1_WEIGHTS or by converting ../shared/models' TensorFlow graph.
    EfficientNet-Lite0's weights come from the package installed on the scorers.
    """
    folder = examples / reference.folder
    if not (folder / "models" / "base_models.py").is_file():
        raise FileNotFoundError(f"{folder} is not a submission folder")
    if reference.name != "mobilenet_v1" or (folder / "models" / MOBILENET_WEIGHTS).is_file():
        return folder
    copy = workdir / reference.name / folder.name
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    given = os.environ.get("MOBILENET_V1_WEIGHTS")
    graph = examples.parents[1] / "shared" / "models" / "mobilenet_v1_1.0_224_imagenet.pb"
    if given and Path(given).is_file():
        shutil.copyfile(given, copy / "models" / MOBILENET_WEIGHTS)
    elif graph.is_file():
        converter = examples.parent / "tools" / "mobilenet" / "convert.py"
        subprocess.run([sys.executable, str(converter), str(graph), str(copy / "models" / MOBILENET_WEIGHTS)],
                       check=True, capture_output=True)
    else:
        raise FileNotFoundError(f"MobileNetV1's trained weights are missing: neither {folder / 'models' / MOBILENET_WEIGHTS}"
                                f", $MOBILENET_V1_WEIGHTS nor the TensorFlow graph {graph} (see examples/README.md)")
    return copy


REFERENCE_ACCOUNT = "reference"
SEED_HELP = ("Submit every reference submission of examples/ publicly, so that the leaderboard starts with them."
             "\n\nEach goes through the normal REST API (POST /submissions with public=true) with the token of the "
             "platform's reserved `reference` account (`make seed` reads the one `make run` wrote to "
             "var/reference-token), so that the leaderboard marks them as reference models, and is followed until "
             "it ends. Exit 0 when every submission completed; 1 when one failed or a reference was skipped "
             "(MobileNetV1 without its weights); 2 on a connection error or a token that is not the reference "
             "account's; 3 when the platform refused an upload.")


def _check_reference_account(client: Client) -> None:
    """Exit 2 unless the client's token is the reserved ``reference`` account's."""
    if not client.token:
        raise _fail("seed-leaderboard submits as the platform's reference account: give its token with --token or "
                    "$CORTEXSCORE_TOKEN (`make seed` reads var/reference-token, which `make run` writes)")
    me = _call(client.me)
    if me["name"] != REFERENCE_ACCOUNT:
        raise _fail(f"this token belongs to user {me['name']!r}, not to the {REFERENCE_ACCOUNT!r} account: the "
                    "leaderboard would not mark these submissions as reference models. Use the reference account's "
                    "token (`make run` writes it to var/reference-token; the API's setting is API_REFERENCE_TOKEN)")


@app.command("seed-leaderboard", help=SEED_HELP)
def seed_leaderboard(
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    only: Annotated[Optional[str], typer.Option(help="Comma-separated names of the reference submissions to send: "
                                                     + ", ".join(r.name for r in REFERENCE_SUBMISSIONS)
                                                     + "; default: all.")] = None,
    benchmarks: Annotated[Optional[str], typer.Option(help="Comma-separated benchmark identifiers; "
                                                           "default: the leaderboard suite.")] = None,
    examples: Annotated[Optional[Path], typer.Option(help="The examples/ folder; default: the repository's.")]
    = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the submissions until they end.")] = True,
    poll_seconds: Annotated[float, typer.Option(help="Seconds between polls.")] = 5.0,
    timeout: Annotated[Optional[float], typer.Option(help="Give up waiting after this many seconds.")] = None,
) -> None:
    examples = examples or default_examples_dir()
    chosen = list(REFERENCE_SUBMISSIONS)
    if only:
        names = [name.strip() for name in only.split(",") if name.strip()]
        unknown = sorted(set(names) - {reference.name for reference in REFERENCE_SUBMISSIONS})
        if unknown:
            raise _fail(f"no reference submission named {', '.join(unknown)}; the names are "
                        + ", ".join(reference.name for reference in REFERENCE_SUBMISSIONS))
        chosen = [reference for reference in chosen if reference.name in names]
    submitted: dict[str, Reference] = {}
    skipped, refused = [], []
    with Client(url, token) as client, tempfile.TemporaryDirectory(prefix="cortexscore-seed-") as workdir:
        _check_reference_account(client)
        for reference in chosen:
            try:
                folder = prepare_reference(reference, examples, Path(workdir))
            except (FileNotFoundError, OSError) as error:
                _say(f"skipped {reference.name}: {error}")
                skipped.append(reference.name)
                continue
            chosen_benchmarks = benchmarks or reference_benchmarks(reference, _call(client.benchmarks))
            if chosen_benchmarks == "":
                _say(f"skipped {reference.name}: the platform has no benchmark of the kinds it takes "
                     f"({', '.join(reference.kinds)})")
                skipped.append(reference.name)
                continue
            try:
                created = client.submit(folder, benchmarks=chosen_benchmarks, public=True)
            except PlatformUnreachable as error:
                raise _fail(str(error)) from None
            except ApiError as error:
                _say(f"refused {reference.name} (HTTP {error.status_code}): {error.message}")
                refused.append(reference.name)
                continue
            submitted[created["id"]] = reference
            _say(f"submitted {reference.name} ({reference.about}) as {created['id']}: models "
                 f"{', '.join(created['models'])} on {', '.join(created['benchmarks'])}")
        if not wait or not submitted:
            for submission_id in submitted:
                console.print(submission_id)
            results = {}
        else:
            try:
                results = _follow(client, list(submitted), poll_seconds, timeout)
            except TimeoutError as error:
                raise _fail(str(error), EXIT_FAILED) from None
    for submission_id, scores in results.items():
        print_scores(scores)
    completed = sum(scores["status"] == "completed" for scores in results.values())
    summary = [f"{len(submitted)} submitted"] + ([f"{completed} completed"] if wait else []) + \
        ([f"{len(skipped)} skipped ({', '.join(skipped)})"] if skipped else []) + \
        ([f"{len(refused)} refused ({', '.join(refused)})"] if refused else [])
    _say(f"reference submissions: {', '.join(summary)}")
    if refused:
        raise typer.Exit(EXIT_REFUSED)
    if skipped or (wait and completed < len(submitted)):
        raise typer.Exit(EXIT_FAILED)


@dataclass
class PublicBenchmark:
    spec: object
    stimuli: object
    assembly: object
    # The benchmark whose public split commits the region's layer (None: none needed, or generated locally),
    # with its public stimuli and responses.
    commitment: "PublicBenchmark | None" = None


def _download(client, key: str, sha256: str, cache_dir: Path, suffix: str) -> Path:
    """A content-addressed download: the file is fetched once and its checksum verified."""
    from cortexscore.data import verify_checksum

    target = cache_dir / "objects" / f"{sha256}{suffix}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    with client.stream("GET", f"/objects/{key}") as response:
        response.raise_for_status()
        with open(partial, "wb") as handle:
            for chunk in response.iter_bytes():
                handle.write(chunk)
    verify_checksum(partial, sha256)
    return partial.replace(target)


def _fetch_spec(client, identifier: str, store_url: str):
    from cortexscore.benchmarks.spec import BenchmarkSpec

    response = client.get(f"/benchmarks/{identifier}")
    if response.status_code == 404:
        raise LookupError(f"the benchmark store at {store_url} has no benchmark {identifier!r}")
    response.raise_for_status()
    return BenchmarkSpec.model_validate(response.json())


def _fetch_public_data(client, spec, cache_dir: Path):
    """A benchmark's stimulus table and its public responses (the public split's own file when the assembly is
    private)."""
    from cortexscore.data import load_assembly, load_stimulus_set

    assembly_ref = spec.assembly if spec.assembly.access == "public" else spec.public_assembly
    refs = {"stimulus_set": spec.stimulus_set, "assembly": assembly_ref}
    private = [name for name, ref in refs.items() if ref is None or ref.access != "public"]
    if private:
        raise ValueError(f"{spec.identifier}'s {' and '.join(private)} are private and it has no public split "
                         "to score locally")
    files = {name: {role: _download(client, file.key, file.sha256, cache_dir, Path(file.key).suffix)
                    for role, file in ref.files.items()} for name, ref in refs.items()}
    stimuli = load_stimulus_set(files["stimulus_set"]["csv"], files["stimulus_set"]["zip"],
                                cache_dir / "stimuli" / spec.stimulus_set.files["zip"].sha256)
    return stimuli, load_assembly(files["assembly"]["netcdf"])


def _public_split(stimuli, assembly):
    """Only the public split's stimuli and responses (everything when there is no split)."""
    from cortexscore.benchmarks.rsa import MATRIX_DIMS, restrict_matrices

    if "split" not in stimuli.columns:
        return stimuli, assembly
    stimuli = stimuli[stimuli["split"] == "public"].drop(columns="split").reset_index(drop=True)
    if tuple(assembly.dims) == MATRIX_DIMS:
        return stimuli, restrict_matrices(assembly, stimuli["stimulus_id"])
    return stimuli, assembly.isel(presentation=assembly["stimulus_id"].isin(stimuli["stimulus_id"]).values)


def _fetch_benchmark(identifier: str, store_url: str, cache_dir: Path):
    import httpx

    from cortexscore.benchmarks.commitment import commitment_source
    from cortexscore.benchmarks.spec import BenchmarkSpec

    with httpx.Client(base_url=store_url, timeout=120) as client:
        spec = _fetch_spec(client, identifier, store_url)
        stimuli, assembly = _public_split(*_fetch_public_data(client, spec, cache_dir))
        commitment = None
        if spec.kind == "neural":
            response = client.get("/benchmarks")
            response.raise_for_status()
            source = commitment_source(spec, [BenchmarkSpec.model_validate(entry) for entry in response.json()])
            if source is not None:
                source_stimuli, source_assembly = (stimuli, assembly) if source.identifier == spec.identifier \
                    else _public_split(*_fetch_public_data(client, source, cache_dir))
                commitment = PublicBenchmark(source, source_stimuli, source_assembly)
    return spec, stimuli, assembly, commitment


def _generate_synthetic(cache_dir: Path):
    from cortexscore.benchmarks import synthetic
    from cortexscore.benchmarks.spec import BenchmarkSpec, DataRef

    stimuli, image_dir, assembly = synthetic.generate(cache_dir / "synthetic")
    stimuli["image_path"] = [str(image_dir / name) for name in stimuli["filename"]]
    refs = {name: DataRef(identifier=identifier, version=synthetic.VERSION, files={}) for name, identifier in
            (("stimulus_set", synthetic.STIMULUS_SET_IDENTIFIER), ("assembly", synthetic.ASSEMBLY_IDENTIFIER))}
    return BenchmarkSpec(**refs, **synthetic.benchmark_fields()), stimuli, assembly


def load_public_benchmark(identifier: str, *, store_url: str, cache_dir: Path, log=print) -> PublicBenchmark:
    """A benchmark's public stimuli and recordings, and its region's commitment data: from the store, or generated
    here for the synthetic one."""
    import httpx

    from cortexscore.benchmarks import synthetic

    commitment = None
    try:
        spec, stimuli, assembly, commitment = _fetch_benchmark(identifier, store_url, cache_dir)
    except httpx.HTTPError as error:
        if identifier != synthetic.IDENTIFIER:
            raise LookupError(f"cannot reach the benchmark store at {store_url} ({error}); start the platform or "
                              "set --store-url") from None
        log(f"the store at {store_url} does not answer; generating {identifier} locally")
        spec, stimuli, assembly = _generate_synthetic(cache_dir)
        stimuli, assembly = _public_split(stimuli, assembly)
        commitment = PublicBenchmark(spec, stimuli, assembly)
    return PublicBenchmark(spec, stimuli, assembly, commitment)


def _activations(model, identifier: str, stimuli, visual_degrees: float, layers, workdir: Path, batch_size: int,
                 progress, name: str):
    from cortexscore.models.placement import place_images

    placed = place_images(list(stimuli["image_path"]), workdir / "placed" / identifier / name,
                          model.visual_degrees(), visual_degrees)
    return model.activations([str(image) for image in placed], layers, batch_size=batch_size,
                             progress=lambda done, total=len(placed): progress(identifier, done, total))


def score_locally(path: Path, data: PublicBenchmark, workdir: Path, *, model_name: str | None, batch_size: int,
                  progress, log) -> dict:
    """Score each model of a submission on ``data`` in this process, as the scorer does in its sandbox.

    The layer of a neural benchmark is the one the submission commits for the region, else the best on the
    region's commitment data (public), as on the platform. When that data is the benchmark's own public split,
    the layer is chosen on the stimuli it is scored on: ``layer_selection.overlap_with_scored_stimuli`` says so,
    and such a local score is optimistic (the platform scores the private split).
    """
    from cortexscore.benchmarks.commitment import commitment_data
    from cortexscore.benchmarks.scoring import procedure, score_activations
    from cortexscore.models.check import submission_root
    from cortexscore.models.submission import load_submission

    submission = load_submission(submission_root(path, workdir / "submission"))
    identifiers = [model_name] if model_name else submission.model_identifiers()
    results = {}
    for identifier in identifiers:
        model = submission.brain_model(identifier)
        layers = ["logits"] if procedure(data.spec).layers == "logits" else list(model.layers)
        features = _activations(model, identifier, data.stimuli, data.spec.visual_degrees, layers, workdir,
                                batch_size, progress, "benchmark")
        region_layer_map = dict(getattr(model, "region_layer_map", None) or {})
        commitment = None
        if data.commitment is not None and data.spec.region not in region_layer_map:
            source = data.commitment
            source_features = features if source.spec.identifier == data.spec.identifier else _activations(
                model, identifier, source.stimuli, source.spec.visual_degrees, layers, workdir, batch_size,
                progress, "commitment")
            commitment = commitment_data(source.spec, source.stimuli, source.assembly, source_features)
        results[identifier] = score_activations(data.spec, data.assembly, data.stimuli, features, ceiling=None,
                                                log=log, commitment=commitment, region_layer_map=region_layer_map)
    return results


@app.command()
def score(
    model: Annotated[Path, typer.Option("--model", help="The submission folder or zip.")],
    benchmark: Annotated[str, typer.Option("--benchmark", help="A benchmark identifier.")],
    model_name: Annotated[Optional[str], typer.Option(help="Which model of the submission; default: all.")] = None,
    store_url: Annotated[str, typer.Option(envvar="CORTEXSCORE_STORE_URL", help="The benchmark store.")]
    = DEFAULT_STORE_URL,
    cache_dir: Annotated[Path, typer.Option(envvar="CORTEXSCORE_CACHE", help="Where downloaded data is kept.")]
    = Path.home() / ".cache" / "cortexscore",
    batch_size: Annotated[int, typer.Option(help="Images per forward pass.")] = 32,
) -> None:
    """Score a model locally on a benchmark's public data (the leaderboard also uses the private split)."""
    from cortexscore.models.errors import ModelError

    try:
        data = load_public_benchmark(benchmark, store_url=store_url, cache_dir=cache_dir, log=errors.print)
    except (ValueError, LookupError) as error:
        raise _fail(str(error)) from None
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=errors) as progress, tempfile.TemporaryDirectory() as workdir:
        tasks: dict[str, int] = {}

        def on_progress(identifier: str, done: int, total: int) -> None:
            if identifier not in tasks:
                tasks[identifier] = progress.add_task(f"{identifier}: activations", total=total)
            progress.update(tasks[identifier], completed=done)

        try:
            results = score_locally(model, data, Path(workdir), model_name=model_name, batch_size=batch_size,
                                    progress=on_progress,
                                    log=lambda text: progress.console.print(text, highlight=False))
        except (ModelError, ValueError, LookupError) as error:
            raise _fail(str(error), EXIT_FAILED) from None
    table = Table(title=f"{data.spec.identifier} v{data.spec.version}, public data only ({len(data.stimuli)} stimuli)")
    for name in ("model", "ceiled", "raw", "ceiling", "error", "layer"):
        table.add_column(name)
    for identifier, result in results.items():
        table.add_row(identifier, _number(result.ceiled), _number(result.raw), _number(result.ceiling),
                      _number(result.error), result.layer or "—")
    console.print(table)
    for identifier, result in results.items():
        selection = result.provenance.get("layer_selection")
        if selection:
            chosen_on = "your region_layer_map" if selection["user_given"] else \
                f"{selection['benchmark']} ({selection['stimuli']} stimuli)"
            console.print(f"{identifier}: layer {result.layer} chosen on {chosen_on}; overlap with the scored "
                          f"stimuli: {selection['overlap_with_scored_stimuli']}", highlight=False)


@app.command()
def ingest(
    mirror: Annotated[Optional[Path], typer.Option(help="A local mirror of the public datasets.")] = None,
    object_store: Annotated[Optional[str], typer.Option(
        envvar="CORTEXSCORE_OBJECT_STORE", help="The object store to load into: a path or s3://host:port/bucket; "
                                                "default: $STORE_OBJECT_STORE, else ($STORE_VAR_DIR or var)/store.")]
    = None,
) -> None:
    """Load the pinned public datasets into the benchmark store, verifying every file's checksum.

    It writes to the store's object store directly. (CORTEXSCORE_STORE_URL, the benchmark store *service* that
    ``score`` reads from, plays no part here.)
    """
    if object_store and object_store.startswith(("http://", "https://")):
        raise _fail(f"--object-store takes a path or s3://host:port/bucket, not the store service's URL "
                    f"{object_store}")
    try:
        from cortexscore.ingest import run_ingest_command
    except ImportError as error:
        raise _fail(f"this version of cortexscore cannot ingest datasets ({error})") from None
    result = run_ingest_command(mirror, object_store)
    if isinstance(result, int) and result:
        raise typer.Exit(result)


if __name__ == "__main__":
    app()
