"""Plain sentences for the trader (E-07): an exchange rejection's ``retCode`` → reason code and sentence."""

from __future__ import annotations

from exchange import BybitApiError, RetCode

__all__ = ["rejection_words"]

_WORDS: dict[RetCode, tuple[str, str]] = {
    RetCode.AVAILABLE_BALANCE_INSUFFICIENT: (
        "insufficient_balance",
        "The exchange refused the order: the account's available balance is too low for it.",
    ),
    RetCode.WALLET_BALANCE_INSUFFICIENT: (
        "insufficient_balance",
        "The exchange refused the order: the wallet balance is too low for it.",
    ),
    RetCode.QTY_INVALID: ("qty_invalid", "The exchange refused the order: its quantity is not allowed."),
    RetCode.ORDER_VALUE_TOO_LOW: (
        "notional_below_minimum",
        "The exchange refused the order: its value is below the exchange's minimum order value.",
    ),
    RetCode.PRICE_OUT_OF_RANGE: (
        "price_out_of_range",
        "The exchange refused the order: its price is outside the range it accepts now.",
    ),
    RetCode.TOO_MANY_VISITS: (
        "rate_limited",
        "The exchange refused the order because too many requests were sent; try again in a moment.",
    ),
    RetCode.IP_RATE_LIMITED: (
        "rate_limited",
        "The exchange refused the order because too many requests were sent; try again in a moment.",
    ),
    RetCode.HTTP_RATE_LIMITED: (
        "rate_limited",
        "The exchange refused the order because too many requests were sent; try again in a moment.",
    ),
    RetCode.REDUCE_ONLY_REJECTED: (
        "reduce_only_rejected",
        "The exchange refused the closing order: there is no position left to reduce.",
    ),
    RetCode.TRADING_BANNED: ("trading_banned", "The exchange does not allow this account to trade now."),
}


def rejection_words(error: BybitApiError) -> tuple[str, str]:
    """Return ``(reason_code, sentence)`` of a rejection; the exchange's message is kept in the sentence."""
    found = _WORDS.get(error.code)
    if found is not None:
        return found
    text = str(error)
    lowered = text.lower()
    if error.code is RetCode.PARAMS_ERROR:
        if "minimum" in lowered:
            return (
                "qty_below_minimum",
                "The exchange refused the order: its quantity is below the instrument's minimum.",
            )
        if "tick" in lowered or "price" in lowered:
            return (
                "price_off_tick",
                "The exchange refused the order: its price is not on the instrument's price grid.",
            )
        if "step" in lowered or "qty" in lowered:
            return (
                "qty_off_step",
                "The exchange refused the order: its quantity is not on the instrument's size grid.",
            )
    return "exchange_error", f"The exchange refused the order ({error.ret_code}: {text})."
