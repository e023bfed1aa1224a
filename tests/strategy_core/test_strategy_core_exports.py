"""The front door ``strategy_core`` exports exactly the pinned names, each resolving (STYLE §1)."""

from __future__ import annotations

import strategy_core
from tests.support.exports import assert_front_door

EXPECTED = [
    "AVI5Config", "AVI5_RULES_VERSION", "AVI5_STRATEGY", "Avi5Condition", "Avi5Decision", "BookLevel",
    "BookTop", "BreakEvenDecision", "BreakEvenMode", "CalibrationStats", "ChurnBook", "ClosedTrade",
    "ConfirmedCandle", "DECIMAL_CONTEXT", "DenyReason", "Donchian", "Exposure", "FIFTEEN_MINUTES",
    "FIVE_MINUTES", "FundingExitDecision", "HourOutcomes", "IndicatorError", "IndicatorSet",
    "IndicatorState", "InstrumentRules", "InsufficientDataError", "InvalidBookError", "InvalidCandleError",
    "InvalidSignalError", "InvalidSymbolError", "KillAssessment", "KillFinding", "KillThresholds", "Levels",
    "OpenPosition", "PositionRules", "QUOTE_ASSETS", "Resampler15m", "RiskCandidate", "RiskDecision",
    "RiskLimits", "Side", "Signal", "SignalStatus", "StrategyCoreError", "StreamingATR",
    "StreamingDonchian", "StreamingEMA", "StreamingVWAP", "ThetaMap", "TickerState", "TradeStats",
    "TradingState", "VwapBand", "ZeroVolumeError", "apply_avi5", "assess_kill_conditions",
    "atr_above_percentile", "base_asset", "book_depth_usd", "bucket_start_15m", "calculate_atr_ema",
    "calculate_ema", "calculate_vwap", "calculate_vwap_band",
    "check_break_even", "check_funding_exit", "check_risk", "compute_indicator_set", "compute_levels",
    "daily_drawdown_r", "derive_15m", "donchian_channel", "drawdown_pct_series", "estimate_p_win",
    "evaluate_avi5", "max_drawdown_breached", "microprice", "orderbook_imbalance", "round_down_to_step",
    "round_nearest_to_step", "round_up_to_step", "signal_id_for", "strategy_version", "trade_stats",
    "true_range", "typical_price", "upnl_r", "utc_day_start",
    "BarSeries", "Candidates", "TradeCosts", "extract_candidates", "profit_factor", "CalibrationConfig",
    "FoldResult", "HourCalibration", "SymbolCalibration", "calibrate_fold", "population_stability_index",
    "walk_forward", "ExitReason", "FillModel", "OpenTrade", "SimulatedTrade", "simulate_trade",
    "ForwardMetrics", "ForwardStatus", "ForwardThresholds", "ForwardVerdict", "GateDecision",
    "forward_metrics", "judge_forward", "live_trading_gate", "max_drawdown_pct",
    "MarketContext", "ReplaySeries", "slippage_bps_of",
]  # fmt: skip


def test_the_front_door_exports_exactly_the_pinned_names() -> None:
    assert_front_door(strategy_core, EXPECTED)
