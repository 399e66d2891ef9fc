"""Settings of a scorer worker (prefix ``SCORER_``). It knows two URLs: the API's and the store's."""
import os
import tempfile
import socket
from functools import lru_cache
from typing import Annotated
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from cortexscore.placeholders import real_secret


class ScorerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCORER_", env_file=".env", extra="ignore",
                                      hide_input_in_errors=True)  # never echo a secret into a log

    api_url: str = "http://127.0.0.1:8000"
    store_url: str = "http://127.0.0.1:8001"
    # `make run` generates one under var/ and passes it to every service.
    worker_token: Annotated[SecretStr, real_secret("SCORER_WORKER_TOKEN")] = Field(SecretStr(""), validate_default=True)
    worker_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    cache_dir: Path = Path("var/scorer-cache")
    # How long an idle scorer waits between claims. A claim is one indexed query, so 0.5 s costs the API little,
    # and a new upload waits 0.25 s on average for a scorer rather than 1 s (bench/suite.py).
    poll_seconds: float = 0.5
    heartbeat_seconds: float = 5.0
    # Limits on the untrusted child process that runs the model code.
    import_timeout_seconds: float = 300.0
    run_timeout_seconds: float = 3600.0
    # Enforced by the kernel for the whole job (a memory cgroup), tmpfs /dev/shm included.
    memory_limit_bytes: int = 12 << 30
    max_processes: int = 256
    # The job dir's quota (RLIMIT_FSIZE per file, and the scorer measures the dir), its entries, and /dev/shm.
    disk_quota_bytes: int = 8 << 30
    max_job_files: int = 100_000
    shm_bytes: int = 256 << 20
    # What the scorer reads back from the child: printed output, result.json/error.json, bibtex, activations.
    max_output_bytes: int = 4 << 20
    max_result_bytes: int = 256 << 10
    max_bibtex_bytes: int = 64 << 10
    max_activations_bytes: int = 16 << 30
    max_layer_features: int = 4_000_000
    # Where the requirements a submission declares beyond the platform come from (binary wheels only), and the
    # most one submission's environment may take on disk.
    package_index_url: str = "https://pypi.org/simple"
    max_environment_bytes: int = 2 << 30
    # Let the sandboxed model use the host's NVIDIA GPUs (/dev/nvidia*), where there are any.
    expose_gpus: bool = True
    # Compute the metrics' Gram matrices (the bulk of scoring a wide layer) on this process's first GPU, where
    # there is one. Off by default: a GPU sums in another order, so scores would differ at ~1e-13 from the CPU's.
    gram_on_gpu: bool = False
    # Working dirs of sandboxed children; must lie outside every private path.
    sandbox_dir: Path = Path(tempfile.gettempdir()) / "cortexscore-sandbox"
    # Never visible to the child (the sandbox shows it only the runtime): checked against what it does show.
    sandbox_hidden_paths: list[Path] = Field(default_factory=lambda: [Path("var").resolve()])
    batch_size: int = 64
    activation_cache_bytes: int = 4 << 30
    # Stop after this many jobs (0: run forever); tests use it to run one job at a time.
    max_jobs: int = 0


@lru_cache
def get_settings() -> ScorerSettings:
    return ScorerSettings()
