"""``BehaviourActor``: host a pykka-free behaviour in a supervised actor (RiskActor, MonitorActor).

The behaviour is built fresh in ``on_start`` (a restart never resurrects state), receives every message, and
is stopped — its timers cancelled — when the incarnation stops or crashes.
"""

from __future__ import annotations

from typing import Any, Protocol

from supervision.actor import SupervisedActor

__all__ = ["Behaviour", "BehaviourActor"]


class Behaviour(Protocol):
    """A state machine driven message by message, with timers it can cancel."""

    def start(self) -> None:
        """Begin (submit the rebuild, schedule timers)."""

    def stop(self) -> None:
        """Cancel timers and hand off anything buffered."""

    def handle(self, message: Any) -> Any:
        """Handle one message; the return value answers an ask."""


class BehaviourActor(SupervisedActor):
    """Supervised host of one ``Behaviour``; subclasses implement ``build``."""

    def __init__(self) -> None:
        super().__init__()
        self._behaviour: Behaviour | None = None

    def build(self) -> Behaviour:
        """Return a fresh behaviour for this incarnation (uses ``clock``, ``self_ref``, ``log``)."""
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

    def handle(self, message: Any) -> Any:
        """Delegate to the behaviour."""
        if self._behaviour is None:
            raise RuntimeError("expected on_start to have built the behaviour, got none")
        return self._behaviour.handle(message)
