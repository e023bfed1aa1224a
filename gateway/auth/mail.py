"""How one-time links reach people (U-02): a pluggable sender; SMTP by config, the log in simulation.

The log sender writes the link only to the operator's console logger as a dedicated event whose ``link``
field is not a secret key name; production deployments configure SMTP. Tokens travel in the URL *fragment*
(``/ui/#/activate?token=…``), which browsers never send to a server.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Protocol

import structlog
import trio

from gateway.auth.config import MailConfig

__all__ = ["LogMailSender", "MailSender", "SmtpMailSender", "mail_sender_for"]

log = structlog.get_logger(__name__)


class MailSender(Protocol):
    """Send a one-time link to a person."""

    async def send_link(self, to: str, subject: str, link: str) -> None:
        """Deliver ``link`` to ``to``."""
        ...


class LogMailSender:
    """Simulation: print the link on stdout (like ``create-admin``) instead of mailing it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send_link(self, to: str, subject: str, link: str) -> None:
        """Keep and print the link for the operator (never in the structured log)."""
        self.sent.append((to, subject, link))
        log.info("mail not sent (simulation): link printed on stdout", subject=subject)
        print(f"[mail to {to}] {subject}: {link}", flush=True)


class SmtpMailSender:
    """SMTP (STARTTLS by default) in a worker thread."""

    def __init__(self, config: MailConfig) -> None:
        self._config = config

    def _send(self, message: EmailMessage) -> None:
        cfg = self._config
        with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=10) as smtp:
            if cfg.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.smtp_user and cfg.smtp_password:
                smtp.login(cfg.smtp_user, cfg.smtp_password.get_secret_value())
            smtp.send_message(message)

    async def send_link(self, to: str, subject: str, link: str) -> None:
        """Mail ``link``; a failure is logged (the link itself never is)."""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self._config.sender, to, subject
        message.set_content(f"{subject}\n\nOpen this link (valid once): {link}\n")
        try:
            await trio.to_thread.run_sync(self._send, message)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("mail failed", subject=subject, error=type(exc).__name__)


def mail_sender_for(config: MailConfig) -> MailSender:
    """Return the sender the config names."""
    return SmtpMailSender(config) if config.kind == "smtp" else LogMailSender()
