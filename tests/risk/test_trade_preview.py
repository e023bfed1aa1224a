"""``PreviewTrade``: what a click would do — size, fees, risk, heat after — reserving nothing (R-02)."""

from __future__ import annotations

from decimal import Decimal

from actors import CheckSignal, SignalAllowed
from actors.risk import PreviewTrade, TradePreview
from strategy_core.config import InstrumentRules, RiskLimits
from strategy_core.models import Side
from tests.risk.risk_kit import Collector, make_signal, running_risk
from tests.support import eventually_async

RULES = InstrumentRules(tick_size=Decimal("0.01"), qty_step=Decimal("0.1"), min_qty=Decimal("0.1"))


def _preview(signal_id: str | None, symbol: str = "BTCUSDT") -> PreviewTrade:
    return PreviewTrade(
        symbol=symbol,
        side=Side.LONG,
        entry=Decimal(100),
        sl=Decimal("97"),
        instrument=RULES,
        signal_id=signal_id,
    )


async def test_a_preview_of_an_approved_signal_counts_it_once_and_reserves_nothing(
    risk_db_url: str, redis_clean_url: str
) -> None:
    async with running_risk(
        risk_db_url, redis_clean_url, limits=RiskLimits(max_concurrent_positions=2)
    ) as rig:
        await rig.snapshot()
        signal = make_signal("BTCUSDT")
        verdicts = Collector()
        rig.ref.tell(CheckSignal(signal=signal, reply_to=verdicts))
        await eventually_async(lambda: bool(verdicts.of(SignalAllowed)), timeout=5)
        before = await rig.snapshot()

        preview: TradePreview = await rig.ask(_preview(str(signal.id)))

        assert preview.verdict == "allowed", preview
        assert preview.qty == Decimal("8.3")  # 25 USD / 3 rounded down to 0.1
        assert preview.notional_usd == Decimal("830.0")
        assert preview.fee_estimate_usd == Decimal("830.0") * Decimal("0.00055") * 2
        assert preview.risk_usd == Decimal("24.9")
        assert preview.positions_after == 1  # its own reservation is this trade
        assert preview.base_usage_after == 1
        assert preview.total_risk_usd_after == Decimal("24.9")
        assert await rig.snapshot() == before

        other: TradePreview = await rig.ask(_preview(None, "ETHUSDT"))
        assert other.verdict == "allowed"
        assert other.positions_after == 2
        assert other.total_risk_usd_after == Decimal("25") + Decimal("24.9")


async def test_a_preview_that_would_breach_a_limit_says_why(risk_db_url: str, redis_clean_url: str) -> None:
    async with running_risk(
        risk_db_url, redis_clean_url, limits=RiskLimits(max_concurrent_positions=1)
    ) as rig:
        await rig.snapshot()
        verdicts = Collector()
        rig.ref.tell(CheckSignal(signal=make_signal("SOLUSDT"), reply_to=verdicts))
        await eventually_async(lambda: bool(verdicts.of(SignalAllowed)), timeout=5)

        preview: TradePreview = await rig.ask(_preview(None))
        tiny: TradePreview = await rig.ask(
            PreviewTrade(
                symbol="BTCUSDT",
                side=Side.LONG,
                entry=Decimal(1000),
                sl=Decimal(500),
                instrument=RULES,
                signal_id=None,
            )
        )

        assert (preview.verdict, preview.reason_code) == ("denied", "max_concurrent_positions")
        assert preview.reason is not None
        assert "concurrent" in preview.reason
        assert (tiny.verdict, tiny.reason_code, tiny.qty) == ("denied", "qty_below_minimum", Decimal(0))
