"""Settings of the submission API, from the environment (prefix ``API_``; ``PORT`` sets the port)."""
from functools import lru_cache
from typing import Annotated
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from cortexscore.placeholders import real_secret


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="API_", env_file=".env", extra="ignore",
                                      hide_input_in_errors=True)  # never echo a secret into a log

    host: str = "127.0.0.1"
    port: int = Field(8000, validation_alias=AliasChoices("PORT", "API_PORT"))
    var_dir: Path = Path("var")
    database_url: str = ""
    # A filesystem path, or s3://host:port/bucket.
    object_store: str = ""
    s3_access_key: str = ""
    s3_secret_key: Annotated[SecretStr, real_secret("API_S3_SECRET_KEY", required=False)] = SecretStr("")
    store_url: str = "http://127.0.0.1:8001"
    # Scorers present it to claim jobs; `make run` generates one under var/ and passes it to every service.
    worker_token: Annotated[SecretStr, real_secret("API_WORKER_TOKEN")] = Field(SecretStr(""), validate_default=True)
    # Anonymous uploads and self-service sign-up: on in the embedded default, off in deploy/.
    allow_anonymous: bool = True
    allow_signup: bool = True
    # An admin account is created (or its token re-keyed) at start-up when this is set.
    admin_token: Annotated[SecretStr, real_secret("API_ADMIN_TOKEN", required=False)] = SecretStr("")
    # The reserved `reference` account (the leaderboard's reference models) is created, or re-keyed, at start-up
    # when this is set; `make run` generates one under var/ and `make seed` submits with it.
    reference_token: Annotated[SecretStr, real_secret("API_REFERENCE_TOKEN", required=False)] = SecretStr("")
    quota_uploads_per_day: int = 50
    quota_concurrent_jobs: int = 200
    webhook_timeout_seconds: float = 10.0
    webhook_max_attempts: int = 10
    webhook_backoff_seconds: float = 5.0
    webhook_poll_seconds: float = 1.0
    # Callback URLs may point at loopback/private addresses only in the embedded default; deploy/ turns this off.
    webhook_allow_private_addresses: bool = True
    max_upload_bytes: int = 512 << 20
    # Models one zip may hold; each model is one job per benchmark, counted against quota_concurrent_jobs.
    max_models_per_upload: int = 100
    # Anonymous uploads a client address may start per window (attempts, accepted or not).
    anonymous_uploads_per_window: int = 10
    anonymous_upload_window_seconds: float = 60.0
    # An upload whose body sends nothing for this long is answered 408 and dropped.
    upload_idle_timeout_seconds: float = 30.0
    # Issue 13: weights files uploaded on their own, straight to the object store. Each account may keep this many
    # bytes of them (pending uploads count, so a quota cannot be dodged by never finishing one).
    weights_quota_bytes: int = 20 << 30
    # How long a presigned PUT URL (S3/MinIO object stores) stays valid; declaring the upload again renews it.
    weights_presign_seconds: int = 3600
    # Pending weight uploads not finished in this long are removed at start-up, freeing their owners' quota.
    weights_abandoned_seconds: float = 7 * 24 * 3600
    # Where clients reach the S3 object store (https://objects.example.org), when not at the address in
    # object_store (s3://minio:9000/... inside a cluster): presigned URLs are signed for this host.
    s3_public_url: str = ""
    # The most score entries one GET /submissions/{id}/scores page holds.
    scores_page_max: int = 5000
    lease_seconds: float = 60.0
    # Attempts per job for platform failures (scorer died, store down); backoff doubles each time.
    max_attempts: int = 5
    retry_backoff_seconds: float = 5.0
    sweep_seconds: float = 5.0
    # Upload leftovers (temp files, zips with no submission row) older than this are removed at start-up.
    leftover_seconds: float = 600.0
    cors_origins: list[str] = []

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'cortexscore.db'}"

    @property
    def object_store_url(self) -> str:
        return self.object_store or str(self.var_dir / "objects")


@lru_cache
def get_settings() -> ApiSettings:
    return ApiSettings()
