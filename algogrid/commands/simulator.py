"""``algogrid simulator``: run the Bybit v5 simulator standalone and print its URLs."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path
from typing import Any

from algogrid.commands import Subparsers

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    """Add the ``simulator`` sub-command to the CLI."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "simulator", help="run a Bybit-v5-compatible venue on loopback and print its URLs"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--speed", type=float, default=60.0, help="exchange seconds per real second")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--symbols", default="", help="comma-separated subset of the whitelist (default: all 15)"
    )
    parser.add_argument(
        "--kline-csv",
        action="append",
        default=[],
        metavar="SYMBOL=PATH",
        help="replay a CSV of 5-minute bars for SYMBOL (repeatable)",
    )
    parser.add_argument("--api-key", default="sim-key", help="API key of the account created at start")
    parser.add_argument("--api-secret", default="sim-secret", help="API secret of that account")
    parser.add_argument("--balance", default="10000", help="USDT balance of that account")
    parser.add_argument(
        "--duration", type=float, default=None, help=argparse.SUPPRESS
    )  # tests: stop after N s
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start the simulator, print its URLs, serve until interrupted (or ``--duration``)."""
    import trio

    from exchange.simulator import SimulatorConfig, SimulatorConfigError, open_simulator

    try:
        csv = dict(item.split("=", 1) for item in args.kline_csv)
        fields: dict[str, Any] = {
            "host": args.host,
            "port": args.port,
            "speed": args.speed,
            "seed": args.seed,
            "kline_csv": {k: Path(v) for k, v in csv.items()},
        }
        if args.symbols:
            fields["symbols"] = tuple(s.strip() for s in args.symbols.split(",") if s.strip())
        config = SimulatorConfig(**fields)
    except (ValueError, SimulatorConfigError) as exc:
        print(f"algogrid simulator: invalid configuration: {exc}")
        return 2

    async def main() -> None:
        async with open_simulator(config) as sim:
            sim.add_account(args.api_key, args.api_secret, Decimal(args.balance))
            print(f"rest_url={sim.rest_url}", flush=True)
            print(f"ws_public_url={sim.ws_public_url}", flush=True)
            print(f"ws_private_url={sim.ws_private_url}", flush=True)
            print(f"api_key={args.api_key} (secret from --api-secret)", flush=True)
            if args.duration is not None:
                await trio.sleep(args.duration)
            else:
                await trio.sleep_forever()

    try:
        trio.run(main)
    except KeyboardInterrupt:
        return 0
    return 0
