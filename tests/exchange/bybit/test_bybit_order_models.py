"""Order-path request models validate and serialise as Bybit expects; conditional fields are parsed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from exchange import AmendRequest, ClosedPnl, OrderRequest, RetCode, action_for, to_retcode
from exchange.bybit.messages import execution_from_raw, order_from_raw


def test_a_stop_loss_request_serialises_its_trigger_fields() -> None:
    request = OrderRequest(
        symbol="BTCUSDT",
        side="Sell",
        order_type="Market",
        qty=Decimal("0.010"),
        order_link_id="sl-1",
        reduce_only=True,
        close_on_trigger=True,
        trigger_price=Decimal("64000.10"),
        trigger_direction=2,
    )
    body = request.to_body()
    assert body["triggerPrice"] == "64000.10"
    assert body["triggerDirection"] == 2
    assert body["closeOnTrigger"] is True
    assert body["reduceOnly"] is True
    assert request.conditional


def test_a_plain_order_body_has_no_trigger_keys() -> None:
    body = OrderRequest(
        symbol="BTCUSDT", side="Buy", order_type="Limit", qty=Decimal(1), price=Decimal(2), order_link_id="x"
    ).to_body()
    assert not {"triggerPrice", "triggerDirection", "triggerBy", "closeOnTrigger"} & set(body)


@pytest.mark.parametrize(
    "extra",
    [
        {"trigger_price": Decimal(1)},
        {"trigger_direction": 1},
        {"close_on_trigger": True},
        {"trigger_by": "MarkPrice"},
        {"trigger_price": Decimal(1), "trigger_direction": 3},
    ],
)
def test_trigger_fields_come_together_or_not_at_all(extra: dict[str, object]) -> None:
    base = {"symbol": "BTCUSDT", "side": "Sell", "order_type": "Market", "qty": "1", "order_link_id": "x"}
    with pytest.raises(ValidationError):
        OrderRequest.model_validate(base | extra)


def test_an_amend_names_the_order_and_changes_something() -> None:
    body = AmendRequest(symbol="BTCUSDT", order_link_id="sl-1", trigger_price=Decimal("65000.0")).to_body()
    assert body == {
        "category": "linear",
        "symbol": "BTCUSDT",
        "orderLinkId": "sl-1",
        "triggerPrice": "65000.0",
    }
    with pytest.raises(ValidationError):
        AmendRequest(symbol="BTCUSDT", qty=Decimal(1))
    with pytest.raises(ValidationError):
        AmendRequest(symbol="BTCUSDT", order_id="abc")


def test_conditional_order_and_execution_rows_are_parsed() -> None:
    order = order_from_raw(
        {
            "symbol": "BTCUSDT",
            "orderId": "o-1",
            "orderLinkId": "sl-1",
            "side": "Sell",
            "orderType": "Market",
            "price": "0",
            "qty": "0.010",
            "timeInForce": "IOC",
            "orderStatus": "Untriggered",
            "reduceOnly": True,
            "cumExecQty": "0",
            "createdTime": "1",
            "updatedTime": "2",
            "triggerPrice": "64000.1",
            "triggerDirection": 2,
            "stopOrderType": "Stop",
            "closeOnTrigger": True,
            "cancelType": "UNKNOWN",
            "closedPnl": "0",
        }
    )
    assert order.trigger_price == Decimal("64000.1")
    assert (order.trigger_direction, order.stop_order_type, order.close_on_trigger) == (2, "Stop", True)
    execution = execution_from_raw(
        {
            "symbol": "BTCUSDT",
            "execId": "e-1",
            "orderId": "o-1",
            "side": "Sell",
            "execPrice": "64000",
            "execQty": "0.010",
            "execTime": "3",
            "execPnl": "-12.5",
            "orderType": "Market",
            "stopOrderType": "Stop",
        }
    )
    assert (execution.exec_pnl, execution.stop_order_type) == (Decimal("-12.5"), "Stop")


def test_closed_pnl_rows_read_open_and_close_fees_when_present() -> None:
    row = {
        "symbol": "ETHPERP",
        "orderType": "Market",
        "leverage": "3",
        "updatedTime": "1672214887236",
        "side": "Sell",
        "orderId": "5a373bfe",
        "closedPnl": "-47.4065323",
        "avgEntryPrice": "1194.97516667",
        "qty": "3",
        "cumEntryValue": "3584.9255",
        "createdTime": "1672214887231",
        "orderPrice": "1122.95",
        "closedSize": "3",
        "avgExitPrice": "1180.59833333",
        "execType": "Trade",
        "fillCount": "4",
        "cumExitValue": "3541.795",
    }
    legacy = ClosedPnl.model_validate(row)
    assert legacy.open_fee is None
    # Bybit's documented example: closedPnl = exit − entry − 0.0006 × (entry + exit), i.e. net of both fees
    fees = Decimal("0.0006") * (legacy.cum_entry_value + legacy.cum_exit_value)
    assert legacy.closed_pnl == legacy.cum_exit_value - legacy.cum_entry_value - fees
    current = ClosedPnl.model_validate(row | {"openFee": "2.1509553", "closeFee": "2.125077"})
    assert current.open_fee == Decimal("2.1509553")
    assert current.close_fee == Decimal("2.125077")


def test_new_ret_codes_are_known_and_not_retried() -> None:
    for raw, code in ((34040, RetCode.NOT_MODIFIED), (110092, RetCode.TRIGGER_NOT_ABOVE_PRICE)):
        assert to_retcode(raw) is code
        assert not action_for(code).retry
    assert to_retcode(110093) is RetCode.TRIGGER_NOT_BELOW_PRICE
