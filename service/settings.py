"""Settings of the daemon, from ``EKYC_*`` environment variables (pydantic-settings).

With no configuration at all the daemon runs on embedded defaults: a SQLite file under
``EKYC_STATE_DIR`` (``./ekyc-data``), migrations applied at start, a local SMTP relay on
port 25, and the development secret. Outside ``EKYC_ENV=development`` the development
secret and weak password-hashing costs are refused, so a forgotten variable fails at
start instead of in an audit.

Nothing here is read at import: ``get_settings()`` builds the object once per process and
``create_app(settings)`` takes it as an argument (tests build their own).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ekyc.config import VERIFY_MODEL_THREADS
from loanflow.ekyc_session import CHALLENGE_RETAKES
from loanflow.mail import DEFAULT_SENDER

__all__ = ["DEV_SECRET", "RateLimit", "Settings", "get_settings"]

DEV_SECRET = "changethis"  # noqa: S105 (the placeholder that is refused outside development)

# OWASP's argon2id floor (19 MiB, 2 passes): below it a stolen hash table is cheap to crack.
_MIN_ARGON2_MEMORY_KIB = 19 * 1024
_MIN_ARGON2_TIME_COST = 2


class RateLimit(BaseModel):
    """A token bucket: ``burst`` requests at once, refilled at ``per_minute``."""

    per_minute: float = Field(gt=0)
    burst: int = Field(ge=1)


class Settings(BaseSettings):
    """Everything the daemon reads from its environment (``EKYC_`` + the upper-case name).

    Complex values are JSON: ``EKYC_RATE_LOGIN='{"per_minute": 10, "burst": 5}'``,
    ``EKYC_STAFF_TOKEN_SHA256='{"reviewer-1": "<sha256 hex of the token>"}'``.
    """

    model_config = SettingsConfigDict(env_prefix="EKYC_", extra="ignore", frozen=True)

    env: Literal["development", "test", "staging", "production"] = "development"

    # HTTP
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    allowed_origins: tuple[str, ...] = ()  # CORS + Origin check; same origin always allowed
    forwarded_allow_ips: str = "127.0.0.1"  # proxies whose X-Forwarded-For uvicorn trusts
    shutdown_grace_s: int = Field(default=20, ge=1)  # in-flight requests get this long
    # Strict-Transport-Security on https answers (the cookies are Secure-only anyway); 0: none
    hsts_max_age_s: int = Field(default=365 * 24 * 3600, ge=0)

    # Storage
    state_dir: Path = Path("ekyc-data")  # EKYC_DATA_DIR already names the evaluation data
    database_url: str | None = None  # default: sqlite:///<state_dir>/loanflow.db
    migrate_on_start: bool = True

    # Mail
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    mail_sender: str = DEFAULT_SENDER
    mail_retry_interval_s: float = Field(default=30.0, ge=0)  # 0: only right after a change

    # Secrets and sessions
    secret_key: SecretStr = SecretStr(DEV_SECRET)  # keys the CSRF tokens
    staff_token_sha256: dict[str, str] = {}  # staff id -> sha256 hex of its API token
    session_idle_timeout_s: int = Field(default=30 * 60, ge=60)
    session_max_age_s: int = Field(default=8 * 3600, ge=60)
    max_sessions: int = Field(default=100_000, ge=1)
    argon2_time_cost: int = Field(default=3, ge=1)  # argon2-cffi's RFC 9106 low-memory
    argon2_memory_kib: int = Field(default=64 * 1024, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)

    # Limits
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)  # JSON forms
    max_upload_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)  # the guide's 5 MB
    max_pixels: int = Field(default=50_000_000, ge=1)
    workers: int | None = Field(default=None, ge=1)  # CPU pool; None: the usable cores
    queue_per_worker: int = Field(default=4, ge=1)  # beyond it, 503 server_busy
    rate_codes: RateLimit = RateLimit(per_minute=10, burst=5)
    rate_login: RateLimit = RateLimit(per_minute=10, burst=10)
    rate_frames: RateLimit = RateLimit(per_minute=600, burst=30)  # ~10 preview frames/s
    # A liveness challenge and its recording (~1 s of CPU each, judged on arrival): an
    # applicant needs a few (retakes come with their own new challenge); more is fishing
    # for challenges or loading the CPU pool. Per client address and route.
    rate_challenge: RateLimit = RateLimit(per_minute=6, burst=6)
    capture_window_s: int = Field(default=15 * 60, ge=60)  # a capture token's lifetime
    max_frames_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)  # challenge recording
    # Challenge recordings asked again on arrival for a failure the applicant can fix
    # (loanflow.ekyc_session.challenge_retake); 0: none, every recording judged at finish
    challenge_retakes: int = Field(default=CHALLENGE_RETAKES, ge=0, le=10)

    # Models
    preload_models: bool = True
    model_manifest: Path | None = None  # default: models/manifest.toml of the checkout
    model_build_dir: Path | None = None
    model_providers: tuple[str, ...] = ("CPUExecutionProvider",)
    # onnxruntime intra-op threads per model: 1, as ekyc.config.VERIFY_MODEL_THREADS says why
    model_threads: int | None = Field(default=VERIFY_MODEL_THREADS, ge=1)

    # Logs
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_development_secrets(self) -> Self:
        if self.env == "development":
            return self
        secret = self.secret_key.get_secret_value()
        if secret == DEV_SECRET or len(secret) < 32:
            raise ValueError(
                f"EKYC_SECRET_KEY must be set to a random value of 32+ characters when "
                f"EKYC_ENV={self.env} (e.g. python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')"
            )
        if (
            self.argon2_memory_kib < _MIN_ARGON2_MEMORY_KIB
            or self.argon2_time_cost < _MIN_ARGON2_TIME_COST
        ):
            raise ValueError(
                f"argon2 costs below {_MIN_ARGON2_TIME_COST} passes / "
                f"{_MIN_ARGON2_MEMORY_KIB} KiB are for development only (EKYC_ENV={self.env})"
            )
        return self

    @model_validator(mode="after")
    def _check_staff_tokens(self) -> Self:
        for staff_id, digest in self.staff_token_sha256.items():
            if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest.lower()):
                raise ValueError(f"the staff token of {staff_id!r} must be a sha256 hex digest")
        return self

    @property
    def resolved_database_url(self) -> str:
        """``database_url``, or the SQLite file under ``state_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.state_dir / 'loanflow.db'}"

    @property
    def cpu_workers(self) -> int:
        """Threads of the CPU pool: ``workers``, or the cores this process may use."""
        if self.workers is not None:
            return self.workers
        if hasattr(os, "sched_getaffinity"):
            return max(1, len(os.sched_getaffinity(0)))
        return max(1, os.cpu_count() or 1)


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    return Settings()
