"""``BehaviourActor``: host a pykka-free behaviour in a supervised actor (every actor of this package).

A behaviour is a plain state machine over one message union (``FeedMessage``, ``RiskMessage`` …): tests drive
it message by message without threads. The host builds a fresh behaviour in ``on_start`` (a restart never
resurrects state, DESIGN §4), hands it every message, and stops it — cancelling its timers and handing off
what it buffered — when the incarnation stops *or* crashes.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from actors.config import TradingInputs
from actors.deps import SymbolDeps
from supervision.actor import SupervisedActor

__all__ = ["Behaviour", "BehaviourActor", "SymbolActor", "unexpected"]

M = TypeVar("M")
C = TypeVar("C")
M_contra = TypeVar("M_contra", contravariant=True)


class Behaviour(Protocol[M_contra]):
    """A state machine driven message by message over its message union, with timers it can cancel."""

    def start(self) -> None:
        """Begin (submit the rebuild, schedule timers)."""

    def stop(self) -> None:
        """Cancel timers and hand off anything buffered."""

    def handle(self, message: M_contra) -> object:
        """Handle one message; the return value answers an ask (``None`` for a tell).

        Raises:
            TypeError: ``message`` is not of the behaviour's union (a programming error: the actor crashes).
        """


class BehaviourActor(SupervisedActor, Generic[M]):
    """Supervised host of one ``Behaviour[M]``; subclasses implement ``build``."""

    def __init__(self) -> None:
        super().__init__()
        self._behaviour: Behaviour[M] | None = None

    @property
    def behaviour(self) -> Behaviour[M] | None:
        """Return the current incarnation's behaviour (``None`` before ``on_start``)."""
        return self._behaviour

    def build(self) -> Behaviour[M]:
        """Return a fresh behaviour for this incarnation (uses ``clock``, ``self_ref``, ``log``, ``path``)."""
        raise NotImplementedError(f"{type(self).__name__} must build its behaviour")

    def on_start(self) -> None:
        """Build a fresh behaviour and start it."""
        self._behaviour = self.build()
        self._behaviour.start()

    def on_stop(self) -> None:
        """Stop the behaviour so a stopped incarnation schedules nothing."""
        if self._behaviour is not None:
            self._behaviour.stop()

    def on_failure(self, *_: object) -> None:
        """Stop the behaviour after a crash, too."""
        if self._behaviour is not None:
            self._behaviour.stop()

    def handle(self, message: M) -> object:
        """Delegate to the behaviour; its return value answers an ask."""
        if self._behaviour is None:
            raise RuntimeError("expected on_start to have built the behaviour, got none")
        return self._behaviour.handle(message)


class SymbolActor(BehaviourActor[M], Generic[M, C]):
    """A ``BehaviourActor`` of one symbol's tree: its symbol, its room's config, the trading inputs and ports.

    Subclasses (feed, indicator, signal) only say how ``build`` wires a fresh behaviour from these.
    """

    def __init__(self, symbol: str, config: C, inputs: TradingInputs, deps: SymbolDeps) -> None:
        super().__init__()
        self._symbol, self._config, self._inputs, self._deps = symbol, config, inputs, deps


def unexpected(owner: str, message: object) -> TypeError:
    """Return the error a behaviour raises for a message outside its union."""
    return TypeError(f"expected a message of {owner}, got {type(message).__name__}")
