"""The scorer worker: claim a job over REST, run the model in the sandbox, score in this trusted process."""
from __future__ import annotations

import hashlib
import json
import os
import logging
import shutil
import signal
import threading
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cortexscore.benchmarks.commitment import CommitmentData, commitment_data, commitment_source
from cortexscore.benchmarks.scoring import procedure, score_activations
from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.data import load_assembly, load_stimulus_set
from cortexscore.jobs import (ClaimRequest, CompleteRequest, FailRequest, HeldModel, JobLease, JobUsage,
                              LeaseRequest)
from cortexscore.metrics._assembly import use_gram_device
from cortexscore.models.cache import MAX_LAYERS, ActivationsCache, ActivationsKey, read_npy_header, write_entry
from cortexscore.models.commitment import LayerCommitments
from cortexscore.observability import configure_logging, serve_metrics
from cortexscore.score import BenchmarkScore, Score
from cortexscore.signing import FileSigner, load_or_create_key
from cortexscore.storage import ChecksumMismatch, StorageError
from cortexscore.stored import StoredMatrix
from cortexscore.submission_layout import declared_requirements, plan_requirements

from scorer.config import ScorerSettings, get_settings
from scorer.environments import Environment, EnvironmentBuilder
from scorer.fetch import fetch, fetch_weights
from scorer.child import activations_file
from scorer.sandbox import (ENVIRONMENT_ROOT, JOB_ROOT, WEIGHTS_ROOT, SubmissionFailure, check_sandbox,
                            open_child_file, prepare_job_dir, remove_leftovers, run_child, stage_weights,
                            stimuli_mount)

log = logging.getLogger("scorer")


def model_fingerprint(lease: JobLease) -> str:
    """The zip and the model's name stand for its code and weights (the parent never imports user code); uploaded
    weights too, as the zip's weights.toml names each by its sha256."""
    return hashlib.sha256(f"{lease.zip_sha256}/{lease.model}".encode()).hexdigest()


# The report each protocol model is: what the worker sends is what the API validates (one score schema).
ACTIONS = {LeaseRequest: "heartbeat", CompleteRequest: "complete", FailRequest: "fail"}


class LeaseLost(Exception):
    pass


class ChildResult(BaseModel):
    """What the sandboxed child says about the model it ran; untrusted, so every field is checked.

    Anything else in it is ignored: in particular no path, since the parent reads only fixed names.
    """

    model_config = ConfigDict(extra="ignore")
    layers: list[str] = Field(min_length=1, max_length=MAX_LAYERS)
    visual_degrees: float = Field(gt=0, le=360, allow_inf_nan=False)
    bibtex: str
    # Layers the submission commits itself (Brain-Score's region_layer_map); each must be a candidate layer.
    region_layer_map: dict[str, str] = Field(default_factory=dict, max_length=64)
    parameter_count: int | None = Field(None, ge=0)
    # Where the model's forward passes ran: "cpu", or "cuda:0 (<the GPU's name>)".
    device: str = Field("cpu", max_length=200)


def _cpu_seconds() -> float:
    """CPU time of this scorer and of its finished children (the sandboxed model), in seconds."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class JobReporter:
    """Holds one job's lease: heartbeats in the background and forwards the job's log lines.

    At most ``LOG_LIMIT`` characters of the model's output reach the API per job, so no
    amount of printing by a model can make a report fail; what is cut is counted in a last line.
    """

    LOG_LIMIT = 512 << 10

    def __init__(self, api: httpx.Client, lease: JobLease, interval: float):
        self.api, self.lease, self.interval = api, lease, interval
        self._forwarded = self._cut = 0
        self.usage: dict = {}  # what the job used and what the scorer measured of the model, sent with its outcome
        self._buffer: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.lost = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()

    def log(self, text: str, *, model_output: bool = False) -> None:
        if not text:
            return
        text = text if text.endswith("\n") else text + "\n"
        with self._lock:
            # The platform's own lines (the outcome among them) are always kept; only the model's output is cut.
            room = max(0, self.LOG_LIMIT - self._forwarded) if model_output else len(text)
            kept = text[:room]
            self._forwarded += len(kept)
            self._cut += len(text) - len(kept)
            if kept:
                self._buffer.append(kept)
        if kept:
            log.info("job %s: %s", self.lease.job_id, kept.rstrip())

    def _drain(self) -> str:
        with self._lock:
            text, self._buffer = "".join(self._buffer), []
        return text

    def _post(self, request: LeaseRequest) -> None:
        request = request.model_copy(update={"log": self._drain()})
        response = self.api.post(f"/internal/jobs/{self.lease.job_id}/{ACTIONS[type(request)]}",
                                 json=request.model_dump(mode="json"))
        if response.status_code == 409:
            self.lost.set()
            raise LeaseLost(response.json().get("detail", "lease lost"))
        response.raise_for_status()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._post(LeaseRequest(lease_token=self.lease.lease_token))
            except LeaseLost:
                return
            except httpx.HTTPError as error:
                log.warning("heartbeat for job %s failed: %s", self.lease.job_id, error)

    def check(self) -> None:
        if self.lost.is_set():
            raise LeaseLost(f"job {self.lease.job_id} was cancelled or re-leased")

    def finish(self, outcome: CompleteRequest | FailRequest) -> None:
        """Report the outcome, riding out an API or database outage of about a minute."""
        self._stop.set()
        self._thread.join()
        if self._cut:
            self._buffer.append(f"[platform] {self._cut} more characters of log were not kept (the limit is "
                                f"{self.LOG_LIMIT} per job)\n")
            self._cut = 0
        for attempt in range(7):
            try:
                return self._post(outcome)
            except httpx.TransportError as error:
                problem = str(error)
            except httpx.HTTPStatusError as error:
                if error.response.status_code < 500:
                    raise
                problem = f"HTTP {error.response.status_code}"
            log.warning("reporting job %s failed (%s); retrying", self.lease.job_id, problem)
            time.sleep(min(2 ** attempt, 20))
        raise StorageError(f"could not report job {self.lease.job_id} to the API")


class Worker:
    def __init__(self, settings: ScorerSettings):
        self.settings = settings
        auth = {"Authorization": f"Bearer {settings.worker_token.get_secret_value()}"}
        self.api = httpx.Client(base_url=settings.api_url, headers=auth, timeout=60)
        self.store = httpx.Client(base_url=settings.store_url, headers=auth, timeout=60)
        self.cache_dir = settings.cache_dir
        # Fail at start-up, not on the first job, if the sandbox cannot be built here.
        self.isolation = check_sandbox(settings)
        if settings.gram_on_gpu:
            import torch

            if torch.cuda.is_available():
                use_gram_device("cuda:0")
                log.info("Gram matrices on %s", torch.cuda.get_device_name(0))
        for path in remove_leftovers(settings):
            log.info("removed a leftover of a dead scorer's job: %s", path)
        # Only this process reads the key: the sandbox never sees the cache dir.
        self.signer = FileSigner(load_or_create_key(self.cache_dir / "hmac.key"))
        self.activations = ActivationsCache(self.cache_dir / "activations", settings.activation_cache_bytes,
                                            signer=self.signer)
        self.environments = EnvironmentBuilder(self.cache_dir / "environments", settings.package_index_url,
                                               settings.max_environment_bytes, self.signer)
        self._stopping = False
        self.last_poll = time.monotonic()
        self.current_job: int | None = None
        # Model sessions: the (submission, model) of the last job, claimed first; models whose code raised.
        self.held: HeldModel | None = None
        self.model_failures: dict[str, tuple[int, str]] = {}
        self.single_set_models: set[str] = set()

    def health(self) -> tuple[bool, dict]:
        """``/healthz``: the worker loop is polling or busy on a job, and the API and the store answer."""
        problems = []
        idle = time.monotonic() - self.last_poll
        if self.current_job is None and idle > max(60.0, 5 * self.settings.poll_seconds):
            problems.append(f"the worker loop has not polled the API for {idle:.0f}s")
        for name, url in (("api", self.settings.api_url), ("store", self.settings.store_url)):
            try:
                httpx.get(f"{url}/healthz", timeout=3).raise_for_status()
            except httpx.HTTPError as error:
                problems.append(f"the {name} at {url} does not answer /healthz: {error}")
        return not problems, {"status": "unavailable" if problems else "ok", "worker_id": self.settings.worker_id,
                              "current_job": self.current_job, "problems": problems}

    def stop(self, *_args) -> None:
        self._stopping = True

    def claim(self) -> JobLease | None:
        body = ClaimRequest(worker_id=self.settings.worker_id, prefer=self.held)
        response = self.api.post("/internal/jobs/claim", json=body.model_dump(mode="json", exclude_none=True))
        if response.status_code == 204:
            self.held = None
            return None
        response.raise_for_status()
        lease = JobLease.model_validate(response.json())
        self.held = HeldModel(submission_id=lease.submission_id, model=lease.model)
        return lease

    def run(self) -> None:
        log.info("scorer %s polling %s", self.settings.worker_id, self.settings.api_url)
        done = 0
        while not self._stopping:
            self.last_poll = time.monotonic()
            try:
                lease = self.claim()
            except httpx.HTTPError as error:
                log.warning("cannot reach the API (%s); retrying in %.1fs", error, self.settings.poll_seconds)
                lease = None
            if lease is None:
                time.sleep(self.settings.poll_seconds)
                continue
            self.current_job = lease.job_id
            try:
                self.process(lease)
            except Exception:  # a stateless worker outlives any one job; the lease brings the job back
                log.exception("unexpected error on job %s; going on with the next job", lease.job_id)
            finally:
                self.current_job = None
            done += 1
            if self.settings.max_jobs and done >= self.settings.max_jobs:
                return

    def process(self, lease: JobLease) -> None:
        reporter = JobReporter(self.api, lease, self.settings.heartbeat_seconds)
        reporter.log(f"[platform] scorer {self.settings.worker_id} scoring {lease.model} on "
                     f"{lease.benchmark} v{lease.benchmark_version} (attempt {lease.attempt})")
        try:
            started, cpu = time.perf_counter(), _cpu_seconds()
            outcome = self._outcome(lease, reporter)
            outcome.usage = JobUsage(**reporter.usage, wall_seconds=round(time.perf_counter() - started, 3),
                                     cpu_seconds=round(_cpu_seconds() - cpu, 3))
            reporter.finish(outcome)
        except LeaseLost as error:
            log.warning("abandoning job %s: %s", lease.job_id, error)
        except (StorageError, httpx.HTTPError) as error:
            # The API keeps the job; its lease expires and another claim retries it. This worker goes on.
            log.warning("could not report job %s (%s); its lease will expire and it will be retried",
                        lease.job_id, error)

    def _outcome(self, lease: JobLease, reporter: JobReporter) -> CompleteRequest | FailRequest:
        """Score the job and return the report to send: ``complete`` with a score, or ``fail`` with its kind."""
        started = time.perf_counter()
        try:
            self._check_known_failure(model_fingerprint(lease))  # fail fast: no data fetched, nothing imported
            result = self.score(lease, reporter)
        except LeaseLost:
            raise
        except SubmissionFailure as error:
            reporter.log(f"[platform] submission error: {error}")
            return FailRequest(lease_token=lease.lease_token, kind="submission", message=str(error)[:4000],
                               scope="model" if error.model_error else "job")
        except ChecksumMismatch as error:
            return self._platform_failure(reporter, error)
        except ValueError as error:
            # The metric rejects what the model produced (constant or NaN activations, too few features).
            reporter.log(f"[platform] scoring rejected the model's output: {error}")
            return FailRequest(lease_token=lease.lease_token, kind="submission",
                               message=f"scoring failed: {error}"[:4000])
        except Exception as error:  # everything else is ours: retried by the API
            return self._platform_failure(reporter, error)
        numbers = ", ".join(f"{name} {'null' if value is None else f'{value:.4f}'}"
                            for name, value in (("raw", result.raw), ("ceiling", result.ceiling),
                                                ("ceiled", result.ceiled)))
        reporter.log(f"[platform] done in {time.perf_counter() - started:.1f}s: {numbers} (layer {result.layer})")
        return CompleteRequest(lease_token=lease.lease_token, score=result)

    @staticmethod
    def _platform_failure(reporter: JobReporter, error: Exception) -> FailRequest:
        log.exception("platform error on job %s", reporter.lease.job_id)
        return FailRequest(lease_token=reporter.lease.lease_token, kind="platform",
                           message=f"platform error ({type(error).__name__}): {error}"[:4000])

    def _fetch_ref(self, ref) -> dict[str, Path]:
        return {role: fetch(self.store, f"/objects/{file.key}", file.sha256, self.cache_dir,
                            suffix=Path(file.key).suffix) for role, file in ref.files.items()}

    def score(self, lease: JobLease, reporter: JobReporter) -> BenchmarkScore:
        response = self.store.get(f"/benchmarks/{lease.benchmark}", params={"version": lease.benchmark_version})
        response.raise_for_status()
        spec = BenchmarkSpec.model_validate(response.json())
        stimulus_files = self._fetch_ref(spec.stimulus_set)
        assembly_files = self._fetch_ref(spec.assembly)
        stimulus_sha = spec.stimulus_set.files["zip"].sha256
        table = load_stimulus_set(stimulus_files["csv"], stimulus_files["zip"],
                                  self.cache_dir / "stimuli" / stimulus_sha)
        assembly = load_assembly(assembly_files["netcdf"])
        reporter.check()
        features, model_info, key = self.model_activations(lease, spec, table, stimulus_sha, reporter)
        reporter.usage.update(layer_count=len(features), parameter_count=model_info.get("parameter_count"),
                                              activation_sizes={
            layer: int(np.prod(values.shape[1:])) for layer, values in features.items()})
        ceiling = Score(spec.ceiling.value, spec.ceiling.error) if spec.ceiling else None
        region_layer_map = model_info.get("region_layer_map") or {}
        commitment, commitment_key = self.region_commitment(lease, spec, reporter, region_layer_map,
                                                            (table, features, key))
        # Benchmarks of one region share its layer search, across jobs: kept beside the activations it ran on.
        commitments = LayerCommitments(self.cache_dir / "commitments" / f"{(commitment_key or key).digest()}.json",
                                       signer=self.signer)
        result = score_activations(spec, assembly, table, features, ceiling=ceiling, log=reporter.log,
                                   commitments=commitments, commitment=commitment,
                                   region_layer_map=region_layer_map)
        weights = {"weights_sha256": {entry.name: entry.sha256 for entry in lease.weights}} if lease.weights else {}
        return result.with_provenance(zip_sha256=lease.zip_sha256, bibtex=model_info["bibtex"], **weights,
                                      environment=model_info.get("environment", {}),
                                      model_visual_degrees=model_info["visual_degrees"],
                                      device=model_info.get("device", "cpu"),
                                      stimulus_set_sha256=stimulus_sha, worker=self.settings.worker_id,
                                      assembly_sha256=spec.assembly.files["netcdf"].sha256)

    def region_commitment(self, lease: JobLease, spec: BenchmarkSpec, reporter: JobReporter,
                          region_layer_map: dict, loaded: tuple) -> tuple[CommitmentData | None, ActivationsKey | None]:
        """The region's commitment data with the model's activations on it, and those activations' key.

        (None, None) where the benchmark needs none, or provides its region's commitment data itself (its own
        public split then commits the layer).
        """
        if spec.kind != "neural" or spec.region in region_layer_map:
            return None, None
        response = self.store.get("/benchmarks")
        response.raise_for_status()
        source = commitment_source(spec, [BenchmarkSpec.model_validate(entry) for entry in response.json()])
        if source is None or source.identifier == spec.identifier:
            return None, None
        reporter.log(f"[platform] region {spec.region} commits its layer on the public split of {source.ref}")
        target = load_assembly(self._fetch_ref(source.public_assembly or source.assembly)["netcdf"])
        source_sha = source.stimulus_set.files["zip"].sha256
        if (source_sha, source.visual_degrees) == (spec.stimulus_set.files["zip"].sha256, spec.visual_degrees):
            table, features, source_key = loaded  # the same images, placed the same: this job's activations
        else:
            stimulus_files = self._fetch_ref(source.stimulus_set)
            table = load_stimulus_set(stimulus_files["csv"], stimulus_files["zip"],
                                      self.cache_dir / "stimuli" / source_sha)
            features, _info, source_key = self.model_activations(lease, source, table, source_sha, reporter)
        return commitment_data(source, table, target, features), source_key

    def _wanted_set(self, lease: JobLease, spec: BenchmarkSpec, fingerprint: str, table=None) -> dict:
        """What the child needs for one benchmark's stimulus set, and the key of its activations."""
        stimulus_sha = spec.stimulus_set.files["zip"].sha256
        if table is None:
            stimulus_files = self._fetch_ref(spec.stimulus_set)
            table = load_stimulus_set(stimulus_files["csv"], stimulus_files["zip"],
                                      self.cache_dir / "stimuli" / stimulus_sha)
        layer_mode = procedure(spec).layers
        key = ActivationsKey(model_fingerprint=fingerprint, stimulus_set_sha256=stimulus_sha, layers=layer_mode,
                             placement=f"stimulus{spec.visual_degrees:g}deg")
        return {"key": key, "filenames": list(table["filename"]), "stimuli_dir": self.cache_dir / "stimuli" / stimulus_sha,
                "stimulus_degrees": spec.visual_degrees, "layer_mode": layer_mode}

    def _sibling_sets(self, lease: JobLease, fingerprint: str, have: set, reporter: JobReporter) -> list[dict]:
        """The stimulus sets of the model's other jobs that are not cached yet, to compute in the same session."""
        wanted = []
        for sibling in lease.siblings[:64]:
            try:
                response = self.store.get(f"/benchmarks/{sibling.benchmark}",
                                          params={"version": sibling.benchmark_version})
                response.raise_for_status()
                entry = self._wanted_set(lease, BenchmarkSpec.model_validate(response.json()), fingerprint)
            except Exception as error:  # that job fetches its own set when it runs
                log.warning("cannot prepare %s for job %s's session: %s", sibling.benchmark, lease.job_id, error)
                continue
            if entry["key"] in have or self.activations.get(entry["key"]) is not None:
                continue
            have.add(entry["key"])
            wanted.append(entry)
        return wanted

    def model_activations(self, lease: JobLease, spec: BenchmarkSpec, table, stimulus_sha: str,
                          reporter: JobReporter) -> tuple[dict[str, StoredMatrix], dict, ActivationsKey]:
        """The model's activations, what the model said of itself (bibtex, visual degrees, layers), and their key.

        The activations stay on disk (:class:`~cortexscore.stored.StoredMatrix`), in the cache or, for an
        entry larger than the whole cache, in a file already unlinked that is freed when they are dropped.

        A model session: one sandboxed child imports the model once, checks it on a few stimuli (preflight),
        and computes every stimulus set that this job and the model's other unfinished jobs need; those jobs
        then find their activations cached. A model whose own code raised fails every later job of it here,
        with the same cause, without being imported again.
        """
        # The parent never imports user code, so the zip and the model's name stand for its weights and
        # code; they also fix the model's own visual degrees, so the placement only needs the benchmark's.
        fingerprint = model_fingerprint(lease)
        self._check_known_failure(fingerprint)
        own = self._wanted_set(lease, spec, fingerprint, table)
        key = own["key"]
        info_path = self.cache_dir / "models" / f"{fingerprint}.json"
        cached = self.activations.open(key)
        if cached is not None and self.signer.verify(info_path, fingerprint):
            reporter.log(f"[platform] reusing cached activations of {lease.model} on this stimulus set")
            reporter.usage["cache_hit"] = True
            return cached, json.loads(info_path.read_text()), key
        wanted = [own]
        if fingerprint not in self.single_set_models:
            wanted += self._sibling_sets(lease, fingerprint, {key}, reporter)
        try:
            info, features = self._run_session(lease, fingerprint, wanted, reporter)
        except SubmissionFailure as error:
            if error.model_error:
                self._remember_failure(fingerprint, lease.job_id, str(error))
            elif len(wanted) > 1:
                self.single_set_models.add(fingerprint)  # a limit hit on many sets: the others try alone
            raise
        info_path.parent.mkdir(parents=True, exist_ok=True)
        info_path.write_text(json.dumps(info))
        self.signer.sign(info_path, fingerprint)
        if len(wanted) > 1:
            reporter.log(f"[platform] model session: {lease.model} imported once for {len(wanted)} stimulus sets "
                         f"of {len(lease.siblings) + 1} jobs")
        return features, info, key

    def _check_known_failure(self, fingerprint: str) -> None:
        failure = self.model_failures.get(fingerprint)
        if failure is not None:
            raise SubmissionFailure(f"{failure[1]} (found once, by job {failure[0]}, for every job of this model; "
                                    "it was not run again)", model_error=True)

    def _remember_failure(self, fingerprint: str, job_id: int, message: str) -> None:
        self.model_failures[fingerprint] = (job_id, message)
        while len(self.model_failures) > 1000:
            self.model_failures.pop(next(iter(self.model_failures)))

    def _run_session(self, lease: JobLease, fingerprint: str, wanted: list[dict],
                     reporter: JobReporter) -> tuple[dict, dict[str, StoredMatrix]]:
        """Run the child over ``wanted``; adopt each set's activations into the cache; return the first set's."""
        work_dir = prepare_job_dir(self.settings, f"job{lease.job_id}-{uuid.uuid4().hex[:8]}")
        weights_dir = None
        try:
            # The cache is never visible to the child: it gets its own copy of the zip.
            zip_path = work_dir / "submission.zip"
            shutil.copyfile(fetch(self.api, lease.zip_url, lease.zip_sha256, self.cache_dir, suffix=".zip"), zip_path)
            # Uploaded weights (issue 13): verified against their sha256, then shown read-only, by name.
            weights = {entry.name: fetch_weights(self.api, entry, self.cache_dir, self.signer)
                       for entry in lease.weights}
            for entry in lease.weights:
                reporter.log(f"[platform] weights {entry.name}: {entry.size} bytes, sha256 {entry.sha256} "
                             f"verified; at {WEIGHTS_ROOT}/{entry.name}")
            weights_dir = stage_weights(work_dir, weights)
            environment = self._environment(zip_path, reporter)
            request = {"zip_path": f"{JOB_ROOT}/submission.zip", "out_dir": JOB_ROOT, "model": lease.model,
                       "batch_size": self.settings.batch_size, "use_gpu": self.settings.expose_gpus,
                       "stimulus_sets": [{"stimuli_dir": stimuli_mount(index), "image_paths": entry["filenames"],
                                          "stimulus_degrees": entry["stimulus_degrees"],
                                          "layer_mode": entry["layer_mode"]} for index, entry in enumerate(wanted)],
                       "extra_paths": [ENVIRONMENT_ROOT] if environment else []}

            def tick(text: str) -> None:
                reporter.log(text.rstrip("\n"), model_output=True)
                reporter.check()

            outcome = run_child(request, work_dir, [entry["stimuli_dir"] for entry in wanted], self.settings,
                                on_tick=tick, environment=environment.site if environment else None,
                                weights_dir=weights_dir)
            reporter.log(f"[platform] sandbox: {'; '.join(outcome.isolation)}")
            reporter.usage.update(cache_hit=False, peak_memory_bytes=outcome.peak_memory_bytes)
            if outcome.peak_memory_bytes is not None:
                reporter.log(f"[platform] peak memory of the model's processes: {outcome.peak_memory_bytes >> 20} MiB")
            info = {**self._checked_result(outcome.result), "environment": environment.versions if environment else {}}
            reporter.log(f"[platform] the model's forward passes ran on {info['device']}")
            first = None
            for index, entry in enumerate(wanted):
                expected = ["logits"] if entry["layer_mode"] == "logits" else info["layers"]
                features = self._adopt_activations(entry["key"], work_dir, len(entry["filenames"]), index, expected)
                if index == 0:
                    first = features
                del features
            return info, first
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
            if weights_dir is not None:
                shutil.rmtree(weights_dir, ignore_errors=True)

    def _environment(self, zip_path: Path, reporter: JobReporter) -> Environment | None:
        """The submission's own environment for what it declares beyond the platform; None when it needs none."""
        declared = declared_requirements(zip_path)
        plan = plan_requirements(declared)
        if plan.problems:
            raise SubmissionFailure("the submission's requirements cannot be met: " + "; ".join(plan.problems),
                                    model_error=True)
        if not plan.install:
            return None
        sources = sorted({source.split("/")[-1] for text, source in declared if text in plan.install})
        try:
            return self.environments.get(plan.install, reporter.log)
        except SubmissionFailure as error:
            raise SubmissionFailure(f"{error} (declared in {', '.join(sources)})", model_error=True) from None

    def _checked_result(self, result: dict) -> dict:
        try:
            info = ChildResult.model_validate(result).model_dump()
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, item['loc'])) or 'result'}: {item['msg']}"
                                 for item in error.errors()[:5])
            raise SubmissionFailure(f"the model's result.json is malformed: {problems}") from None
        size = len(info["bibtex"].encode())
        if size > self.settings.max_bibtex_bytes:
            raise SubmissionFailure(f"the model's bibtex is {size} bytes, over the limit of "
                                    f"{self.settings.max_bibtex_bytes}; shorten get_bibtex()")
        return info

    def _adopt_activations(self, key: ActivationsKey, work_dir: Path, rows: int, index: int,
                           layers: list[str]) -> dict[str, StoredMatrix]:
        """Copy the child's layer files into one cache entry, each checked from its header before any data is read.

        Each layer is the child's ``activations_file(index, position)``, opened by that fixed name as a regular
        file (no link followed); its header must give a float32 (rows, n_features) matrix of at most
        ``max_layer_features`` columns and the file exactly that size, and the layers together at most
        ``max_activations_bytes``. The copy goes a row at a time, so no layer is ever held in memory.
        """
        staged = self.activations.staging_path(key)
        try:
            write_entry(staged, self._child_layers(work_dir, rows, index, layers))
            return self.activations.adopt(key, staged, rows=rows, max_columns=self.settings.max_layer_features)
        except ValueError as error:
            raise SubmissionFailure(f"the model's activations could not be read back: {error}") from None
        finally:
            staged.unlink(missing_ok=True)

    def _child_layers(self, work_dir: Path, rows: int, index: int, layers: list[str]):
        """``(layer, StoredMatrix)`` of each of the child's layer files in turn, checked; each file is open only
        for its turn, so a model of many layers never holds as many descriptors."""
        total = 0
        for position, layer in enumerate(layers):
            name = activations_file(index, position)
            what = f"the model's activations of layer {layer!r}"
            handle = open_child_file(work_dir, name, self.settings.max_activations_bytes, what)
            if handle is None:
                raise SubmissionFailure(f"the model's process wrote no activations file for layer {layer!r} ({name})")
            with handle:
                what = f"{what} ({name})"
                shape, header_bytes = read_npy_header(handle, what, rows, self.settings.max_layer_features)
                size = os.fstat(handle.fileno()).st_size
                if size != header_bytes + 4 * shape[0] * shape[1]:
                    raise SubmissionFailure(f"{what} is {size} bytes, but its header says {header_bytes} + "
                                            f"{4 * shape[0] * shape[1]}")
                total += size
                if total > self.settings.max_activations_bytes:
                    raise SubmissionFailure(f"the model's activations pass the limit of "
                                            f"{self.settings.max_activations_bytes} bytes at layer {layer!r}")
                yield layer, StoredMatrix(handle, header_bytes, shape)


def main() -> None:
    configure_logging("scorer")
    settings = get_settings()
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    worker = Worker(settings)
    serve_metrics("SCORER_METRICS_PORT", worker.health)
    signal.signal(signal.SIGTERM, worker.stop)
    worker.run()


if __name__ == "__main__":
    main()
