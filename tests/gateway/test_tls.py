"""TLS via hypercorn (G-02, ASVS V9): with a certificate and key in ``gateway.tls_*`` the gateway serves
HTTPS, sends HSTS and marks the session cookies Secure."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from gw_kit import Stack, open_stack

from gateway import GatewayConfig
from tests.support.auth import activate, bootstrap_admin


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
async def tls_stack(
    migrated_db_url: str, redis_clean_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Stack, Path]]:
    cert, key = _self_signed(tmp_path)
    config = GatewayConfig(
        port=0, ip_rate_limit_per_min=100_000, graceful_timeout_s=5.0, tls_cert_file=cert, tls_key_file=key
    )
    async with open_stack(
        migrated_db_url, redis_clean_url, ("BTCUSDT",), gateway=config, fault_injection=False
    ) as st:
        yield st, cert


async def test_https_with_hsts_and_secure_cookies(tls_stack: tuple[Stack, Path]) -> None:
    stack, cert = tls_stack
    assert stack.url.startswith("https://")
    context = ssl.create_default_context(cafile=str(cert))
    async with httpx.AsyncClient(base_url=stack.url, verify=context, timeout=10.0) as c:
        health = await c.get("/health")
        assert health.status_code == 200
        assert health.headers["strict-transport-security"].startswith("max-age=")
        email, token = await bootstrap_admin(stack.storage)
        admin = await activate(c, token, email, "admin")
        answer = await c.post(
            "/auth/session",
            json={"email": admin.email, "password": admin.password, "totp_code": admin.code()},
        )
        assert answer.status_code == 200, answer.text
        cookies = answer.headers.get_list("set-cookie")
        assert len(cookies) == 3
        assert all("Secure" in cookie and "SameSite=strict" in cookie for cookie in cookies)
        assert sum("HttpOnly" in cookie for cookie in cookies) == 2  # the CSRF cookie is readable by the page
