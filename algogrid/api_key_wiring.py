"""``StorageApiKeys``: the gateway's API-key port over storage, the ``SecretCipher`` and the exchange (U-08),
and ``stored_credentials``: the engine's key pair from the active row, decrypted for this one use.

A new key is checked with a signed ``GET /v5/account/info`` before anything is stored; the secret is then
encrypted (context ``api_key:<owner>:<label>``) and only the ciphertext is written. The plaintext is a
``SecretStr`` from the request body to the cipher and is registered with the log scrubber.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import structlog
from pydantic import SecretStr

from algogrid.logging_setup import register_secret
from exchange.bybit.rest import BybitRestClient
from exchange.config import Credentials, ExchangeConfig
from exchange.errors import ExchangeError
from gateway import ApiKeyBody, ApiKeyRejectedError, ApiKeyView
from gateway.auth import RequestMeta, SecretCipher
from storage import IntegrityViolationError, Storage
from storage.api_keys import ApiKeyRecord

__all__ = ["KeyValidator", "StorageApiKeys", "exchange_validator", "stored_credentials"]

log = structlog.get_logger(__name__)

KeyValidator = Callable[[Credentials], Awaitable[None]]


def exchange_validator(config: ExchangeConfig) -> KeyValidator:
    """Return a validator calling ``GET /v5/account/info`` on ``config``'s venue with the key pair."""

    async def validate(credentials: Credentials) -> None:
        client = BybitRestClient(config, credentials)
        try:
            await client.get_account_info()
        except ExchangeError as exc:
            raise ApiKeyRejectedError(f"the exchange refused the key: {type(exc).__name__}") from exc
        finally:
            await client.aclose()

    return validate


def _context(owner: uuid.UUID, label: str) -> str:
    return f"api_key:{owner}:{label}"


def _view(record: ApiKeyRecord) -> ApiKeyView:
    return ApiKeyView(
        id=record.id,
        user_id=record.user_id,
        label=record.label,
        exchange=record.exchange,
        environment=record.environment,
        api_key_hint="…" + record.api_key[-4:],
        cipher=record.cipher,
        is_active=record.is_active,
        rotated_from=record.rotated_from,
        created_at=record.created_at,
        last_used_at=record.last_used_at,
    )


class StorageApiKeys:
    """``gateway.routes_api_keys.ApiKeyPort``."""

    def __init__(self, storage: Storage, cipher: SecretCipher, validate: KeyValidator) -> None:
        self._storage = storage
        self._cipher = cipher
        self._validate = validate

    async def list(self, owner: uuid.UUID | None) -> list[ApiKeyView]:
        """Return the keys of ``owner`` (all when None)."""
        return [_view(r) for r in await self._storage.api_keys.list(owner)]

    async def add(self, owner: uuid.UUID, body: ApiKeyBody, meta: RequestMeta) -> ApiKeyView:
        """Validate, encrypt and store (rotating ``body.rotate_from`` when given)."""
        secret = body.api_secret.get_secret_value()
        register_secret(secret)
        if body.rotate_from is not None:
            old = await self._storage.api_keys.get(body.rotate_from)
            if old is None or old.user_id != owner or not old.is_active:
                raise ApiKeyRejectedError("rotate_from must name an active key of the same owner")
        await self._validate(Credentials(api_key=body.api_key, api_secret=SecretStr(secret)))
        ciphertext = await self._cipher.encrypt(secret, _context(owner, body.label))
        try:
            key_id = await self._storage.api_keys.add(
                user_id=owner,
                label=body.label,
                environment=body.environment,
                api_key=body.api_key,
                secret_ciphertext=ciphertext,
                cipher=self._cipher.name,
                rotate_from=body.rotate_from,
                context=meta,
            )
        except IntegrityViolationError as exc:
            raise ApiKeyRejectedError(
                "the owner has a key with this label already (or no such owner)"
            ) from exc
        record = await self._storage.api_keys.get(key_id)
        assert record is not None
        log.info("api key stored", key_id=str(key_id), label=body.label, environment=body.environment)
        return _view(record)

    async def owner(self, key_id: uuid.UUID) -> uuid.UUID | None:
        """Return who owns ``key_id`` (None: no such key)."""
        record = await self._storage.api_keys.get(key_id)
        return None if record is None else record.user_id

    async def revoke(self, key_id: uuid.UUID, meta: RequestMeta) -> bool:
        """Turn the key inactive."""
        return await self._storage.api_keys.deactivate(key_id, meta)


async def stored_credentials(storage: Storage, cipher: SecretCipher, environment: str) -> Credentials | None:
    """Return the active key pair of ``environment`` decrypted for the engine (audited ``bybit_key_used``)."""
    record = await storage.api_keys.active(environment)
    if record is None:
        return None
    secret = await cipher.decrypt(record.secret_ciphertext, _context(record.user_id, record.label))
    register_secret(secret)
    await storage.api_keys.used(record.id, "engine_session")
    return Credentials(api_key=record.api_key, api_secret=SecretStr(secret))
