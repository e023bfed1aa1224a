"""The front door, the ``algogrid simulator`` command and kline CSV replay."""

# ruff: noqa: PT018  # compound asserts read as one sentence about one message
from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sim_helpers import recv_json, recv_topic
from trio_websocket import open_websocket_url

import exchange.simulator as front
from exchange.simulator import Simulator, SimulatorConfig, SimulatorConfigError, open_simulator


def test_front_door_exports_exactly_the_public_names() -> None:
    assert sorted(front.__all__) == sorted(
        [
            "DEFAULT_SYMBOLS",
            "INSTRUMENTS",
            "MAX_HISTORY_BARS",
            "Account",
            "BybitRejection",
            "Execution",
            "Faults",
            "Market",
            "Order",
            "Position",
            "SimClock",
            "Simulator",
            "SimulatorConfig",
            "SimulatorConfigError",
            "SimulatorError",
            "SimulatorStateError",
            "SymbolSpec",
            "open_simulator",
        ]
    )
    assert all(hasattr(front, name) for name in front.__all__)


def test_config_is_frozen_and_refuses_unknown_symbols_and_fields() -> None:
    config = SimulatorConfig()
    assert len(config.symbols) == 15 and config.book_interval_ms == 200
    with pytest.raises(ValueError, match="frozen"):
        config.speed = 2  # type: ignore[misc]
    with pytest.raises(ValueError, match="NOPE"):
        SimulatorConfig(symbols=("NOPEUSDT",))
    with pytest.raises(ValueError, match="extra"):
        SimulatorConfig(colour="red")  # type: ignore[call-arg]


def test_cli_prints_its_urls_and_serves() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "algogrid.cli",
            "simulator",
            "--speed",
            "600",
            "--seed",
            "7",
            "--symbols",
            "BTCUSDT",
            "--duration",
            "0.5",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    lines = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line and " " not in line)
    assert lines["rest_url"].startswith("http://127.0.0.1:")
    assert lines["ws_public_url"].endswith("/v5/public/linear")
    assert lines["ws_private_url"].endswith("/v5/private")


def _csv(tmp_path: Path) -> Path:
    start = 1_700_000_100_000 - 1_700_000_100_000 % 300_000
    rows = ["start,open,high,low,close,volume"]
    price = Decimal("30000.0")
    for i in range(40):
        close = price + Decimal(i % 5 - 2) * 10
        rows.append(
            f"{start + i * 300_000},{price},{max(price, close) + 5},{min(price, close) - 5},{close},1.5"
        )
        price = close
    path = tmp_path / "btc.csv"
    path.write_text("\n".join(rows))
    return path


async def test_kline_csv_is_replayed_bar_for_bar(tmp_path: Path) -> None:
    path = _csv(tmp_path)
    source = [line.split(",") for line in path.read_text().splitlines()[1:]]
    config = SimulatorConfig(
        symbols=("BTCUSDT",), speed=6000, book_interval_ms=10, history_bars=10, kline_csv={"BTCUSDT": path}
    )
    async with open_simulator(config) as sim:
        async with httpx.AsyncClient(base_url=sim.rest_url) as client:
            rows = (
                await client.get(
                    "/v5/market/kline", params={"category": "linear", "symbol": "BTCUSDT", "interval": "5"}
                )
            ).json()["result"]["list"]
        by_start = {r[0]: r for r in rows}
        for src in source[:10]:
            assert [Decimal(v) for v in by_start[src[0]][1:6]] == [Decimal(v) for v in src[1:6]]
        async with open_websocket_url(sim.ws_public_url) as ws:
            await ws.send_message('{"op":"subscribe","args":["kline.5.BTCUSDT"]}')
            await recv_json(ws)
            msg = await recv_topic(ws, "kline.5.BTCUSDT")
            while not msg["data"][0]["confirm"]:
                msg = await recv_topic(ws, "kline.5.BTCUSDT")
            bar = msg["data"][0]
            src = next(s for s in source if int(s[0]) == bar["start"])
            assert [Decimal(bar[k]) for k in ("open", "high", "low", "close")] == [
                Decimal(v) for v in src[1:5]
            ]


def test_a_malformed_csv_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("1700000000000,1,2\n")
    config = SimulatorConfig(symbols=("BTCUSDT",), kline_csv={"BTCUSDT": bad})
    with pytest.raises(SimulatorConfigError):
        Simulator(config)
