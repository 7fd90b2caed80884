"""
Numbers in qbXML requests: money, prices, quantities, percentages and floats.

Decimal only, never rounded beyond what the value says.  Private to the
builder (``_build``).
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Final

from qbwc.qbxml._rules import _at, _error, _type_rule

# Exact arithmetic whatever the caller did to the thread's decimal context.
_CTX: Final = decimal.Context(prec=80, rounding=decimal.ROUND_HALF_EVEN, traps=[])
_CENT: Final = Decimal("0.01")
_AMT_LIMIT: Final = Decimal(10) ** 13
_PQP_LIMIT: Final = Decimal(10) ** 10
_FLOAT_LIMIT: Final = Decimal(10) ** 20
_FLOAT_PLACES: Final = 20


def _decimal_places(value: Decimal) -> int:
    """Significant decimal places: ``1.500`` has 1, ``100`` has 0."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if exponent >= 0 or not any(digits):  # an integer, or zero
        return 0
    trailing = 0
    for digit in reversed(digits):
        if digit or trailing >= -exponent:
            break
        trailing += 1
    return -exponent - trailing


def _integer_digits(value: Decimal) -> int:
    return value.adjusted() + 1


def _check_decimal(value: object, path: str, name: str) -> Decimal:
    if type(value) is not Decimal:
        path = _at(path, name)
        if isinstance(value, float):
            rule = "float is refused for money, rates and quantities; use Decimal or str"
            raise _error(path, rule)
        raise _error(path, _type_rule(value, "Decimal"))
    if not value.is_finite():
        raise _error(_at(path, name), f"{value} is not a finite number")
    return value


def _format_amount(value: object, path: str, name: str) -> str:
    if type(value) is Decimal:
        # Fast path: plain notation, at most 13 integer digits and 2 places.
        head, _, tail = str(value).partition(".")
        digits = head[1:] if head[:1] == "-" else head
        if digits.isdigit() and len(digits) <= 13 and "E" not in tail:
            if len(tail) > 2:
                tail = tail.rstrip("0")
            if len(tail) <= 2:
                return head + "." + tail.ljust(2, "0")
    number = _check_decimal(value, path, name)
    if number.copy_abs() >= _AMT_LIMIT:
        rule = f"{_integer_digits(number):,} integer digits, at most 13 (qbXML AMTTYPE)"
        raise _error(_at(path, name), rule)
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if exponent == -2:
        return str(number)
    if exponent < -2 and (places := _decimal_places(number)) > 2:
        rule = f"{number}: {places} decimal places, at most 2 for money (never rounded)"
        raise _error(_at(path, name), rule)
    return str(_CTX.quantize(number, _CENT))


def _format_pqp(value: object, path: str, name: str, what: str) -> str:
    if type(value) is Decimal:
        # Fast path: plain notation, at most 10 integer digits and 5 places.
        head, _, tail = str(value).partition(".")
        digits = head[1:] if head[:1] == "-" else head
        if digits.isdigit() and len(digits) <= 10 and "E" not in tail:
            tail = tail.rstrip("0")
            if len(tail) <= 5:
                return head + "." + tail if tail else head
    number = _check_decimal(value, path, name)
    if number.copy_abs() >= _PQP_LIMIT:
        rule = f"{_integer_digits(number):,} integer digits, at most 10 (qbXML {what})"
        raise _error(_at(path, name), rule)
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent >= 0:
        return str(number) if exponent == 0 else format(number, "f")
    places = _decimal_places(number)
    if places > 5:
        rule = f"{number}: {places} decimal places, at most 5 (qbXML {what}; never rounded)"
        raise _error(_at(path, name), rule)
    text = format(number, "f").rstrip("0")
    return text[:-1] if text.endswith(".") else text


def _format_float(value: object, path: str, name: str) -> str:
    number = _check_decimal(value, path, name)
    if number.copy_abs() >= _FLOAT_LIMIT:
        rule = f"{_integer_digits(number):,} integer digits, at most 20"
        raise _error(_at(path, name), rule)
    places = _decimal_places(number)
    if places > _FLOAT_PLACES:
        rule = f"{number}: {places} decimal places, at most {_FLOAT_PLACES} (never rounded)"
        raise _error(_at(path, name), rule)
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").removesuffix(".")
    return text
