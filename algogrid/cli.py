"""The ``algogrid`` command line: one sub-command per module in ``algogrid.commands``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module here exposes ``register(subparsers) -> None``; the parser it adds sets ``func(args) -> int``.
COMMAND_MODULES: tuple[str, ...] = (
    "algogrid.commands.run",
    "algogrid.commands.migrate",
    "algogrid.commands.create_admin",
    "algogrid.commands.simulator",
    "algogrid.commands.kill_switch",
    "algogrid.commands.backup",
    "algogrid.commands.calibrate",
    "algogrid.commands.forward",
    "algogrid.commands.backfill",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available sub-command."""
    parser = argparse.ArgumentParser(prog="algogrid", description="Bybit swing-trading actor system.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # the command is not built yet in this checkout
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
