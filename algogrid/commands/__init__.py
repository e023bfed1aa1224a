"""The ``algogrid`` sub-commands: each module exposes ``register(subparsers: Subparsers) -> None``."""

from __future__ import annotations

import argparse
from typing import TypeAlias

__all__ = ["Subparsers"]

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``argparse.ArgumentParser.add_subparsers`` returns; every command module registers on it."""
