"""Settings of a scorer worker (prefix ``SCORER_``). It knows two URLs: the API's and the store's."""
import os
import tempfile
import socket
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ScorerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCORER_", env_file=".env", extra="ignore")

    api_url: str = "http://127.0.0.1:8000"
    store_url: str = "http://127.0.0.1:8001"
    worker_token: SecretStr = SecretStr("embedded-worker-token")
    worker_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    cache_dir: Path = Path("var/scorer-cache")
    poll_seconds: float = 2.0
    heartbeat_seconds: float = 5.0
    # Limits on the untrusted child process that runs the model code.
    import_timeout_seconds: float = 300.0
    run_timeout_seconds: float = 3600.0
    memory_limit_bytes: int = 12 << 30
    file_size_limit_bytes: int = 8 << 30
    # Network, mount and PID namespaces for the child, where the kernel allows them.
    isolate_namespaces: bool = True
    max_processes: int = 256
    # Working dirs of sandboxed children; must lie outside every hidden path.
    sandbox_dir: Path = Path(tempfile.gettempdir()) / "cortexscore-sandbox"
    # Covered by an empty tmpfs inside the sandbox: the platform's data, the cache with the assemblies.
    sandbox_hidden_paths: list[Path] = Field(default_factory=lambda: [Path("var").resolve()])
    batch_size: int = 64
    activation_cache_bytes: int = 4 << 30
    # Stop after this many jobs (0: run forever); tests use it to run one job at a time.
    max_jobs: int = 0


@lru_cache
def get_settings() -> ScorerSettings:
    return ScorerSettings()
