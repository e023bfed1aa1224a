"""The ``SecretCipher`` adapters (DESIGN §7, U-05, U-08).

``LocalCipher`` (dev only) is tested for real. ``VaultTransitCipher`` runs against a real Vault when
``VAULT_ADDR`` (and ``VAULT_TOKEN``) are set, with a Transit key created for the test. Otherwise — no Vault
server can be installed on these machines — it runs against a scripted Transit HTTP exchange served on
loopback: the requests hvac must send and Vault's answers, written from Vault's Transit API documentation
(``/v1/transit/encrypt|decrypt|rewrap/<key>``, ``/v1/transit/keys/<key>/rotate``; ciphertexts ``vault:vN:…``).
It is not a recording of a live server; it checks our adapter's requests (paths, base64 bodies, the token
header) and its reading of the answers. This is the one mock of the test suite, as the rules allow for Vault.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import hvac
import pytest

from gateway.auth import CipherError, LocalCipher, VaultTransitCipher
from gateway.auth.config import AuthConfig, CipherConfig

PLAIN = "bybit-api-secret-0123456789"
B64 = base64.b64encode(PLAIN.encode()).decode()
TOKEN = "s.test-token"

# (method, path, expected JSON body or None) → (status, JSON answer or None): Vault's Transit wire format.
EXCHANGE: list[tuple[tuple[str, str, dict[str, Any] | None], tuple[int, dict[str, Any] | None]]] = [
    (
        ("POST", "/v1/transit/encrypt/bybit", {"plaintext": B64}),
        (200, {"data": {"ciphertext": "vault:v1:Y2lwaGVydGV4dC12MQ==", "key_version": 1}}),
    ),
    (
        ("POST", "/v1/transit/decrypt/bybit", {"ciphertext": "vault:v1:Y2lwaGVydGV4dC12MQ=="}),
        (200, {"data": {"plaintext": B64}}),
    ),
    (("POST", "/v1/transit/keys/bybit/rotate", None), (204, None)),
    (
        ("POST", "/v1/transit/rewrap/bybit", {"ciphertext": "vault:v1:Y2lwaGVydGV4dC12MQ=="}),
        (200, {"data": {"ciphertext": "vault:v2:Y2lwaGVydGV4dC12Mg==", "key_version": 2}}),
    ),
    (
        ("POST", "/v1/transit/decrypt/bybit", {"ciphertext": "vault:v2:Y2lwaGVydGV4dC12Mg=="}),
        (200, {"data": {"plaintext": B64}}),
    ),
    (
        ("POST", "/v1/transit/decrypt/bybit", {"ciphertext": "vault:v1:dGFtcGVyZWQ="}),
        (400, {"errors": ["cipher: message authentication failed"]}),
    ),
]


class _Replay(BaseHTTPRequestHandler):
    script: list[Any] = []
    seen: list[tuple[str, str, Any, str | None]] = []

    def do_POST(self) -> None:  # the names are http.server's
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.seen.append(("POST", self.path, body, self.headers.get("X-Vault-Token")))
        (method, path, expected), (status, answer) = self.script.pop(0)
        if (method, path) != ("POST", self.path) or (expected is not None and body != expected):
            status, answer = 500, {"errors": [f"unexpected request {self.path} {body}"]}
        payload = json.dumps(answer).encode() if answer is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def vault() -> Iterator[tuple[Any, str]]:
    """Yield (hvac client, key name): a real Vault with VAULT_ADDR, else the scripted exchange."""
    if os.environ.get("VAULT_ADDR"):
        client = hvac.Client(url=os.environ["VAULT_ADDR"], token=os.environ.get("VAULT_TOKEN"))
        key = f"algogrid-test-{uuid.uuid4().hex[:8]}"
        client.secrets.transit.create_key(name=key)
        yield client, key
        return
    _Replay.script = list(EXCHANGE)
    _Replay.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Replay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hvac.Client(url=f"http://127.0.0.1:{server.server_address[1]}", token=TOKEN), "bybit"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_vault_transit_encrypts_decrypts_rotates_and_rewraps(vault: tuple[Any, str]) -> None:
    client, key = vault
    cipher = VaultTransitCipher(client, key=key)
    ciphertext = await cipher.encrypt(PLAIN, "api_key:x")
    assert ciphertext.startswith("vault:v1:")
    assert PLAIN not in ciphertext
    assert await cipher.decrypt(ciphertext, "api_key:x") == PLAIN
    await cipher.rotate()
    rewrapped = await cipher.rewrap(ciphertext, "api_key:x")
    assert rewrapped.startswith("vault:v2:")
    assert await cipher.decrypt(rewrapped, "api_key:x") == PLAIN
    with pytest.raises(CipherError):
        await cipher.decrypt("vault:v1:dGFtcGVyZWQ=", "api_key:x")
    if not os.environ.get("VAULT_ADDR"):
        assert _Replay.script == []  # every scripted request was made, in order
        assert {token for *_, token in _Replay.seen} == {TOKEN}


async def test_local_cipher_binds_the_context_and_detects_tampering() -> None:
    cipher = LocalCipher(LocalCipher.generate_key())
    sealed = await cipher.encrypt(PLAIN, "totp:alice")
    assert sealed.startswith("local:v1:")
    assert PLAIN not in sealed
    assert await cipher.decrypt(sealed, "totp:alice") == PLAIN
    with pytest.raises(CipherError):
        await cipher.decrypt(sealed, "totp:bob")  # copied to another row: refused
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(CipherError):
        await cipher.decrypt(tampered, "totp:alice")
    assert await cipher.decrypt(await cipher.rewrap(sealed, "totp:alice"), "totp:alice") == PLAIN


def test_live_mode_refuses_the_local_cipher_and_weak_signing() -> None:
    problems = AuthConfig(cipher=CipherConfig(kind="local")).problems_for_mode("live")
    assert any("refused in live mode" in p for p in problems)
    assert any("jwt_secret" in p for p in problems)
    assert AuthConfig().problems_for_mode("simulation") == []
