"""The ``cortexscore`` command: check, score locally, submit and follow submissions, manage tokens, ingest data.

Every platform command takes ``--url`` ($CORTEXSCORE_URL) and ``--token``
($CORTEXSCORE_TOKEN). Exit codes of ``submit``: 0 when the submission
completed, 1 when it failed (or was cancelled), 2 on a usage error, a
rejected upload or a connection error.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cortexscore.client import DEFAULT_URL, ApiError, Client, PlatformUnreachable

app = typer.Typer(help="CortexScore: score vision models on brain benchmarks.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
console = Console()
errors = Console(stderr=True)

EXIT_COMPLETED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_STORE_URL = "http://127.0.0.1:8001"
UrlOption = Annotated[str, typer.Option("--url", envvar="CORTEXSCORE_URL", help="The submission API.")]
TokenOption = Annotated[Optional[str], typer.Option("--token", envvar="CORTEXSCORE_TOKEN",
                                                    help="An API token (see `cortexscore token create`).")]
AGGREGATE_ORDER = ("average", "neural", "V1", "V2", "V4", "IT", "behavior", "engineering")


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    errors.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def _call(function, *args, **kwargs):
    """Run one client call, turning the platform's refusals and silences into a message and exit code 2."""
    try:
        return function(*args, **kwargs)
    except PlatformUnreachable as error:
        raise _fail(str(error)) from None
    except ApiError as error:
        hint = f" (retry after {error.retry_after}s)" if error.retry_after else ""
        raise _fail(f"the platform refused (HTTP {error.status_code}): {error.message}{hint}") from None
    except ValueError as error:
        raise _fail(str(error)) from None


def _number(value) -> str:
    return "—" if value is None else f"{value:.4f}"


def score_table(scores: dict) -> Table:
    """The rich table of a submission's scores: one row per (model, benchmark)."""
    table = Table(title=f"Submission {scores['submission_id']}: {scores['status']}")
    for name in ("model", "benchmark", "status", "ceiled", "raw", "ceiling", "error", "layer"):
        table.add_column(name, justify="right" if name in ("ceiled", "raw", "ceiling", "error") else "left")
    table.add_column("message", overflow="fold", max_width=60)
    for entry in scores["scores"]:
        colour = {"succeeded": "green", "failed": "red"}.get(entry["status"], "yellow")
        table.add_row(entry["model"], f"{entry['benchmark']} v{entry['benchmark_version']}",
                      f"[{colour}]{entry['status']}[/{colour}]", _number(entry["ceiled"]), _number(entry["raw"]),
                      _number(entry["ceiling"]), _number(entry["error"]), entry["layer"] or "—",
                      entry["message"] or "")
    return table


def _print_aggregate(scores: dict) -> None:
    for model, nodes in scores.get("aggregate", {}).items():
        parts = [f"{name} {nodes[name]:.4f}" for name in AGGREGATE_ORDER if name in nodes]
        console.print(f"[bold]{model}[/bold]: " + (", ".join(parts) or "no leaderboard score"), highlight=False)


def _wait_with_progress(client: Client, submission_id: str, poll_seconds: float, timeout: float | None) -> dict:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=errors, transient=True) as progress:
        task = progress.add_task("scoring", total=None)

        def update(scores: dict) -> None:
            ended = sum(entry["status"] in ("succeeded", "failed", "cancelled") for entry in scores["scores"])
            progress.update(task, total=len(scores["scores"]), completed=ended,
                            description=f"scoring ({scores['status']})")

        return _call(client.wait, submission_id, poll_seconds=poll_seconds, timeout=timeout, on_update=update)


@app.command()
def check(path: Annotated[Path, typer.Argument(help="The submission folder or zip.")]) -> None:
    """The local "ready to submit" run: load every model and put it through the submission checks."""
    from cortexscore.models.check import check_submission

    problems = check_submission(path)
    for problem in problems:
        errors.print(f"[red]problem:[/red] {problem}", highlight=False)
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
        errors.print(f"submitted [bold]{created['id']}[/bold]: models {', '.join(created['models'])} on "
                     f"{', '.join(created['benchmarks'])}", highlight=False)
        if not wait:
            console.print(created["id"])
            return
        try:
            scores = _wait_with_progress(client, created["id"], poll_seconds, timeout)
        except TimeoutError as error:
            raise _fail(str(error), EXIT_FAILED) from None
    if json_output:
        print(json.dumps(scores, indent=2))
    else:
        console.print(score_table(scores))
        _print_aggregate(scores)
    raise typer.Exit(EXIT_COMPLETED if scores["status"] == "completed" else EXIT_FAILED)


@app.command()
def status(submission_id: str, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """A submission's status and its jobs."""
    with Client(url, token) as client:
        body = _call(client.submission, submission_id)
    table = Table(title=f"Submission {body['id']}: {body['status']} (created {body['created_at']})")
    for name in ("model", "benchmark", "status", "attempts"):
        table.add_column(name)
    for job in body["jobs"]:
        table.add_row(job["model"], job["benchmark"], job["status"], str(job["attempts"]))
    console.print(table)


@app.command()
def scores(submission_id: str, url: UrlOption = DEFAULT_URL, token: TokenOption = None,
           json_output: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False) -> None:
    """A submission's scores, as a table or as JSON."""
    with Client(url, token) as client:
        body = _call(client.scores, submission_id)
    if json_output:
        print(json.dumps(body, indent=2))
        return
    console.print(score_table(body))
    _print_aggregate(body)


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
    errors.print(f"token {created['id']} for user [bold]{created['user']['name']}[/bold]; store it now, "
                 "it is never shown again (use it as CORTEXSCORE_TOKEN):", highlight=False)
    print(created["token"])


@token_app.command("list")
def token_list(url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Your tokens (never their secrets)."""
    with Client(url, token) as client:
        rows = _call(client.tokens)
    table = Table()
    for column in ("id", "name", "prefix", "created_at", "last_used_at", "revoked_at"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[column] or "") for column in ("id", "name", "prefix", "created_at", "last_used_at",
                                                              "revoked_at")))
    console.print(table)


@token_app.command("revoke")
def token_revoke(token_id: int, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Revoke one of your tokens: it answers 401 from then on."""
    with Client(url, token) as client:
        row = _call(client.revoke_token, token_id)
    console.print(f"token {row['id']} revoked at {row['revoked_at']}")


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
    store_url: Annotated[Optional[str], typer.Option(
        envvar="CORTEXSCORE_STORE_URL", help="The object store to load into: a path or s3://host:port/bucket; "
                                             "default: the local store's ($STORE_VAR_DIR or var)/store.")] = None,
) -> None:
    """Load the pinned public datasets into the benchmark store, verifying every file's checksum."""
    try:
        from cortexscore.ingest import run_ingest_command
    except ImportError as error:
        raise _fail(f"this version of cortexscore cannot ingest datasets ({error})") from None
    result = run_ingest_command(mirror, store_url)
    if isinstance(result, int) and result:
        raise typer.Exit(result)


if __name__ == "__main__":
    app()
