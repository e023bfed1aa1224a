"""TOTP second factor (U-05): RFC 6238 codes (30 s, 6 digits, SHA-1: what authenticator apps expect).

A code is accepted for the current time step or one step either side (clock drift); the caller then claims
the matched step in storage (``users.totp_last_step``) so a code — or any earlier one — is never accepted
twice. The enrolment QR code is an SVG drawn locally by segno: the secret never leaves the server for a
third-party renderer.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import pyotp
import segno

__all__ = ["STEP_S", "TotpEnrolment", "enrolment", "matching_step", "new_secret"]

STEP_S = 30
_DRIFT_STEPS = 1


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """What an authenticator app needs: the base32 secret, the ``otpauth://`` URI and its QR code (SVG)."""

    secret: str
    otpauth_uri: str
    qr_svg: str


def new_secret() -> str:
    """Return a fresh base32 secret (160 bits)."""
    return pyotp.random_base32(32)


def enrolment(secret: str, account: str, issuer: str) -> TotpEnrolment:
    """Return the enrolment of ``secret`` for ``account`` (the e-mail) under ``issuer``."""
    uri = pyotp.TOTP(secret, interval=STEP_S).provisioning_uri(name=account, issuer_name=issuer)
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=4, xmldecl=False, svgns=True)
    return TotpEnrolment(secret=secret, otpauth_uri=uri, qr_svg=buffer.getvalue().decode())


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """Return the time step whose code is ``code`` within ±1 step of ``now``, or None."""
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_S)
    at = time.time() if now is None else now
    current = int(at // STEP_S)
    for step in range(current - _DRIFT_STEPS, current + _DRIFT_STEPS + 1):
        if pyotp.utils.strings_equal(totp.at(step * STEP_S), code):
            return step
    return None
