"""Exceptions of the risk room (RiskActor, MonitorActor, kill switch, webhooks).

Business refusals are never exceptions (STYLE §11): a denied signal is a ``SignalDenied`` event.
These exceptions cover infrastructure and programming faults only::

    RiskError
    ├── RiskStoreError          a PostgreSQL/Redis read or write of risk state failed
    ├── WebhookDeliveryError    every attempt to deliver one alert to one URL failed
    └── KillSwitchCommandError  an operator command was malformed (e.g. release without a reason)
"""

from __future__ import annotations

__all__ = ["KillSwitchCommandError", "RiskError", "RiskStoreError", "WebhookDeliveryError"]


class RiskError(Exception):
    """Base class of every error raised by the risk room."""


class RiskStoreError(RiskError):
    """A read or write of risk state in PostgreSQL or Redis failed."""


class WebhookDeliveryError(RiskError):
    """Every attempt to deliver an alert to one webhook URL failed."""


class KillSwitchCommandError(RiskError):
    """An operator kill-switch command was malformed."""
