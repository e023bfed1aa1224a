"""Configuration of the operations room: backups (O-04), retention and partitions (D-05, T-03)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BackupConfig", "OffsiteConfig", "OpsConfig", "RetentionConfig"]


class OffsiteConfig(BaseModel):
    """The off-site copy (O-04) on S3-compatible storage through boto3 (``pip install 'algogrid[s3]'``).

    Credentials come from boto3's own chain (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` in the
    environment, a profile, an instance role), never from this file.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    bucket: str | None = None  # None: no off-site copy
    prefix: str = "algogrid/backups"
    endpoint_url: str | None = None  # e.g. a MinIO or another S3-compatible service
    region: str | None = None


class BackupConfig(BaseModel):
    """Where ``algogrid backup`` writes, how many backups it keeps, and the off-site copy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dir: Path = Path("var/backups")
    keep_last: int = Field(default=14, ge=1, le=1000)  # older local backups are deleted after a backup
    pg_bin_dir: Path | None = None  # pg_dump/pg_restore to use; default: the ones matching the server
    max_age_hours: float = Field(default=26, gt=0)  # the BackupTooOld alert's threshold (daily + slack)
    offsite: OffsiteConfig = OffsiteConfig()


class RetentionConfig(BaseModel):
    """D-05 windows in days, the archive directory and the schedule (T-03 partitions ahead)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    signals_days: int = Field(default=90, ge=1)
    positions_days: int = Field(default=180, ge=1)
    klines_days: int = Field(default=400, ge=1)  # ≥ the calibration's window (210 days, checked)
    orderbook_l50_days: int = Field(default=30, ge=1)
    trades_days: int = Field(default=7, ge=1)  # public_trades (P-06)
    tickers_days: int = Field(default=30, ge=1)  # ticker_log
    funding_days: int = Field(default=365, ge=1)  # funding_settlements
    archive_dir: Path = Path("var/archive")
    interval_s: float = Field(default=86400.0, gt=0)  # one pass a day
    first_run_delay_s: float = Field(default=60.0, ge=0)  # after start-up, so the pass never slows it
    partitions_months_ahead: int = Field(default=3, ge=1, le=24)

    def days_of(self) -> dict[str, int]:
        """Return the window of each archiver family, by family name."""
        # positions first: a position leaving releases its signal for the signals family in the same pass
        return {
            "positions": self.positions_days,
            "signals": self.signals_days,
            "klines_5m": self.klines_days,
            "orderbook_l50_log": self.orderbook_l50_days,
            "public_trades": self.trades_days,
            "ticker_log": self.tickers_days,
            "funding_settlements": self.funding_days,
        }


class OpsConfig(BaseModel):
    """The ``ops:`` section of ``settings.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backup: BackupConfig = BackupConfig()
    retention: RetentionConfig = RetentionConfig()
