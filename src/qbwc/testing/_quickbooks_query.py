"""
``FakeQuickBooks`` answering any ``*QueryRq`` of the vocabulary: the common
filters, MaxReturned, and iterators (docs/protocol.md and docs/testing.md,
"Queries and iterators").

An iterator is a snapshot of the matching objects taken at ``Start``; each
``Continue`` answers the next page of those still alive, so every object is
delivered at most once.  Iterators belong to the connection: ``open()`` and
``close()`` of the fake end them all, and a later ``Continue`` gets 3391.
"""

from __future__ import annotations

import datetime as dt
import operator
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Final

import attrs

from qbwc.qbxml._types import Ref, format_guid, specs
from qbwc.testing._quickbooks_money import customer_balances
from qbwc.testing._quickbooks_objects import display_name
from qbwc.testing._quickbooks_state import Company
from qbwc.testing._quickbooks_vocab import ObjectType, query_types

__all__ = ["NO_MATCH", "Answer", "Queries", "with_balances"]

NO_MATCH: Final = "A query request did not find a matching object in QuickBooks"
#: Fields of a query that shape the answer rather than select objects.
_SHAPING: Final = frozenset(
    {"include_ret_element", "owner_id", "meta_data", "iterator", "iterator_id", "max_returned",
     "include_line_items", "include_linked_txns", "include_component_line_items"}
)  # fmt: skip
_ENTITY_REFS: Final = (
    "customer_ref", "vendor_ref", "payee_entity_ref", "entity_ref", "employee_ref",
)  # fmt: skip
_ACCOUNT_REFS: Final = (
    "account_ref", "ar_account_ref", "ap_account_ref", "deposit_to_account_ref",
    "bank_account_ref", "credit_card_account_ref", "transfer_from_account_ref",
    "transfer_to_account_ref",
)  # fmt: skip


_COMPARE: Final = {
    "LessThan": operator.lt,
    "LessThanEqual": operator.le,
    "Equal": operator.eq,
    "GreaterThan": operator.gt,
    "GreaterThanEqual": operator.ge,
}


@attrs.frozen
class Answer:
    """What a query answers: status, Rets and (for an iterator) its ID and remaining count."""

    status_code: int
    status_message: str
    rets: tuple[Any, ...] = ()
    iterator_id: str | None = None
    remaining: int | None = None


@attrs.define
class _Iterator:
    keys: list[tuple[str, str]]
    position: int
    page: int


def _aware(value: dt.datetime, zone: dt.tzinfo | None) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _text_match(criterion: str, value: str, wanted: str) -> bool:
    value, wanted = value.casefold(), wanted.casefold()
    if criterion == "StartsWith":
        return value.startswith(wanted)
    if criterion == "EndsWith":
        return value.endswith(wanted)
    return wanted in value


def _in_range(value: str, low: str | None, high: str | None) -> bool:
    if all(v.isascii() and v.isdigit() for v in (value, low or "0", high or "0")):
        number = int(value)
        return (low is None or number >= int(low)) and (high is None or number <= int(high))
    key = value.casefold()
    return (low is None or key >= low.casefold()) and (high is None or key <= high.casefold())


def _ref_filter(refs: Iterable[Ref | None], wanted: Any) -> bool:
    """EntityFilter / AccountFilter: by ListIDs, FullNames, or one of them with its children."""
    present = [r for r in refs if r is not None]
    if wanted.list_id:
        return any(r.list_id in wanted.list_id for r in present)
    if wanted.full_name:
        names = {n.casefold() for n in wanted.full_name}
        return any((r.full_name or "").casefold() in names for r in present)
    root = wanted.list_id_with_children or wanted.full_name_with_children
    if root is None:
        return True
    for ref in present:
        if wanted.list_id_with_children is not None and ref.list_id == root:
            return True
        name = (ref.full_name or "").casefold()
        if name == root.casefold() or name.startswith(root.casefold() + ":"):
            return True
    return False


def _date_macro(macro: str, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    if macro == "All":
        return None, None
    if macro == "Today":
        return today, today
    if macro == "Yesterday":
        day = today - dt.timedelta(days=1)
        return day, day
    if macro in ("ThisMonth", "ThisMonthToDate"):
        return today.replace(day=1), today
    if macro in ("ThisYear", "ThisYearToDate"):
        return today.replace(month=1, day=1), today
    msg = f"FakeQuickBooks does not implement the DateMacro {macro!r}"
    raise NotImplementedError(msg)


class Queries:
    """The queries of one QuickBooks connection, and its open iterators."""

    def __init__(self) -> None:
        self.iterators: dict[str, _Iterator] = {}
        self.company: Company | None = None  # the file of the query running now

    def close(self) -> None:
        """The connection ended: every iterator dies with it."""
        self.iterators.clear()

    def run(self, query: str, model: Any, company: Company, now: dt.datetime) -> Answer:
        """Answer the ``<query>Rq`` *model* against *company*."""
        self.company = company
        iterator = getattr(model, "iterator", None)
        if iterator in ("Continue", "Stop"):
            key = model.iterator_id
            state = self.iterators.get(key or "")
            if state is None:
                return Answer(3391, f'The iteratorID "{key}" is not valid.')
            if iterator == "Stop":
                del self.iterators[key]
                return Answer(0, "Status OK", iterator_id=key, remaining=0)
            return self._page(key, state, model, company)
        keys = self._select(query, model, company, now)
        if iterator == "Start":
            key = format_guid(uuid.uuid4())
            state = _Iterator(keys, 0, getattr(model, "max_returned", None) or len(keys) or 1)
            self.iterators[key] = state
            return self._page(key, state, model, company)
        if model_max := getattr(model, "max_returned", None):
            keys = keys[:model_max]
        rets = tuple(r for r in (self._view(k, model, company) for k in keys) if r is not None)
        if not rets:
            return Answer(1, NO_MATCH)
        return Answer(0, "Status OK", rets)

    def _page(self, key: str, state: _Iterator, model: Any, company: Company) -> Answer:
        size = getattr(model, "max_returned", None) or state.page
        chunk = state.keys[state.position : state.position + size]
        state.position += len(chunk)
        remaining = len(state.keys) - state.position
        if remaining == 0:
            del self.iterators[key]
        rets = tuple(r for r in (self._view(k, model, company) for k in chunk) if r is not None)
        if not rets:
            return Answer(1, NO_MATCH, iterator_id=key, remaining=remaining)
        return Answer(0, "Status OK", rets, iterator_id=key, remaining=remaining)

    # -- selection --

    def _select(
        self, query: str, model: Any, company: Company, now: dt.datetime
    ) -> list[tuple[str, str]]:
        if query in ("ListDeletedQuery", "TxnDeletedQuery"):
            return self._deleted(query, model, company)
        keys: list[tuple[str, str]] = []
        for otype in query_types(query):
            for object_id, ret in company.objects.get(otype.name, {}).items():
                if self._matches(otype, ret, model, now):
                    keys.append((otype.name, object_id))
        return keys

    def _deleted(self, query: str, model: Any, company: Company) -> list[tuple[str, str]]:
        field = "list_del_type" if query == "ListDeletedQuery" else "txn_del_type"
        wanted = set(getattr(model, field))
        dates = model.deleted_date_range_filter
        keys = []
        for index, ret in enumerate(company.deleted):
            if getattr(ret, field, None) not in wanted:
                continue
            if dates is not None:
                zone = ret.time_deleted.tzinfo
                low, high = dates.from_deleted_date, dates.to_deleted_date
                if low is not None and ret.time_deleted < _aware(low, zone):
                    continue
                if high is not None and ret.time_deleted > _aware(high, zone):
                    continue
            keys.append(("#deleted", str(index)))
        return keys

    def _matches(
        self, otype: ObjectType, ret: Any, model: Any, now: dt.datetime
    ) -> bool:
        values = {
            name: getattr(model, name)
            for name, _ in specs(type(model))
            if name not in _SHAPING and getattr(model, name) not in (None, ())
        }
        zone = now.tzinfo
        by_id = values.pop("list_id", None) or values.pop("txn_id", None)
        if by_id is not None:
            return getattr(ret, otype.id_field) in by_id
        names = values.pop("full_name", None)
        if names is not None:
            return (display_name(ret) or "").casefold() in {n.casefold() for n in names}
        numbers = values.pop("ref_number", None)
        if numbers is not None:
            return (ret.ref_number or "").casefold() in {n.casefold() for n in numbers}
        exact = values.pop("ref_number_case_sensitive", None)
        if exact is not None:
            return ret.ref_number in exact
        active = values.pop("active_status", "ActiveOnly" if otype.is_list else "All")
        is_active = getattr(ret, "is_active", None) is not False
        if (active == "ActiveOnly" and not is_active) or (active == "InactiveOnly" and is_active):
            return False
        low = values.pop("from_modified_date", None)
        high = values.pop("to_modified_date", None)
        modified = values.pop("modified_date_range_filter", None)
        if modified is not None:
            low, high = modified.from_modified_date, modified.to_modified_date
        if low is not None and ret.time_modified < _aware(low, zone):
            return False
        if high is not None and ret.time_modified > _aware(high, zone):
            return False
        dates = values.pop("txn_date_range_filter", None)
        if dates is not None:
            first, last = dates.from_txn_date, dates.to_txn_date
            if dates.date_macro is not None:
                first, last = _date_macro(dates.date_macro, now.date())
            txn_date = getattr(ret, "txn_date", None)
            if txn_date is None or (first and txn_date < first) or (last and txn_date > last):
                return False
        name_filter = values.pop("name_filter", None)
        name = display_name(ret) or ""
        if name_filter is not None and not _text_match(
            name_filter.match_criterion, name, name_filter.name
        ):
            return False
        name_range = values.pop("name_range_filter", None)
        if name_range is not None and not _in_range(
            name, name_range.from_name, name_range.to_name
        ):
            return False
        entity = values.pop("entity_filter", None)
        if entity is not None and not _ref_filter(
            (getattr(ret, f, None) for f in _ENTITY_REFS), entity
        ):
            return False
        account = values.pop("account_filter", None)
        if account is not None and not _ref_filter(
            (getattr(ret, f, None) for f in _ACCOUNT_REFS), account
        ):
            return False
        number_filter = values.pop("ref_number_filter", None)
        if number_filter is not None and not _text_match(
            number_filter.match_criterion, ret.ref_number or "", number_filter.ref_number
        ):
            return False
        number_range = values.pop("ref_number_range_filter", None)
        if number_range is not None and not _in_range(
            ret.ref_number or "", number_range.from_ref_number, number_range.to_ref_number
        ):
            return False
        paid = values.pop("paid_status", "All")
        is_paid = bool(getattr(ret, "is_paid", False))
        if (paid == "PaidOnly" and not is_paid) or (paid == "NotPaidOnly" and is_paid):
            return False
        balance_filter = values.pop("total_balance_filter", None)
        if balance_filter is not None:
            balance = self._total_balance(otype, ret)
            compare = _COMPARE[balance_filter.operator]
            if balance is None or not compare(balance, balance_filter.amount):
                return False
        account_types = values.pop("account_type", None)
        if account_types is not None and getattr(ret, "account_type", None) not in account_types:
            return False
        if values:
            filters = ", ".join(sorted(values))
            msg = f"FakeQuickBooks does not implement these query filters: {filters}"
            raise NotImplementedError(msg)
        return True

    def _total_balance(self, otype: ObjectType, ret: Any) -> Decimal | None:
        if self.company is not None and otype.name == "Customer":
            ret = with_balances(self.company, otype.name, ret)
        value: Decimal | None = getattr(ret, "total_balance", None)
        return value if value is not None else getattr(ret, "balance", None)

    # -- the answer --

    def _view(self, key: tuple[str, str], model: Any, company: Company) -> Any:
        type_name, object_id = key
        if type_name == "#deleted":
            return company.deleted[int(object_id)]
        ret = company.objects.get(type_name, {}).get(object_id)
        if ret is None:
            return None  # deleted since the iterator started
        ret = with_balances(company, type_name, ret)
        changes: dict[str, Any] = {}
        fields = {name for name, _ in specs(type(ret))}
        if "lines" in fields and not getattr(model, "include_line_items", None):
            changes["lines"] = ()
            if "expense_line_ret" in fields:
                changes["expense_line_ret"] = ()
        if "linked_txn" in fields and not getattr(model, "include_linked_txns", None):
            changes["linked_txn"] = ()
        return attrs.evolve(ret, **changes) if changes else ret


def with_balances(company: Company, type_name: str, ret: Any) -> Any:
    """*ret* with its Balance and TotalBalance as of now (a customer's; others unchanged)."""
    if type_name != "Customer":
        return ret
    balance, total = _balances(company).get(ret.list_id, (Decimal("0.00"),) * 2)
    if ret.balance == balance and ret.total_balance == total:
        return ret  # (evolve costs ~60 µs on a CustomerRet; most balances do not move)
    return attrs.evolve(ret, balance=balance, total_balance=total)


def _balances(company: Company) -> dict[str, tuple[Decimal, Decimal]]:
    # Computed once per state of the file, not once per customer of a page.
    stamp = company.version
    cached = company.balance_cache
    if cached is not None and cached[0] == stamp:
        result: dict[str, tuple[Decimal, Decimal]] = cached[1]
        return result
    result = customer_balances(company)
    company.balance_cache = (stamp, result)
    return result
