"""The read of one pass, run on the trio side as a work-queue job (C-01, C-04).

Under the lock (``LeasePort.try_acquire``; another holder → ``PassSkipped``; a token not newer than the one
PostgreSQL last accepted means Redis lost its counter, and the current lease is re-issued past it), in this
order:

1. the exchange's positions (one settle-coin page: up to 20 symbols), then each symbol's open orders
   (conditional ones included; one read per symbol, as a settle-coin read returns one page of 20);
2. the executions since the window start (the oldest held position's opening, at most ``lookback_s``
   back), every page;
3. PostgreSQL: the held positions with their orders and fills, and which of the exchange's order links
   and exec ids it stores;
4. each PositionActor's views (an ask with ``actor_timeout_s``; no answer → ``None``);
5. the exchange's positions again: a symbol whose position changed meanwhile is marked as moving and its
   size is not judged in this pass (a fill landed between the reads).

The exchange is read before PostgreSQL because an order's intent is committed before it is sent: every
order of ours that the exchange lists is therefore already stored when PostgreSQL is read. On any error the
lease is released before the error goes back.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Sequence

import trio

from actors.position import PositionView
from exchange.bybit import ExecutionReport, OrderUpdate, PositionUpdate
from storage import Lease

from .config import ReconcilerConfig
from .deps import ReconcilerDeps
from .errors import PassAbandonedError
from .messages import PassObserved, PassSkipped
from .snapshot import PassSnapshot, SymbolSnapshot

__all__ = ["read_pass"]

_PAGES = 50


async def read_pass(
    deps: ReconcilerDeps, config: ReconcilerConfig, symbols: Sequence[str], now: dt.datetime
) -> PassObserved | PassSkipped:
    """Take the lock and read everything a pass compares (see the module docstring)."""
    lease = await deps.lock.try_acquire()
    if lease is None:
        return PassSkipped(holder=await deps.lock.holder())
    try:
        with trio.fail_after(config.pass_timeout_s):
            stored = await deps.store.fence()
            if lease.token <= stored:  # Redis lost its fence counter: PostgreSQL remembers a newer token
                lease = await deps.lock.advance(lease, stored)
            snapshot = await _read(deps, config, symbols, now, lease)
    except trio.TooSlowError as exc:
        await deps.lock.release(lease)
        raise PassAbandonedError(f"expected a pass within {config.pass_timeout_s} s, it took longer") from exc
    except BaseException:
        with trio.CancelScope(shield=True):
            await deps.lock.release(lease)
        raise
    return PassObserved(snapshot=snapshot, lease=lease)


async def _read(
    deps: ReconcilerDeps, config: ReconcilerConfig, symbols: Sequence[str], now: dt.datetime, lease: Lease
) -> PassSnapshot:
    started = time.perf_counter()
    exchange, store, wanted = deps.exchange, deps.store, set(symbols)
    before = _by_symbol(await exchange.get_positions(settle_coin=deps.settle_coin), wanted)
    orders = await _open_orders(deps, symbols)
    held = await store.load_held(list(symbols))
    opened = [p.opened_at for book in held.values() for p in book.positions]
    floor = now - dt.timedelta(seconds=config.lookback_s)
    recent = now - dt.timedelta(seconds=2 * config.interval_s)
    since = max(floor, min([*opened, recent]) - dt.timedelta(minutes=1))
    executions = [e for e in await _executions(deps, since) if e.symbol in wanted]
    links = sorted({o.order_link_id for o in orders if o.order_link_id})
    known_links = await store.known_order_links(links)
    known_execs = await store.known_exec_ids(sorted({e.exec_id for e in executions}))
    views = await _views(deps, symbols)
    after = _by_symbol(await exchange.get_positions(settle_coin=deps.settle_coin), wanted)
    snapshots = []
    for symbol in symbols:
        position = before.get(symbol)
        moved = _key(position) != _key(after.get(symbol))
        snapshots.append(
            SymbolSnapshot(
                symbol=symbol,
                held=held[symbol],
                actor=views.get(symbol),
                exchange_position=position,
                exchange_moved=moved,
                open_orders=tuple(o for o in orders if o.symbol == symbol),
                executions=tuple(e for e in executions if e.symbol == symbol),
                known_exec_ids=frozenset(known_execs),
                known_links=frozenset(known_links),
            )
        )
    return PassSnapshot(
        run_id=str(uuid.uuid4()),
        fence=lease.token,
        holder=lease.owner,
        started_at=now,
        symbols=tuple(snapshots),
        read_ms=(time.perf_counter() - started) * 1000,
    )


async def _open_orders(deps: ReconcilerDeps, symbols: Sequence[str]) -> list[OrderUpdate]:
    """Return every symbol's open orders, one read per symbol (a settle-coin read returns one page of 20)."""
    found: dict[str, list[OrderUpdate]] = {}

    async def one(symbol: str) -> None:
        found[symbol] = await deps.exchange.get_open_orders(symbol)

    async with trio.open_nursery() as nursery:
        for symbol in symbols:
            nursery.start_soon(one, symbol)
    return [o for symbol in symbols for o in found[symbol]]


def _by_symbol(positions: list[PositionUpdate], wanted: set[str]) -> dict[str, PositionUpdate]:
    return {p.symbol: p for p in positions if p.symbol in wanted and p.size > 0}


def _key(position: PositionUpdate | None) -> tuple[str, str] | None:
    return None if position is None else (position.side, str(position.size))


async def _executions(deps: ReconcilerDeps, since: dt.datetime) -> list[ExecutionReport]:
    start = int(since.timestamp() * 1000)
    out: list[ExecutionReport] = []
    cursor: str | None = None
    for _ in range(_PAGES):
        page = await deps.exchange.get_executions(start_time=start, cursor=cursor, limit=100)
        out.extend(page.items)
        if not page.next_cursor or not page.items:
            break
        cursor = page.next_cursor
    return out


async def _views(deps: ReconcilerDeps, symbols: Sequence[str]) -> dict[str, tuple[PositionView, ...] | None]:
    found: dict[str, tuple[PositionView, ...] | None] = {}

    async def one(symbol: str) -> None:
        found[symbol] = await deps.views.views(symbol)

    async with trio.open_nursery() as nursery:
        for symbol in symbols:
            nursery.start_soon(one, symbol)
    return found
