"""``AllowAllGateActor``: the placeholder at ``root/risk`` until the RiskActor (issue 7) is wired in.

It puts the documented ``AllowAllRiskGate`` behind the same path the RiskActor will own, so signal actors
address ``root/risk`` by path either way and swapping in the RiskActor changes one ``ChildSpec``. Like the
gate it wraps, it refuses to exist outside simulation mode.
"""

from __future__ import annotations

from typing import Any

from actors.ports import AllowAllRiskGate
from supervision import ChildSpec, SupervisedActor

__all__ = ["AllowAllGateActor", "allow_all_gate_spec"]


class AllowAllGateActor(SupervisedActor):
    """Answers every ``CheckSignal`` with ``SignalAllowed`` (simulation only; no limits, no kill switch)."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self._gate = AllowAllRiskGate(mode)

    def handle(self, message: Any) -> Any:
        """Delegate to the allow-all gate."""
        self._gate.tell(message)
        return None


def allow_all_gate_spec(mode: str) -> ChildSpec:
    """Return the ``root/risk`` spec of the placeholder gate (``GateModeError`` outside simulation)."""
    AllowAllRiskGate(mode)  # fail at composition time, not at the first restart
    return ChildSpec("risk", lambda: AllowAllGateActor.start(mode), kind="risk")
