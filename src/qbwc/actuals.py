"""
Budget actuals from pulled transactions: cost per job and per line, money received per invoice.

A construction app keeps a budget per job (a QuickBooks customer:job) and compares it with
what was really spent there: the bills, checks, credit-card charges and item receipts booked
against the job.  :class:`Actuals` turns those transactions, as typed Rets (from a query or a
pull), into

- **actual cost per job** (the line's ``CustomerRef``) and per item or account line
  (:meth:`Actuals.cost_by_job`, :meth:`Actuals.cost_by_line`), with the lines booked to no
  job reported apart as overhead (:meth:`Actuals.overhead`);
- **amounts received per invoice and per customer** from ``ReceivePaymentRet``
  (:meth:`Actuals.received_by_invoice`, :meth:`Actuals.received_by_customer`).

It is an accumulator keyed by TxnID: a transaction that arrives again (a pull's overlap, an
edit in QuickBooks) replaces the version it holds when it is newer and is ignored when it is
the same or older, so the totals are those of the newest version of each transaction,
whatever the order of arrival.  Deleted transactions are taken out with
:meth:`Actuals.remove`.  Money is :class:`~decimal.Decimal` throughout.  The rules are in
docs/actuals.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Literal, TypeAlias

import attrs

from qbwc.exceptions import ConfigurationError
from qbwc.qbxml import (
    BillRet,
    CheckRet,
    CreditCardChargeRet,
    CreditCardCreditRet,
    ExpenseLineRet,
    ItemGroupLineRet,
    ItemLineRet,
    ItemReceiptRet,
    ReceivePaymentRet,
    Ref,
    VendorCreditRet,
)

__all__ = [
    "Actuals",
    "AppliedPayment",
    "CostKey",
    "CostLine",
    "CostRet",
    "PulledRet",
    "ref_key",
]

#: The transactions that carry cost (credits carry it with a minus sign).
CostRet: TypeAlias = (
    BillRet
    | CheckRet
    | CreditCardChargeRet
    | ItemReceiptRet
    | CreditCardCreditRet
    | VendorCreditRet
)
#: Everything :meth:`Actuals.add` takes.
PulledRet: TypeAlias = CostRet | ReceivePaymentRet

_ZERO = Decimal(0)

# type -> (TxnType, sign, name of the transaction's total field)
_COST_TYPES: dict[type, tuple[str, int, str]] = {
    BillRet: ("Bill", 1, "amount_due"),
    CheckRet: ("Check", 1, "amount"),
    CreditCardChargeRet: ("CreditCardCharge", 1, "amount"),
    ItemReceiptRet: ("ItemReceipt", 1, "total_amount"),
    CreditCardCreditRet: ("CreditCardCredit", -1, "amount"),
    VendorCreditRet: ("VendorCredit", -1, "credit_amount"),
}
_ACCEPTED = ", ".join(f"{name}Ret" for name, _, _ in _COST_TYPES.values()) + ", ReceivePaymentRet"


def ref_key(ref: Ref | None) -> str | None:
    """The key the totals use for a Ref: its ListID, or its FullName when it has no ListID."""
    if ref is None:
        return None
    return ref.list_id if ref.list_id is not None else ref.full_name


@attrs.frozen(kw_only=True)
class CostLine:
    """
    One line of cost, as :class:`Actuals` counts it.

    *amount* is in the transaction's currency (*currency*), negative for a credit
    (``CreditCardCredit``, ``VendorCredit``).  *job* is the line's ``CustomerRef``
    (None: overhead).  *kind* says whether *target* is the line's ``AccountRef``
    (an expense line) or ``ItemRef`` (an item line, or an item line of a group, whose
    ``ItemGroupRef`` is *group*).
    """

    txn_type: str
    txn_id: str
    txn_line_id: str | None
    job: Ref | None
    kind: Literal["account", "item"]
    target: Ref | None
    amount: Decimal
    currency: str
    group: Ref | None = None


@attrs.frozen(kw_only=True)
class CostKey:
    """A key of :meth:`Actuals.cost_by_line`: job (None: overhead), account or item, which one."""

    job: str | None
    kind: Literal["account", "item"]
    target: str | None


@attrs.frozen(kw_only=True)
class AppliedPayment:
    """What a payment applied to one transaction (an invoice, or a statement charge)."""

    payment_txn_id: str
    txn_id: str
    txn_type: str | None
    amount: Decimal
    discount: Decimal


@attrs.frozen(kw_only=True)
class _Payment:
    customer: Ref | None
    total: Decimal
    currency: str
    applied: tuple[AppliedPayment, ...]


_Version: TypeAlias = tuple[int, int, int, str]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _version(ret: PulledRet) -> _Version | None:
    """How new a version is: TimeModified, then EditSequence (None: neither is known)."""
    modified: dt.datetime | None = ret.time_modified
    sequence = ret.edit_sequence
    if modified is None and sequence is None:
        return None
    stamp = 0
    if modified is not None:
        aware = modified if modified.tzinfo is not None else modified.replace(tzinfo=dt.UTC)
        stamp = (aware - _EPOCH) // dt.timedelta(microseconds=1)
    number = int(sequence) if sequence is not None and sequence.isdigit() else -1
    return (int(modified is not None), stamp, number, sequence or "")


def _currency(ret: PulledRet) -> str:
    ref = ret.currency_ref
    return (ref.full_name or ref.list_id or "") if ref is not None else ""


def _cost_lines(ret: CostRet) -> tuple[CostLine, ...]:
    txn_type, sign, total_field = _COST_TYPES[type(ret)]
    txn_id = _txn_id(ret)
    currency = _currency(ret)
    lines: list[CostLine] = []

    def item_line(line: ItemLineRet, group: Ref | None) -> None:
        lines.append(
            CostLine(
                txn_type=txn_type, txn_id=txn_id, txn_line_id=line.txn_line_id,
                job=line.customer_ref, kind="item", target=line.item_ref,
                amount=sign * (line.amount or _ZERO), currency=currency, group=group,
            )
        )

    expense: ExpenseLineRet
    for expense in ret.expense_line_ret:
        lines.append(
            CostLine(
                txn_type=txn_type, txn_id=txn_id, txn_line_id=expense.txn_line_id,
                job=expense.customer_ref, kind="account", target=expense.account_ref,
                amount=sign * (expense.amount or _ZERO), currency=currency,
            )
        )
    for line in ret.lines:
        if isinstance(line, ItemGroupLineRet):
            for inner in line.item_line_ret:
                item_line(inner, line.item_group_ref)
        else:
            item_line(line, None)
    total: Decimal | None = getattr(ret, total_field)
    if not lines and total:
        raise ConfigurationError(
            "ret.lines",
            f"{txn_type} {txn_id} has a total of {total} but no lines: query it with "
            "include_line_items=True (and keep ExpenseLineRet and ItemLineRet in "
            "include_ret_element)",
        )
    return tuple(lines)


def _txn_id(ret: PulledRet) -> str:
    if ret.txn_id is None:
        raise ConfigurationError(
            "ret.txn_id",
            f"a {type(ret).__name__} without its TxnID cannot be counted once: "
            "keep TxnID in include_ret_element",
        )
    return ret.txn_id


def _payment(ret: ReceivePaymentRet) -> _Payment:
    txn_id = _txn_id(ret)
    applied = tuple(
        AppliedPayment(
            payment_txn_id=txn_id,
            txn_id=entry.txn_id or "",
            txn_type=entry.txn_type,
            amount=entry.amount or _ZERO,
            discount=entry.discount_amount or _ZERO,
        )
        for entry in ret.applied_to_txn_ret
    )
    return _Payment(
        customer=ret.customer_ref, total=ret.total_amount or _ZERO,
        currency=_currency(ret), applied=applied,
    )


class Actuals:
    """
    Budget actuals, kept up to date as transactions arrive (docs/actuals.md).

    Feed it Rets with :meth:`add` (or :meth:`add_all`), in any order, as often as they
    come; take deleted transactions out with :meth:`remove`; read the totals.  Not
    thread-safe: feed it from one thread, or guard it with a lock.
    """

    def __init__(self) -> None:
        self._versions: dict[str, _Version | None] = {}
        self._costs: dict[str, tuple[CostLine, ...]] = {}
        self._payments: dict[str, _Payment] = {}
        self._removed: set[str] = set()

    # --- feeding ---------------------------------------------------------------------

    def add(self, ret: PulledRet) -> bool:
        """
        Count *ret*, replacing an older version of the same transaction.

        Returns True when *ret* changed what is counted: a transaction not seen
        before, or a newer version (later ``TimeModified``; at the same time, a
        greater ``EditSequence``).  The same version again, an older one, or a
        transaction :meth:`remove` took out returns False and changes nothing.  A
        version with neither ``TimeModified`` nor ``EditSequence`` always replaces.

        Raises:
            ConfigurationError: ``ret`` is not a type the actuals count;
                ``ret.txn_id`` is missing; ``ret.lines``: a cost transaction with a
                total but no lines (queried without ``include_line_items``).
        """
        if not isinstance(ret, (*_COST_TYPES, ReceivePaymentRet)):
            raise ConfigurationError(
                "ret", f"a {type(ret).__name__} is not counted in actuals; give {_ACCEPTED}"
            )
        txn_id = _txn_id(ret)
        if txn_id in self._removed:
            return False
        version = _version(ret)
        if txn_id in self._versions:
            held = self._versions[txn_id]
            if version is not None and held is not None and version <= held:
                return False
        if isinstance(ret, ReceivePaymentRet):
            payment = _payment(ret)
            self._costs.pop(txn_id, None)
            self._payments[txn_id] = payment
        else:
            lines = _cost_lines(ret)
            self._payments.pop(txn_id, None)
            self._costs[txn_id] = lines
        self._versions[txn_id] = version
        return True

    def add_all(self, rets: Iterable[PulledRet]) -> int:
        """:meth:`add` each of *rets*; return how many changed what is counted."""
        return sum(1 for ret in rets if self.add(ret))

    def remove(self, txn_id: str) -> bool:
        """
        Take out a deleted transaction (a ``TxnDeletedRet``'s TxnID).

        A later :meth:`add` of any version of it is ignored: QuickBooks never reuses a
        TxnID, so a copy arriving after the deletion is stale.  Returns True when the
        transaction was counted.  A voided transaction needs no removal: its new version
        has amounts of zero and replaces the old one.
        """
        self._removed.add(txn_id)
        self._versions.pop(txn_id, None)
        had_cost = self._costs.pop(txn_id, None) is not None
        had_payment = self._payments.pop(txn_id, None) is not None
        return had_cost or had_payment

    def __len__(self) -> int:
        """How many transactions are counted."""
        return len(self._versions)

    def __contains__(self, txn_id: object) -> bool:
        return txn_id in self._versions

    # --- reading ---------------------------------------------------------------------

    def currencies(self) -> frozenset[str]:
        """The currencies of the counted transactions ("" for transactions without CurrencyRef)."""
        found = {line.currency for lines in self._costs.values() for line in lines}
        found.update(payment.currency for payment in self._payments.values())
        return frozenset(found)

    def _pick(self, currency: str | None) -> str | None:
        """The one currency to sum (None: nothing counted yet)."""
        if currency is not None:
            return currency
        found = self.currencies()
        if len(found) > 1:
            names = ", ".join(sorted(repr(name) for name in found))
            raise ConfigurationError(
                "currency",
                f"the transactions are in {len(found)} currencies ({names}); amounts in "
                "different currencies are not added up: pass currency= to pick one",
            )
        return next(iter(found), None)

    def lines(self, currency: str | None = None) -> Iterator[CostLine]:
        """Every counted line of cost, in one currency (see :meth:`cost_by_job`)."""
        chosen = self._pick(currency)
        for lines in self._costs.values():
            for line in lines:
                if line.currency == chosen:
                    yield line

    def cost_by_job(self, currency: str | None = None) -> dict[str, Decimal]:
        """
        Actual cost per job (key: the ``CustomerRef``'s ListID, see :func:`ref_key`).

        Lines without a job are left out (see :meth:`overhead`).  Amounts are summed in
        the transactions' own currency: *currency* picks one (a ``CurrencyRef``
        FullName, or "" for transactions without one); without it, every counted
        transaction must be in the same currency, or ``ConfigurationError`` naming
        ``currency`` is raised.
        """
        totals: dict[str, Decimal] = {}
        for line in self.lines(currency):
            job = ref_key(line.job)
            if job is not None:
                totals[job] = totals.get(job, _ZERO) + line.amount
        return totals

    def overhead(self, currency: str | None = None) -> Decimal:
        """The cost of the lines booked to no job (no ``CustomerRef``)."""
        return sum((line.amount for line in self.lines(currency) if line.job is None), _ZERO)

    def cost_by_line(self, currency: str | None = None) -> dict[CostKey, Decimal]:
        """Actual cost per job and account or item (``job=None``: overhead)."""
        totals: dict[CostKey, Decimal] = {}
        for line in self.lines(currency):
            key = CostKey(job=ref_key(line.job), kind=line.kind, target=ref_key(line.target))
            totals[key] = totals.get(key, _ZERO) + line.amount
        return totals

    def total_cost(self, currency: str | None = None) -> Decimal:
        """Every line's cost, jobs and overhead: the sum of the transactions' totals."""
        return sum((line.amount for line in self.lines(currency)), _ZERO)

    def full_names(self) -> dict[str, str]:
        """The FullName of each key the totals use (jobs, items, accounts) that came with one."""
        names: dict[str, str] = {}
        for lines in self._costs.values():
            for line in lines:
                for ref in (line.job, line.target):
                    key = ref_key(ref)
                    if ref is not None and key is not None and ref.full_name is not None:
                        names[key] = ref.full_name
        for payment in self._payments.values():
            key = ref_key(payment.customer)
            if payment.customer is not None and key is not None and payment.customer.full_name:
                names[key] = payment.customer.full_name
        return names

    def applied(self, currency: str | None = None) -> Iterator[AppliedPayment]:
        """What each counted payment applied to each transaction, in one currency."""
        chosen = self._pick(currency)
        for payment in self._payments.values():
            if payment.currency == chosen:
                yield from payment.applied

    def received_by_invoice(self, currency: str | None = None) -> dict[str, Decimal]:
        """
        Amount received per invoice (key: its TxnID): the sum of the ``Amount`` of every
        ``AppliedToTxnRet`` naming it.  Discounts are not in it (see
        :meth:`discounts_by_invoice`).  A statement charge a payment applied to shows
        the same way, by its TxnID.
        """
        totals: dict[str, Decimal] = {}
        for entry in self.applied(currency):
            totals[entry.txn_id] = totals.get(entry.txn_id, _ZERO) + entry.amount
        return totals

    def discounts_by_invoice(self, currency: str | None = None) -> dict[str, Decimal]:
        """The ``DiscountAmount`` given per invoice (key: its TxnID), where there is one."""
        totals: dict[str, Decimal] = {}
        for entry in self.applied(currency):
            if entry.discount:
                totals[entry.txn_id] = totals.get(entry.txn_id, _ZERO) + entry.discount
        return totals

    def received_by_customer(self, currency: str | None = None) -> dict[str, Decimal]:
        """
        Money received per customer or job (key: the payment's ``CustomerRef``): each
        payment's ``TotalAmount``, applied to invoices or not yet.
        """
        chosen = self._pick(currency)
        totals: dict[str, Decimal] = {}
        for payment in self._payments.values():
            customer = ref_key(payment.customer)
            if payment.currency == chosen and customer is not None:
                totals[customer] = totals.get(customer, _ZERO) + payment.total
        return totals
