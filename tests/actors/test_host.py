"""``BehaviourActor``: a fresh behaviour per incarnation, stopped on stop and on a crash; strays fail.

A recording behaviour runs under the real supervision library; the feed's own behaviour shows the clear
error for a message outside its union and answers ``GetFeedStatus`` from its state.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from actors_kit import ONE_R, Mailbox, PumpQueue

from actors import BehaviourActor, FeedBehaviour, FeedConfig, GetFeedStatus, TradingInputs
from exchange.bybit import PublicTrade, TickerUpdate
from supervision import ChildSpec, ManualClock, Status, SupervisionTree, SupervisorSpec
from tests.support import eventually

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dataclass
class Journal:
    """What every incarnation's behaviour did, shared across incarnations (read by the test thread)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    events: list[tuple[int, str]] = field(default_factory=list)

    def add(self, incarnation: int, event: str) -> None:
        with self.lock:
            self.events.append((incarnation, event))

    def of(self, incarnation: int) -> list[str]:
        with self.lock:
            return [e for i, e in self.events if i == incarnation]


@dataclass(frozen=True)
class Crash:
    """Tell: raise in the behaviour."""


class Recording:
    """A behaviour over ``Crash | str`` that records start, each message and stop."""

    def __init__(self, journal: Journal, incarnation: int) -> None:
        self._journal, self._incarnation = journal, incarnation

    def start(self) -> None:
        self._journal.add(self._incarnation, "start")

    def stop(self) -> None:
        self._journal.add(self._incarnation, "stop")

    def handle(self, message: Crash | str) -> str:
        match message:
            case Crash():
                raise RuntimeError("crash while handling a tell")
            case str():
                self._journal.add(self._incarnation, message)
                return message.upper()


class RecordingActor(BehaviourActor[Crash | str]):
    def __init__(self, journal: Journal, counter: list[int]) -> None:
        super().__init__()
        self._journal = journal
        counter[0] += 1
        self._incarnation = counter[0]

    def build(self) -> Recording:
        return Recording(self._journal, self._incarnation)


def test_the_behaviour_is_rebuilt_per_incarnation_and_stopped_on_crash_and_on_stop() -> None:
    journal, counter = Journal(), [0]
    child = ChildSpec("rec", lambda: RecordingActor.start(journal, counter))
    spec = SupervisorSpec("root", children=(child,))
    tree = SupervisionTree.start(spec, clock=ManualClock(T0), watchdog_interval=None)
    try:
        ref = tree.ref("root/rec")
        assert ref.ask("hello", timeout=5) == "HELLO"
        ref.tell(Crash())
        eventually(lambda: ref.incarnation == 2 and ref.status is Status.RUNNING)
        assert journal.of(1) == ["start", "hello", "stop"]  # stopped after the crash (on_failure)
        assert ref.ask("again", timeout=5) == "AGAIN"
    finally:
        tree.stop(timeout=10)
    assert journal.of(2) == ["start", "again", "stop"]  # stopped with the tree (on_stop)


def _feed(clock: ManualClock) -> FeedBehaviour:
    return FeedBehaviour(
        "BTCUSDT",
        FeedConfig(),
        TradingInputs(risk_per_trade_usd=ONE_R),
        downstream=Mailbox(),
        work=PumpQueue(),
        store=None,  # type: ignore[arg-type]
        snapshots=None,  # type: ignore[arg-type]
        self_ref=Mailbox(),
        clock=clock,
    )


def test_a_message_outside_the_union_is_a_clear_error() -> None:
    feed = _feed(ManualClock(T0))
    with pytest.raises(TypeError, match="expected a message of FeedBehaviour, got object"):
        feed.handle(object())  # type: ignore[arg-type]


def test_the_feed_reports_the_clock_time_of_its_last_market_event() -> None:
    clock = ManualClock(T0)
    feed = _feed(clock)
    report = feed.handle(GetFeedStatus())
    assert report is not None
    assert (report.symbol, report.last_event_at, report.book_synced) == ("BTCUSDT", None, False)
    clock.advance(5.0)
    feed.handle(PublicTrade("BTCUSDT", "t1", "Buy", Decimal(100), Decimal(1), 1_000, False, 1_000))
    clock.advance(3.0)
    report = feed.handle(GetFeedStatus())
    assert report is not None
    assert report.last_event_at == T0 + dt.timedelta(seconds=5)


def test_the_feed_reports_the_tickers_mark_price_and_next_funding_time() -> None:
    feed = _feed(ManualClock(T0))
    report = feed.handle(GetFeedStatus())
    assert report is not None
    assert (report.mark_price, report.next_funding_time) == (None, None)
    funding_ms = 1_700_006_400_000
    feed.handle(
        TickerUpdate(
            "BTCUSDT", None, Decimal("101.5"), None, None, None, None, None, None, funding_ms, 1_000, True
        )
    )
    feed.handle(TickerUpdate("BTCUSDT", None, None, None, None, None, None, None, None, None, 2_000, False))
    report = feed.handle(GetFeedStatus())
    assert report is not None
    assert report.mark_price == Decimal("101.5")  # a delta without a mark keeps the last one
    assert report.next_funding_time == dt.datetime.fromtimestamp(funding_ms / 1000, dt.UTC)
