"""Storage configuration (T-04): server URLs, embedded data dir, pool sizes."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = ["StorageConfig"]


class StorageConfig(BaseModel):
    """Where PostgreSQL and Redis live and how the pool is sized.

    When ``database_url`` / ``redis_url`` are unset, ``algogrid run`` starts embedded servers under
    ``data_dir``. URLs are secrets (they may carry passwords): they never appear in repr or logs.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: SecretStr | None = None
    redis_url: SecretStr | None = None
    data_dir: Path = Path("var")
    pool_min_size: int = Field(default=5, ge=1, le=100)
    pool_max_size: int = Field(default=20, ge=1, le=200)
    # Redis connections shared by every caller; past it a command waits for a free one (a burst of 2,000
    # requests, each checking its session and rate limit, must not open 2,000 connections).
    redis_max_connections: int = Field(default=64, ge=2, le=10_000)
    command_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @model_validator(mode="after")
    def _check_pool(self) -> StorageConfig:
        if self.pool_min_size > self.pool_max_size:
            raise ValueError(
                f"expected pool_min_size <= pool_max_size, got {self.pool_min_size} > {self.pool_max_size}"
            )
        return self
