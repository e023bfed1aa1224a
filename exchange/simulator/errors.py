"""Exceptions of the simulator room.

SimulatorError
├── SimulatorConfigError      the configuration cannot describe a venue (unknown symbol, bad CSV)
├── SimulatorStateError       an operation needs a running simulator (URLs before start, …)
└── BybitRejection            a request is refused with a Bybit ``retCode``; the HTTP layer turns it
                              into the standard envelope, never into an HTTP error
"""

from __future__ import annotations

__all__ = ["BybitRejection", "SimulatorConfigError", "SimulatorError", "SimulatorStateError"]


class SimulatorError(Exception):
    """Base of every error raised by the simulator."""


class SimulatorConfigError(SimulatorError, ValueError):
    """The configuration cannot describe a venue."""


class SimulatorStateError(SimulatorError, RuntimeError):
    """An operation needs the simulator in another lifecycle state."""


class BybitRejection(SimulatorError):  # noqa: N818 - a refusal with a retCode, named as Bybit says it
    """Refuse a request with a Bybit ``retCode`` and ``retMsg``.

    Args:
        ret_code: Bybit's numeric code, e.g. 110007 for insufficient balance.
        ret_msg: the message Bybit would send with it.
    """

    def __init__(self, ret_code: int, ret_msg: str) -> None:
        super().__init__(f"retCode {ret_code}: {ret_msg}")
        self.ret_code = ret_code
        self.ret_msg = ret_msg
