"""Users, activation tokens and the audit trail against real PostgreSQL (U-01, U-02, U-11)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from storage import AuditRepository, IssuedActivation, Storage


async def _audit_rows(storage: Storage, action: str) -> list[dict[str, object]]:
    rows = await storage.db.fetch(
        "SELECT actor_label, target_type, target_id, details FROM audit_trail WHERE action = $1 ORDER BY id",
        action,
    )
    return [dict(row) for row in rows]


async def _issue(storage: Storage, email: str, token_hash: str) -> IssuedActivation | None:
    return await storage.users.issue_admin_activation(email, token_hash, ttl_hours=48, actor="cli")


async def test_appended_rows_carry_actor_target_and_details(storage: Storage) -> None:
    await storage.audit.append("system_started", {"mode": "simulation"})
    await storage.audit.append("user_disabled", {"why": "t"}, actor="cli", target_type="user", target_id="u1")
    assert await _audit_rows(storage, "system_started") == [
        {"actor_label": "system", "target_type": None, "target_id": None, "details": {"mode": "simulation"}}
    ]
    assert await _audit_rows(storage, "user_disabled") == [
        {"actor_label": "cli", "target_type": "user", "target_id": "u1", "details": {"why": "t"}}
    ]


async def test_a_row_appended_in_a_rolled_back_transaction_is_gone(storage: Storage) -> None:
    async def append_then_fail() -> None:
        async with storage.db.transaction() as conn:
            await AuditRepository(conn).append("system_probe")
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        await append_then_fail()
    assert await _audit_rows(storage, "system_probe") == []


async def test_a_new_admin_gets_an_activation_token_and_an_audit_row(storage: Storage) -> None:
    issued = await _issue(storage, "new@example.com", "hash-1")
    assert issued is not None
    assert not issued.reissued
    user = await storage.db.fetchrow(
        "SELECT email, role, password_hash FROM users WHERE id = $1", issued.user_id
    )
    assert user is not None
    assert (user["email"], user["role"], user["password_hash"]) == ("new@example.com", "admin", None)
    token = await storage.db.fetchrow(
        "SELECT purpose, token_hash, used_at, expires_at - created_at AS ttl FROM user_tokens "
        "WHERE user_id = $1",
        issued.user_id,
    )
    assert token is not None
    assert (token["purpose"], token["token_hash"], token["used_at"]) == ("activation", "hash-1", None)
    assert token["ttl"] == dt.timedelta(hours=48)
    created = {"role": "admin", "reissued": False}
    row = {"actor_label": "cli", "target_type": "user", "target_id": str(issued.user_id), "details": created}
    assert row in await _audit_rows(storage, "user_created")


async def test_an_unactivated_admin_is_reissued_and_older_tokens_are_voided(storage: Storage) -> None:
    first = await _issue(storage, "twice@example.com", "hash-a")
    again = await _issue(storage, "TWICE@example.com", "hash-b")
    assert first is not None
    assert again == IssuedActivation(user_id=first.user_id, reissued=True)
    tokens = await storage.db.fetch(
        "SELECT token_hash, used_at IS NOT NULL AS used FROM user_tokens WHERE user_id = $1", first.user_id
    )
    assert {(t["token_hash"], t["used"]) for t in tokens} == {("hash-a", True), ("hash-b", False)}


async def test_an_activated_user_is_refused_and_nothing_is_written(storage: Storage) -> None:
    user_id: uuid.UUID = await storage.db.fetchval(
        "INSERT INTO users (email, role, password_hash) VALUES ('on@example.com', 'admin', 'x') RETURNING id"
    )
    assert await _issue(storage, "On@Example.com", "hash-z") is None
    assert await storage.db.fetchval("SELECT count(*) FROM user_tokens WHERE user_id = $1", user_id) == 0
