"""Typed asks: a message declared `Ask[R]` is delivered like any other and its reply is typed `R`.

The static half runs mypy (strict) on a small caller: if the `ChildRef.ask` / `ask_future` /
`TrioBridge.ask` overloads broke, the revealed types would be `Any` and the wrong assignments would pass.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import FrozenInstanceError, dataclass
from pathlib import Path
from typing import Any

import pytest
from mypy import api as mypy_api

from supervision import Ask, ChildSpec, SupervisedActor, TrioBridge
from tests.supervision.sup_kit import running_tree, sup

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Double(Ask[int]):
    """Ask: reply with twice `value`."""

    value: int


@dataclass(frozen=True, slots=True)
class Describe(Ask[str]):
    """Ask: reply with the actor's path."""


class Calculator(SupervisedActor):
    def handle(self, message: Double | Describe) -> int | str:
        match message:
            case Double(value=value):
                return 2 * value
            case Describe():
                return self.path


def calculator_tree() -> Any:
    return running_tree(sup("root", ChildSpec("calc", Calculator.start)))


def test_an_ask_message_is_a_frozen_slotted_value() -> None:
    message = Double(21)
    assert isinstance(message, Ask)
    assert not hasattr(message, "__dict__")
    with pytest.raises(FrozenInstanceError):
        message.value = 1  # type: ignore[misc]


def test_a_typed_ask_is_delivered_and_its_reply_returned() -> None:
    with calculator_tree() as tree:
        ref = tree.ref("root/calc")
        assert ref.ask(Double(21), timeout=5) == 42
        assert ref.ask_future(Describe()).get(timeout=5) == "root/calc"


async def test_a_typed_ask_from_trio_returns_the_reply() -> None:
    with calculator_tree() as tree:
        bridge = TrioBridge()
        assert await bridge.ask(tree.ref("root/calc"), Double(4), timeout=5) == 8
        assert await bridge.ask(tree.ref("root/calc"), Describe(), timeout=5) == "root/calc"


CALLER = """
    from __future__ import annotations

    from dataclasses import dataclass

    from supervision import Ask, ChildRef, TrioBridge


    @dataclass(frozen=True, slots=True)
    class GetCount(Ask[int]):
        symbol: str


    def blocking(ref: ChildRef) -> None:
        reveal_type(ref.ask(GetCount("BTCUSDT")))  # line 14
        reveal_type(ref.ask_future(GetCount("BTCUSDT")))  # line 15
        wrong: str = ref.ask(GetCount("BTCUSDT"))  # line 16


    async def from_trio(bridge: TrioBridge, ref: ChildRef) -> None:
        count = await bridge.ask(ref, GetCount("BTCUSDT"), timeout=1.0)
        reveal_type(count)  # line 21
        wrong: str = count  # line 22
        reveal_type(await bridge.ask(ref, "untyped", timeout=1.0))  # line 23
"""


def test_mypy_types_the_reply_of_an_ask_message(tmp_path: Path) -> None:
    caller = tmp_path / "caller.py"
    caller.write_text(textwrap.dedent(CALLER).lstrip("\n"))
    stdout, stderr, _status = mypy_api.run(
        [
            "--strict",
            "--no-error-summary",
            "--show-error-codes",
            "--follow-imports=silent",
            "--cache-dir",
            str(tmp_path / "mypy_cache"),
            "--config-file",
            str(ROOT / "pyproject.toml"),
            str(caller),
        ]
    )
    assert not stderr
    found = {
        int(match["line"]): match["text"].replace("builtins.", "")  # mypy < 1.16 spells "builtins.int"
        for match in re.finditer(r"caller\.py:(?P<line>\d+): (?P<text>.*)", stdout)
    }
    assert found.get(14) == 'note: Revealed type is "int"', stdout
    assert found.get(15) == 'note: Revealed type is "supervision.future.ReplyFuture[int]"', stdout
    assert found.get(21) == 'note: Revealed type is "int"', stdout
    assert found.get(23) == 'note: Revealed type is "Any"', stdout  # an untyped message still works
    for line in (16, 22):
        assert "Incompatible types in assignment" in found.get(line, ""), stdout
        assert 'expression has type "int", variable has type "str"' in found[line], stdout
    assert set(found) == {14, 15, 16, 21, 22, 23}, stdout
