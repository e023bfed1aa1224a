"""Signatures match Bybit's documented v5 examples (fixtures/signing_examples.json names each source)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exchange.bybit.signing import rest_sign_plaintext, rest_signature, signed_headers, ws_auth_signature

EXAMPLES = json.loads((Path(__file__).parent / "fixtures" / "signing_examples.json").read_text())


@pytest.mark.parametrize("case", EXAMPLES["rest"], ids=lambda c: c["name"])
def test_rest_plaintext_is_the_documented_param_str(case: dict[str, object]) -> None:
    text = rest_sign_plaintext(case["timestamp_ms"], case["api_key"], case["recv_window_ms"], case["payload"])  # type: ignore[arg-type]
    assert text == case["documented_plaintext"]


@pytest.mark.parametrize("case", EXAMPLES["rest"], ids=lambda c: c["name"])
def test_rest_signature_matches_the_worked_example(case: dict[str, object]) -> None:
    sig = rest_signature(
        case["secret"], case["timestamp_ms"], case["api_key"], case["recv_window_ms"], case["payload"]
    )  # type: ignore[arg-type]
    assert sig == case["expected_signature"]


@pytest.mark.parametrize("case", EXAMPLES["ws_auth"], ids=lambda c: c["name"])
def test_ws_auth_signature_matches_the_worked_example(case: dict[str, object]) -> None:
    assert ws_auth_signature(case["secret"], case["expires_ms"]) == case["expected_signature"]  # type: ignore[arg-type]


def test_signed_headers_carry_the_four_bapi_fields() -> None:
    headers = signed_headers("s3cret", "key", 1700000000000, 5000, "category=linear")
    assert headers["X-BAPI-API-KEY"] == "key"
    assert headers["X-BAPI-TIMESTAMP"] == "1700000000000"
    assert headers["X-BAPI-RECV-WINDOW"] == "5000"
    assert headers["X-BAPI-SIGN"] == rest_signature("s3cret", 1700000000000, "key", 5000, "category=linear")
    assert "s3cret" not in "".join(headers.values())


def test_a_changed_payload_changes_the_signature() -> None:
    a = rest_signature("s", 1, "k", 5000, "symbol=BTCUSDT")
    assert a != rest_signature("s", 1, "k", 5000, "symbol=ETHUSDT")
    assert a != rest_signature("t", 1, "k", 5000, "symbol=BTCUSDT")
