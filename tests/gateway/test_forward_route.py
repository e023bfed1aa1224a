"""``GET /admin/forward`` shows the forward phase's progress ("X/30 days") over real storage (S-07, G-04)."""

from __future__ import annotations

import datetime as dt

import httpx
from gw_kit import Stack

from algogrid.forward_gate import ForwardConfig, ensure_forward_phase


async def test_forward_progress_is_none_then_counts_the_running_phase_days(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    before = await client.get("/admin/forward")
    assert before.status_code == 200
    assert before.json()["status"] == "none"
    assert before.json()["progress"] == "0/30 days"
    started = dt.datetime.now(dt.UTC) - dt.timedelta(days=12, hours=1)
    phase = await ensure_forward_phase(stack.storage, "paper", ForwardConfig(), started)
    body = (await client.get("/admin/forward")).json()
    assert (body["phase_id"], body["status"], body["progress"], body["days"]) == (
        phase, "running", "12/30 days", 12,
    )  # fmt: skip
    assert body["metrics"]["trades"] == 0
    assert any("12 of 30 days" in r for r in body["reasons"])
