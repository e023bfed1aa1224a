"""Exceptions of the risk room (RiskActor, MonitorActor, kill switch, webhooks).

Business refusals are never exceptions (STYLE §11): a denied signal is a ``SignalDenied`` event.
These exceptions cover infrastructure and programming faults only::

    RiskError
    ├── WebhookDeliveryError    every attempt to deliver one alert to one URL failed
    └── KillSwitchCommandError  an operator command was malformed (e.g. release without a reason)

A failed read or write of risk state is the storage room's ``storage.StorageError`` (its repositories
translate driver errors at one boundary); the jobs that run them turn it into a reply message.
"""

from __future__ import annotations

__all__ = ["KillSwitchCommandError", "RiskError", "WebhookDeliveryError"]


class RiskError(Exception):
    """Base class of every error raised by the risk room."""


class WebhookDeliveryError(RiskError):
    """Every attempt to deliver an alert to one webhook URL failed."""


class KillSwitchCommandError(RiskError):
    """An operator kill-switch command was malformed."""
