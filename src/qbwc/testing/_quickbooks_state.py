"""
The company file behind ``FakeQuickBooks``: lists, preferences, identifiers,
QuickBooks' line arithmetic and the error-recovery slot.

Nothing here knows qbXML: :mod:`qbwc.testing._quickbooks` reads requests and
writes responses; this module holds the state they act on.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any, Final

import attrs

from qbwc.qbxml._types import Address, Ref

__all__ = [
    "CENT",
    "Company",
    "CompanyPreferences",
    "Customer",
    "GroupMember",
    "Item",
    "ItemKind",
    "ListEntry",
    "ListKind",
    "RecoverySlot",
    "TransactionRecord",
    "checksum",
    "derive_rate",
    "line_amount",
    "percent_of",
    "tidy",
    "to_cents",
    "to_quantity",
]

CENT: Final = Decimal("0.01")
_PRICE_PLACES: Final = Decimal("0.00001")
#: AMTTYPE allows 13 integer digits, PRICETYPE/QUANTYPE 10.
AMOUNT_LIMIT: Final = Decimal(10) ** 13
PRICE_LIMIT: Final = Decimal(10) ** 10


# --- money -------------------------------------------------------------------------
#
# QuickBooks keeps money in cents and rounds half away from zero (ROUND_HALF_UP
# in Decimal terms: -0.125 -> -0.13).  Products of a 10+5-digit quantity and a
# 10+5-digit rate have up to 30 significant digits, more than Decimal's default
# context of 28, so every computation runs in a wide local context: a result is
# rounded exactly once, to cents.


def to_cents(value: Decimal) -> Decimal:
    """Round *value* to cents, half away from zero."""
    with localcontext() as ctx:
        ctx.prec = 60
        return value.quantize(CENT, rounding=ROUND_HALF_UP)


def tidy(value: Decimal) -> Decimal:
    """Drop trailing zeros of a rate or quantity without exponent notation (``2.50`` → ``2.5``)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def to_quantity(value: Decimal) -> Decimal:
    """A quantity as QuickBooks stores it: at most 5 decimals, half away from zero."""
    with localcontext() as ctx:
        ctx.prec = 60
        return tidy(value.quantize(_PRICE_PLACES, rounding=ROUND_HALF_UP))


def line_amount(quantity: Decimal, rate: Decimal) -> Decimal:
    """``quantity × rate`` rounded to cents, as QuickBooks computes a line's Amount."""
    with localcontext() as ctx:
        ctx.prec = 60
        return to_cents(quantity * rate)


def derive_rate(amount: Decimal, quantity: Decimal) -> Decimal | None:
    """The Rate QuickBooks derives from an Amount and a Quantity (5 decimals), or None for 0."""
    if quantity == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 60
        return tidy((amount / quantity).quantize(_PRICE_PLACES, rounding=ROUND_HALF_UP))


def percent_of(base: Decimal, percent: Decimal) -> Decimal:
    """*percent* % of *base*, rounded to cents (``percent_of(200, 7.25) == 14.50``)."""
    with localcontext() as ctx:
        ctx.prec = 60
        return to_cents(base * percent / 100)


# --- lists -------------------------------------------------------------------------


class ListKind(enum.Enum):
    """The lists a Ref can point into; the value is QuickBooks' name in error messages."""

    CUSTOMER = "Customer"
    ITEM = "Item"
    CLASS = "Class"
    TERMS = "Terms"
    SALES_REP = "SalesRep"
    TEMPLATE = "Template"
    SALES_TAX_CODE = "SalesTaxCode"
    CUSTOMER_MSG = "CustomerMsg"
    SHIP_METHOD = "ShipMethod"
    ACCOUNT = "Account"
    PRICE_LEVEL = "PriceLevel"


class ItemKind(enum.Enum):
    """Item types (the ``Item…Add`` family) that matter for invoice and estimate lines."""

    SERVICE = "Service"
    NON_INVENTORY = "NonInventory"
    INVENTORY = "Inventory"
    OTHER_CHARGE = "OtherCharge"
    DISCOUNT = "Discount"
    SUBTOTAL = "Subtotal"
    SALES_TAX = "SalesTax"
    GROUP = "Group"


#: Name limits per list (one segment of a FullName), from the qbXML *Add requests.
NAME_LIMITS: Final = {
    ListKind.CUSTOMER: 41,
    ListKind.ITEM: 31,
    ListKind.CLASS: 31,
    ListKind.TERMS: 31,
    ListKind.SALES_REP: 5,
    ListKind.TEMPLATE: 31,
    ListKind.SALES_TAX_CODE: 3,
    ListKind.CUSTOMER_MSG: 101,
    ListKind.SHIP_METHOD: 15,
    ListKind.ACCOUNT: 31,
    ListKind.PRICE_LEVEL: 31,
}

#: Lists whose names form a Parent:Child hierarchy.
HIERARCHICAL: Final = frozenset(
    {ListKind.CUSTOMER, ListKind.ITEM, ListKind.CLASS, ListKind.ACCOUNT}
)


@attrs.frozen(kw_only=True)
class ListEntry:
    """
    One object in a simple QuickBooks list (class, terms, sales rep, template, ...).

    ``days_due`` is set for terms, ``percent`` for price levels (a fixed
    percentage: ``-10`` is 10 % off), ``taxable`` for sales-tax codes.
    """

    kind: ListKind
    list_id: str
    name: str
    full_name: str
    parent_id: str | None = None
    is_active: bool = True
    days_due: int | None = None
    percent: Decimal | None = None
    taxable: bool | None = None

    @property
    def ref(self) -> Ref:
        """A :class:`~qbwc.qbxml.Ref` to this object, with both ListID and FullName."""
        return Ref(list_id=self.list_id, full_name=self.full_name)


@attrs.frozen(kw_only=True)
class Customer:
    """A customer or job (``Parent:Job``) in the fake company file."""

    list_id: str
    name: str
    full_name: str
    parent_id: str | None = None
    is_active: bool = True
    bill_address: Address | None = None
    ship_address: Address | None = None
    email: str | None = None
    terms_id: str | None = None
    sales_rep_id: str | None = None
    sales_tax_code_id: str | None = None
    item_sales_tax_id: str | None = None
    price_level_id: str | None = None

    @property
    def ref(self) -> Ref:
        """A :class:`~qbwc.qbxml.Ref` to this customer, with both ListID and FullName."""
        return Ref(list_id=self.list_id, full_name=self.full_name)


@attrs.frozen(kw_only=True)
class GroupMember:
    """One member line of a group item: the item and its quantity per group."""

    item_id: str
    quantity: Decimal


@attrs.frozen(kw_only=True)
class Item:
    """
    An item in the fake company file.

    ``price`` is the sales price (a fixed amount); ``percent`` makes a
    discount, other-charge or sales-tax item a percentage item.  Discount
    items are stored the way QuickBooks shows them: negative.
    """

    list_id: str
    name: str
    full_name: str
    kind: ItemKind
    parent_id: str | None = None
    is_active: bool = True
    description: str | None = None
    price: Decimal | None = None
    percent: Decimal | None = None
    sales_tax_code_id: str | None = None
    members: tuple[GroupMember, ...] = ()
    print_items_in_group: bool = False

    @property
    def ref(self) -> Ref:
        """A :class:`~qbwc.qbxml.Ref` to this item, with both ListID and FullName."""
        return Ref(list_id=self.list_id, full_name=self.full_name)


AnyEntry = ListEntry | Customer | Item


@attrs.frozen(kw_only=True)
class CompanyPreferences:
    """
    The company preferences the fake reports in its HCP response and enforces.

    Features that are off make a request that needs them fail with 3250, as
    QuickBooks does ("This feature is not enabled ...").
    """

    is_using_estimates: bool = True
    is_using_progress_invoicing: bool = False
    is_using_class_tracking: bool = False
    is_using_price_levels: bool = False
    is_multicurrency_on: bool = False
    is_using_units_of_measure: bool = False
    is_using_inventory_sites: bool = False
    #: ``None`` (off), ``"SerialNumber"`` or ``"LotNumber"``.
    serial_or_lot_tracking: str | None = None
    closing_date: dt.date | None = None
    #: FullName of the sales-tax item used when neither the request nor the customer names one.
    default_item_sales_tax: str | None = None


@attrs.frozen(kw_only=True)
class TransactionRecord:
    """A transaction the fake created: its type, identifiers and the full Ret."""

    txn_type: str
    txn_id: str
    ref_number: str | None
    company_file: str
    ret: Any


@attrs.frozen(kw_only=True)
class RecoverySlot:
    """
    The error-recovery state QuickBooks keeps for one application (docs/protocol.md,
    "Error recovery").

    ``responses`` are the ``Response`` values of the stored set, exactly as
    first answered; ``version`` is the qbXML version it was sent at.
    """

    message_set_id: str
    checksum: str
    version: tuple[int, int]
    responses: tuple[Any, ...]


def checksum(parts: Iterable[bytes]) -> str:
    """A stable digest of a message set's content (its canonical request elements)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


_LIST_ID_SHAPE: Final = re.compile(r"^[0-9A-F]{1,8}-[0-9]{1,10}$")


def plausible_id(value: str) -> bool:
    """Whether *value* has the shape of a QuickBooks ListID/TxnID (``80000001-1700000000``)."""
    return bool(_LIST_ID_SHAPE.match(value))


class Company:
    """
    One company file: its lists, preferences, transactions and stamps.

    Mutable on purpose (it is the database); ``FakeQuickBooks`` owns it and
    is the only writer.
    """

    def __init__(
        self,
        *,
        name: str,
        path: str,
        legal_name: str | None,
        preferences: CompanyPreferences,
        now: dt.datetime,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.clock: Callable[[], dt.datetime] = clock or (lambda: now)
        self.name = name
        self.legal_name = legal_name if legal_name is not None else name
        self.path = path
        self.preferences = preferences
        self._list_counter = 0
        self._txn_counter = 0
        self.txn_number = 0
        self.entries: dict[ListKind, dict[str, AnyEntry]] = {kind: {} for kind in ListKind}
        self._by_name: dict[ListKind, dict[str, str]] = {kind: {} for kind in ListKind}
        self.transactions: list[TransactionRecord] = []
        self.by_txn_id: dict[str, TransactionRecord] = {}
        #: owner_id (upper-case braced GUID) -> {DataExtName: value}
        self.data_ext: dict[str, dict[str, str]] = {}
        #: Error-recovery slots, one per application (OwnerID, or None).
        self.recovery: dict[str | None, RecoverySlot] = {}
        #: The last numeric RefNumber used, per transaction type (QuickBooks numbers on from it).
        self.last_ref_number: dict[str, int] = {}
        # The typed view of every object (docs/testing.md, "The whole vocabulary"):
        #: object type -> ListID/TxnID -> its Ret, in creation order.
        self.objects: dict[str, dict[str, Any]] = {}
        #: namespace -> casefolded FullName -> (object type, ListID), for 3100 and Refs.
        self.names: dict[str, dict[str, tuple[str, str]]] = {}
        #: ListDeletedRet / TxnDeletedRet of every deletion, in order.
        self.deleted: list[Any] = []
        #: A customer's opening balance (CustomerAdd/OpenBalance), by ListID.
        self.opening_balances: dict[str, Decimal] = {}
        self._edit_sequence = 0
        #: (version, customer balances) of the last query that needed them.
        self.balance_cache: tuple[Any, Any] | None = None
        self._seed_defaults(now)

    # -- identifiers ---------------------------------------------------------------

    def new_list_id(self, now: dt.datetime) -> str:
        """A fresh ListID in QuickBooks' shape: ``80000001-1700000000``."""
        self._list_counter += 1
        return f"{0x80000000 + self._list_counter:08X}-{int(now.timestamp())}"

    def new_txn_id(self, now: dt.datetime) -> str:
        """A fresh TxnID or TxnLineID (one counter, as in QuickBooks: ``1A-1700000000``)."""
        self._txn_counter += 1
        return f"{self._txn_counter:X}-{int(now.timestamp())}"

    def next_ref_number(self, txn_type: str) -> str:
        """The RefNumber QuickBooks fills in when a request leaves it out."""
        return str(self.last_ref_number.get(txn_type, 0) + 1)

    def note_ref_number(self, txn_type: str, ref_number: str | None) -> None:
        """Remember a numeric RefNumber so automatic numbering continues after it."""
        # ASCII digits only: "¹".isdigit() is true, but int() refuses it.
        if (
            ref_number is not None
            and ref_number.isascii()
            and ref_number.isdigit()
            and len(ref_number) <= 11
        ):
            self.last_ref_number[txn_type] = int(ref_number)

    # -- lists ---------------------------------------------------------------------

    @property
    def version(self) -> tuple[int, int, int]:
        """Changes whenever an object is added, changed or deleted."""
        return (self._edit_sequence, len(self.deleted), len(self.transactions))

    def next_edit_sequence(self, now: dt.datetime, previous: str | None = None) -> str:
        """A new EditSequence: the clock's seconds, always above every earlier one."""
        value = max(int(now.timestamp()), self._edit_sequence + 1)
        if previous is not None and previous.isascii() and previous.isdigit():
            value = max(value, int(previous) + 1)
        self._edit_sequence = value
        return str(value)

    def add(self, entry: AnyEntry, kind: ListKind, *, mirror: bool = True) -> None:
        """
        Store *entry* in list *kind* (name uniqueness already checked), and its
        typed Ret unless *mirror* is false (the Ret is the original).
        """
        if mirror:
            from qbwc.testing._quickbooks_objects import mirror_entry  # noqa: PLC0415 - cycle

            mirror_entry(self, entry)
        self.entries[kind][entry.list_id] = entry
        self._by_name[kind][entry.full_name.casefold()] = entry.list_id

    def forget(self, entry: AnyEntry, kind: ListKind) -> None:
        """Remove *entry* from list *kind* (deleted, or about to be stored again renamed)."""
        self.entries[kind].pop(entry.list_id, None)
        if self._by_name[kind].get(entry.full_name.casefold()) == entry.list_id:
            del self._by_name[kind][entry.full_name.casefold()]

    def split_name(self, kind: ListKind, full_name: str) -> tuple[str | None, str]:
        """
        Check a new object's FullName and return ``(parent ListID, own name)``.

        Raises:
            ValueError: an empty or too long segment, an unknown parent, a
                duplicate name, or a hierarchy in a flat list.
        """
        segments = full_name.split(":")
        if len(segments) > 1 and kind not in HIERARCHICAL:
            msg = f"{kind.value} names cannot contain ':' ({full_name!r})"
            raise ValueError(msg)
        limit = NAME_LIMITS[kind]
        for segment in segments:
            if not segment.strip():
                msg = f"{kind.value} name {full_name!r}: empty name segment"
                raise ValueError(msg)
            if len(segment) > limit:
                msg = f"{kind.value} name {segment!r}: {len(segment)} characters, at most {limit}"
                raise ValueError(msg)
        if full_name.casefold() in self._by_name[kind]:
            msg = f'The name "{full_name}" of the list element is already in use.'
            raise ValueError(msg)
        parent_id = None
        if len(segments) > 1:
            parent_name = ":".join(segments[:-1])
            parent_id = self._by_name[kind].get(parent_name.casefold())
            if parent_id is None:
                msg = f"{kind.value} {full_name!r}: add its parent {parent_name!r} first"
                raise ValueError(msg)
        return parent_id, segments[-1]

    def find(self, kind: ListKind, ref: Ref) -> AnyEntry | None:
        """
        Resolve *ref* in list *kind*: by ListID if present (FullName is then
        ignored, as QuickBooks does), else by case-insensitive FullName.
        """
        if ref.list_id is not None:
            return self.entries[kind].get(ref.list_id)
        if ref.full_name is None:
            return None
        list_id = self._by_name[kind].get(ref.full_name.casefold())
        return None if list_id is None else self.entries[kind][list_id]

    def by_name(self, kind: ListKind, full_name: str) -> AnyEntry | None:
        """The object named *full_name* (case-insensitive) in list *kind*, or None."""
        return self.find(kind, Ref(full_name=full_name))

    def get(self, kind: ListKind, list_id: str | None) -> AnyEntry | None:
        """The object with *list_id* in list *kind*, or None."""
        return None if list_id is None else self.entries[kind].get(list_id)

    def _seed_defaults(self, now: dt.datetime) -> None:
        # What QuickBooks puts in every new company file: the A/R account,
        # the built-in templates and the two US sales-tax codes.
        for name in ("Accounts Receivable", "Sales", "Services"):
            self.add(
                ListEntry(
                    kind=ListKind.ACCOUNT, list_id=self.new_list_id(now), name=name, full_name=name
                ),
                ListKind.ACCOUNT,
            )
        for name in ("Intuit Service Invoice", "Intuit Product Invoice", "Custom Estimate"):
            self.add(
                ListEntry(
                    kind=ListKind.TEMPLATE, list_id=self.new_list_id(now), name=name, full_name=name
                ),
                ListKind.TEMPLATE,
            )
        for name, taxable in (("Tax", True), ("Non", False)):
            self.add(
                ListEntry(
                    kind=ListKind.SALES_TAX_CODE,
                    list_id=self.new_list_id(now),
                    name=name,
                    full_name=name,
                    taxable=taxable,
                ),
                ListKind.SALES_TAX_CODE,
            )

    # -- transactions ----------------------------------------------------------------

    def record(self, record: TransactionRecord) -> None:
        """Store a created transaction (and its typed view)."""
        self.transactions.append(record)
        self.by_txn_id[record.txn_id] = record
        self.objects.setdefault(record.txn_type, {})[record.txn_id] = record.ret

    def replace_txn(self, txn_type: str, ret: Any) -> None:
        """Store a changed transaction's Ret in both views."""
        self.objects.setdefault(txn_type, {})[ret.txn_id] = ret
        old = self.by_txn_id.get(ret.txn_id)
        if old is not None:
            new = attrs.evolve(old, ret=ret, ref_number=getattr(ret, "ref_number", None))
            self.by_txn_id[ret.txn_id] = new
            self.transactions[self.transactions.index(old)] = new

    def remove_txn(self, txn_type: str, txn_id: str) -> None:
        """Forget a deleted transaction in both views."""
        self.objects.get(txn_type, {}).pop(txn_id, None)
        old = self.by_txn_id.pop(txn_id, None)
        if old is not None:
            self.transactions.remove(old)
