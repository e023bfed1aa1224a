"""The ``SecretCipher`` port and its two adapters (DESIGN §7, U-05, U-08).

* ``VaultTransitCipher`` — HashiCorp Vault's Transit engine through hvac (``transit/encrypt|decrypt|rewrap/
  <key>``, key rotation): the key never leaves Vault; ciphertexts look like ``vault:v2:…`` and name the key
  version, so after ``rotate()`` old ciphertexts still decrypt and ``rewrap`` moves them to the newest
  version.
* ``LocalCipher`` — AES-256-GCM with a key from config or a file (dev and simulation only; live mode refuses
  it at start-up). The ``context`` (e.g. ``totp:<user id>``) is authenticated data: a ciphertext copied to
  another row does not decrypt there.

Plaintext lives only in memory for one use; neither adapter logs it. hvac is synchronous (requests), so its
calls run in a worker thread.
"""

from __future__ import annotations

import base64
import os
from typing import Any, Protocol

import trio
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import GatewayError

__all__ = ["CipherError", "LocalCipher", "SecretCipher", "VaultTransitCipher"]

_LOCAL_PREFIX = "local:v1:"
_NONCE = 12


class CipherError(GatewayError):
    """A secret could not be encrypted or decrypted (the reason never holds the secret)."""

    status_code = 503
    error = "cipher_unavailable"


class SecretCipher(Protocol):
    """Encrypt and decrypt small secrets (TOTP seeds, exchange API secrets)."""

    name: str

    async def encrypt(self, plaintext: str, context: str) -> str:
        """Return the ciphertext of ``plaintext`` bound to ``context``."""
        ...

    async def decrypt(self, ciphertext: str, context: str) -> str:
        """Return the plaintext of ``ciphertext`` (bound to ``context``)."""
        ...

    async def rewrap(self, ciphertext: str, context: str) -> str:
        """Return ``ciphertext`` re-encrypted under the newest key version."""
        ...


class LocalCipher:
    """AES-256-GCM with one local key (dev only)."""

    name = "local"

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError(f"expected a 32-byte key, got {len(key)} bytes")
        self._aead = AESGCM(key)

    @staticmethod
    def generate_key() -> bytes:
        """Return a fresh random 32-byte key."""
        return AESGCM.generate_key(bit_length=256)

    async def encrypt(self, plaintext: str, context: str) -> str:
        """Return ``local:v1:`` + base64(nonce ‖ ciphertext ‖ tag)."""
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return _LOCAL_PREFIX + base64.b64encode(nonce + sealed).decode()

    async def decrypt(self, ciphertext: str, context: str) -> str:
        """Return the plaintext; raise ``CipherError`` for a foreign, altered or mis-bound ciphertext."""
        if not ciphertext.startswith(_LOCAL_PREFIX):
            raise CipherError("expected a local:v1 ciphertext")
        try:
            raw = base64.b64decode(ciphertext[len(_LOCAL_PREFIX) :], validate=True)
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], context.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise CipherError("the ciphertext does not decrypt with this key and context") from exc

    async def rewrap(self, ciphertext: str, context: str) -> str:
        """Re-encrypt under a fresh nonce (one key version only)."""
        return await self.encrypt(await self.decrypt(ciphertext, context), context)


class VaultTransitCipher:
    """Vault Transit through an ``hvac.Client`` (``client.secrets.transit``).

    ``context`` is sent as Transit's ``context`` only for keys created with ``derived=true``; by default the
    key is not derived and the context is checked by the caller's row binding instead.
    """

    name = "vault-transit"

    def __init__(
        self, client: Any, *, key: str = "bybit", mount: str = "transit", derived: bool = False
    ) -> None:
        self._client = client
        self._key = key
        self._mount = mount
        self._derived = derived

    def _ctx(self, context: str) -> dict[str, str]:
        return {"context": _b64(context)} if self._derived else {}

    async def _call(self, what: str, fn: Any, **kwargs: Any) -> dict[str, Any]:
        import hvac.exceptions
        import requests

        try:
            answer: dict[str, Any] = await trio.to_thread.run_sync(
                lambda: fn(name=self._key, mount_point=self._mount, **kwargs)
            )
        except (hvac.exceptions.VaultError, requests.RequestException) as exc:
            raise CipherError(f"vault transit {what} failed: {type(exc).__name__}") from exc
        return answer

    async def encrypt(self, plaintext: str, context: str) -> str:
        """Return Vault's ``vault:vN:…`` ciphertext."""
        answer = await self._call(
            "encrypt",
            self._client.secrets.transit.encrypt_data,
            plaintext=_b64(plaintext),
            **self._ctx(context),
        )
        return str(answer["data"]["ciphertext"])

    async def decrypt(self, ciphertext: str, context: str) -> str:
        """Return the plaintext Vault decrypts."""
        answer = await self._call(
            "decrypt", self._client.secrets.transit.decrypt_data, ciphertext=ciphertext, **self._ctx(context)
        )
        return base64.b64decode(answer["data"]["plaintext"]).decode()

    async def rewrap(self, ciphertext: str, context: str) -> str:
        """Return the ciphertext rewrapped to the newest key version (plaintext never leaves Vault)."""
        answer = await self._call(
            "rewrap", self._client.secrets.transit.rewrap_data, ciphertext=ciphertext, **self._ctx(context)
        )
        return str(answer["data"]["ciphertext"])

    async def rotate(self) -> None:
        """Create a new key version (older ciphertexts keep decrypting until rewrapped)."""
        import hvac.exceptions
        import requests

        try:
            await trio.to_thread.run_sync(
                lambda: self._client.secrets.transit.rotate_key(name=self._key, mount_point=self._mount)
            )
        except (hvac.exceptions.VaultError, requests.RequestException) as exc:
            raise CipherError(f"vault transit rotate failed: {type(exc).__name__}") from exc


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
