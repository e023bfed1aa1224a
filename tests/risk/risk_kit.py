"""Test kit of the risk room: real storage, the real trio work queue behind the actors' port, signals."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from actors import WorkRejectedError
from storage import ServerUrls, Storage, StorageConfig, open_storage
from strategy_core.exposure import OpenPosition
from strategy_core.models import Side
from strategy_core.signal import Signal
from supervision import TrioWorkQueue, WorkQueueClosed, WorkQueueFull

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@asynccontextmanager
async def open_risk_storage(db_url: str, redis_url: str) -> AsyncIterator[Storage]:
    """Open the real storage front door on the test's database and Redis."""
    config = StorageConfig(pool_min_size=1, pool_max_size=4)
    async with open_storage(config, ServerUrls(db_url, redis_url)) as storage:
        yield storage


def _same(value: object) -> object:
    return value


class WorkPort:
    """The actors' ``WorkQueue`` port on the supervision library's real ``TrioWorkQueue``."""

    def __init__(self, queue: TrioWorkQueue) -> None:
        self.queue = queue

    def submit(self, job: Callable[[], Any], reply_to: Any, on_error: Callable[[Exception], object]) -> None:
        try:
            self.queue.submit(job, reply_to=reply_to, on_result=_same, on_error=on_error)
        except (WorkQueueFull, WorkQueueClosed) as exc:
            raise WorkRejectedError(str(exc)) from exc


class Collector:
    """A thread-safe ``MessageSink`` (a signal actor's ``reply_to``, the position side, the risk actor)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[object] = []

    def tell(self, message: object) -> None:
        with self._lock:
            self._messages.append(message)

    @property
    def messages(self) -> list[object]:
        with self._lock:
            return list(self._messages)

    def of(self, kind: type[Any]) -> list[Any]:
        return [m for m in self.messages if isinstance(m, kind)]


def make_signal(
    symbol: str = "BTCUSDT", side: Side = Side.LONG, risk_r: str = "1", at: dt.datetime = T0
) -> Signal:
    """Return a valid signal risking ``risk_r`` R ($25 per R)."""
    entry = Decimal(100)
    sign = 1 if side is Side.LONG else -1
    return Signal(
        id=uuid.uuid4(),
        symbol=symbol,
        side=side,
        entry=entry,
        tp1=entry + sign * 2,
        tp2=entry + sign * 3,
        tp3=entry + sign * 4,
        sl=entry - sign * 1,
        qty=Decimal(25),
        risk_usd=Decimal(25) * Decimal(risk_r),
        risk_r=Decimal(risk_r),
        p_win=Decimal("0.6"),
        strategy="avi5",
        strategy_version="1",
        created_at=at,
        bar_start=at,
    )


def position(
    position_id: str, symbol: str = "BTCUSDT", side: Side = Side.LONG, risk_r: str = "1", entry: str = "100"
) -> OpenPosition:
    """Return an open position of qty 25 risking ``risk_r`` R ($25 per R, 1 USD per unit per R)."""
    return OpenPosition(
        position_id=position_id,
        symbol=symbol,
        side=side,
        qty=Decimal(25),
        entry=Decimal(entry),
        risk_usd=Decimal(25) * Decimal(risk_r),
        risk_r=Decimal(risk_r),
    )
