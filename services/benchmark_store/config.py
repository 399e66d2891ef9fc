"""Settings of the benchmark store, from the environment (prefix ``STORE_``)."""
from functools import lru_cache
from typing import Annotated
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cortexscore.placeholders import real_secret

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


class StoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STORE_", env_file=".env", extra="ignore",
                                      hide_input_in_errors=True)  # never echo a secret into a log

    host: str = "127.0.0.1"
    port: int = 8001
    var_dir: Path = Path("var")
    # A filesystem path, or s3://host:port/bucket for S3/MinIO.
    object_store: str = ""
    s3_access_key: str = ""
    s3_secret_key: Annotated[SecretStr, real_secret("STORE_S3_SECRET_KEY", required=False)] = SecretStr("")
    # Scorers present this token to read private assemblies; `make run` generates one under var/.
    worker_token: Annotated[SecretStr, real_secret("STORE_WORKER_TOKEN")] = Field(SecretStr(""), validate_default=True)
    generate_synthetic: bool = True
    # How many stimuli the synthetic benchmarks have; another size than the default 400 is other benchmarks
    # (Synthetic2026.IT640-pls for 640, as bench/wide_layer.py and its test use), with their own data.
    synthetic_stimuli: int = Field(400, ge=8, le=10_000)
    # The local mirror of the pinned public datasets (see cortexscore.ingest); relative paths are taken
    # from the repository root. Every dataset found there is ingested at start-up.
    mirror_dir: Path = Field(Path("../shared/data"), validate_default=True)
    ingest: bool = True

    @field_validator("mirror_dir")
    @classmethod
    def _from_repository_root(cls, value: Path) -> Path:
        return value if value.is_absolute() else (REPOSITORY_ROOT / value).resolve()

    @property
    def object_store_url(self) -> str:
        return self.object_store or str(self.var_dir / "store")


@lru_cache
def get_settings() -> StoreSettings:
    return StoreSettings()
