"""
``FakeQuickBooks``: an in-memory QuickBooks company file that executes qbXML.

It answers the qbXML the library builds the way QuickBooks Desktop does
(PROTOCOL.md §B.4, §C, §D): it validates each message set against the version
in its ``<?qbxml?>`` line, resolves Refs against its lists, computes amounts,
assigns identifiers, keeps the error-recovery store, carries the Web
Connector's FileID stamp, and can be told to fail in the ways real QuickBooks
fails.  See ``docs/testing.md``.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs
from lxml import etree

from qbwc._xml import parse_untrusted
from qbwc.exceptions import QBXMLValidationError, XMLParseError
from qbwc.qbxml._build import check_version
from qbwc.qbxml._hcp import CompanyInfo, HCPResponse, HostInfo
from qbwc.qbxml._hcp import Preferences as HCPPreferences
from qbwc.qbxml._parse import Response, Severity
from qbwc.qbxml._read import parse_request_set
from qbwc.qbxml._requests import (
    ADD_MODELS,
    EstimateAdd,
    EstimateLineGroupAdd,
    InvoiceAdd,
    InvoiceLineGroupAdd,
)
from qbwc.qbxml._response_build import build_hcp_response, build_response
from qbwc.qbxml._responses import (
    AddressBlock,
    DataExtRet,
    ErrorRecovery,
    EstimateLineGroupRet,
    EstimateLineRet,
    EstimateRet,
    InvoiceLineGroupRet,
    InvoiceLineRet,
    InvoiceRet,
)
from qbwc.qbxml._types import Address, DataExt, Kind, Ref, Version, format_guid, specs
from qbwc.qbxml._xsd import validate as validate_schema
from qbwc.testing._interface import RequestProcessorError
from qbwc.testing._quickbooks_state import (
    AMOUNT_LIMIT,
    PRICE_LIMIT,
    Company,
    CompanyPreferences,
    Customer,
    GroupMember,
    Item,
    ItemKind,
    ListEntry,
    ListKind,
    RecoverySlot,
    TransactionRecord,
    checksum,
    derive_rate,
    line_amount,
    percent_of,
    plausible_id,
    tidy,
    to_cents,
    to_quantity,
)

__all__ = [
    "HRESULT_MESSAGES",
    "FakeQuickBooks",
    "ProcessedRequest",
    "ResponseLost",
]

#: The request processor's texts for the HRESULTs a double can raise (PROTOCOL §A.6).
HRESULT_MESSAGES: Final = {
    "0x80040400": "QuickBooks found an error when parsing the provided XML text stream.",
    "0x80040401": "Could not access QuickBooks.",
    "0x80040402": "Unexpected error. Check the qbsdklog.txt file for possible additional "
    "information.",
    "0x80040403": "Could not open the specified QuickBooks company data file.",
    "0x80040408": "Could not start QuickBooks.",
    "0x8004040A": "QuickBooks company data file is already open and it is different from "
    "the one requested.",
    "0x80040410": "The QuickBooks company data file is currently open in a mode other than "
    "the one specified by your application.",
    "0x80040414": "A modal dialog box is showing in the QuickBooks user interface. Your "
    "application cannot access QuickBooks until the user dismisses the dialog box.",
    "0x80040418": "This application has not accessed this QuickBooks company data file "
    "before. Only the QuickBooks administrator can grant an application permission to "
    "access a QuickBooks company data file for the first time.",
    "0x8004041A": "This application does not have permission to access this QuickBooks "
    "company data file. The QuickBooks administrator can grant access permission through "
    "the Integrated Application preferences.",
    "0x8004041B": "Unable to lock the necessary information to allow this application to "
    "access this company data file. Try again later.",
    "0x8004041D": "This application is not allowed to log into this QuickBooks company data "
    "file automatically. The QuickBooks administrator can grant permission for automatic "
    "login through the Integrated Application preferences.",
    "0x80040420": "The QuickBooks user has denied access.",
    "0x80040422": "This application requires Single User file access mode and there is "
    "already another application sharing data with this QuickBooks company data file.",
    "0x80040423": "The version of qbXML that was requested is not supported or is unknown.",
    "0x80040424": "QuickBooks did not finish its initialization. Please try again later.",
}

_PARSE_ERROR: Final = "0x80040400"
_UNSUPPORTED_VERSION: Final = "0x80040423"
_WRONG_FILE: Final = "0x8004040A"
_BUSY: Final = "0x80040414"
_CLEAR_ALL: Final = "ClearAllMessageSets"
_EXECUTED: Final = frozenset(ADD_MODELS.values())
#: QuickBooks answers messageSetStatusCode 9004 for a longer newMessageSetID.
_MESSAGE_SET_ID_LIMIT: Final = 24
_ERROR_RECOVERY_SINCE: Final = (11, 0)
#: Seconds from 0001-01-01 (.NET ticks' epoch) to 1970-01-01.
_DOTNET_EPOCH_OFFSET: Final = 62_135_596_800
_NOT_FOUND_TAIL: Final = (
    "  QuickBooks error message: Invalid argument.  The specified record does not exist "
    "in the list."
)
_FEATURE_OFF: Final = "This feature is not enabled or not available in this version of QuickBooks."
_MODIFIED: Final = "This list has been modified by another user."
_CLOSED: Final = (
    "An attempt was made to modify a {txn} with a date that is on or before the closing date "
    "of the company.  If you are sure you really want to do this, please ask a supervisor to "
    "change the closing date or set the date of this transaction to be after the closing date."
)

#: Default texts for injected status codes ({txn} is Invoice or Estimate).
_STATUS_TEXTS: Final = {
    1000: "There was an internal error when processing the request.",
    1010: "The system is not available. Try again later.",
    3170: "There was an error when modifying a {txn}.  QuickBooks error message: " + _MODIFIED,
    3175: "There was an error when saving a {txn}.  QuickBooks error message: Cannot "
    "proceed because the internals could not be locked.",
    3176: "There was an error when saving a {txn}.  QuickBooks error message: Failed to "
    "acquire the lock.",
    3180: "There was an error when saving a {txn}.  QuickBooks error message: " + _MODIFIED,
    3250: _FEATURE_OFF,
    3260: "Insufficient permission level to perform this action.",
    3261: "The integrated application has no permission to access personal data.",
}

#: The US qbXML versions QuickBooks 2024 lists in ``SupportedQBXMLVersion``.
_ALL_VERSIONS: Final = (
    "1.0", "1.1", "2.0", "2.1", "3.0", "4.0", "4.1", "5.0", "6.0", "7.0",
    "8.0", "9.0", "10.0", "11.0", "12.0", "13.0", "14.0", "15.0", "16.0",
)  # fmt: skip


def _local_now() -> dt.datetime:
    return dt.datetime.now().astimezone()


def _severity(code: int) -> Severity:
    if 0 <= code < 500:
        return "Info"
    if code < 1000:
        return "Warn"
    return "Error"


def _decimal(value: Decimal | int | str | None, what: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, (float, bool)):
        msg = f"{what}: pass a Decimal, int or str, not {type(value).__name__}"
        raise TypeError(msg)
    try:
        result = Decimal(value)
    except InvalidOperation:
        msg = f"{what}: {value!r} is not a decimal number"
        raise ValueError(msg) from None
    if not result.is_finite():
        msg = f"{what}: {value!r} is not a finite number"
        raise ValueError(msg)
    return result


class ResponseLost(Exception):
    """
    QuickBooks processed the request, but its response never reaches the service.

    Raised by :meth:`FakeQuickBooks.process_request` after
    :meth:`~FakeQuickBooks.lose_next_response`: the write happened (and the
    error-recovery store holds it); *response* is what QuickBooks answered.
    A Web Connector double treats it as a lost ``receiveResponseXML``.
    """

    def __init__(self, response: str) -> None:
        super().__init__("the response to this request was lost on the way back")
        self.response = response


@attrs.frozen(kw_only=True)
class ProcessedRequest:
    """
    One request QuickBooks executed (never a replay from the recovery store).

    ``txn_id`` is set when it created a transaction; ``company_file`` is the
    path of the file it ran against.
    """

    request_id: str | None
    request_type: str
    status_code: int
    status_message: str
    txn_id: str | None
    message_set_id: str | None
    company_file: str


class _Refusal(Exception):
    """A business-rule failure: becomes a status code on the response."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@attrs.frozen
class _Request:
    request_id: str | None
    element: str
    model: InvoiceAdd | EstimateAdd


@attrs.frozen
class _MessageSet:
    version: Version
    on_error: str
    new_id: str | None
    old_id: str | None
    requests: tuple[_Request, ...]
    digest: str
    #: A messageSetStatusCode decided while reading (9004), or None.
    status: int | None = None


@attrs.define
class _Line:
    """One line being computed (a plain line, or a member of a group)."""

    item: Item | None
    quantity: Decimal | None
    rate: Decimal | None
    rate_percent: Decimal | None
    amount: Decimal | None
    markup_rate: Decimal | None = None
    markup_rate_percent: Decimal | None = None
    price_level_percent: Decimal | None = None
    # results
    out_rate: Decimal | None = None
    out_rate_percent: Decimal | None = None
    out_amount: Decimal | None = None
    is_subtotal: bool = False


def compute_lines(lines: Sequence[_Line]) -> None:
    """
    Fill in each line's Rate/RatePercent/Amount the way QuickBooks computes them.

    * ``quantity`` and ``rate`` → ``amount = quantity × rate`` rounded to cents
      (a missing quantity counts as 1; a missing rate is the item's price,
      adjusted by a price level);
    * ``amount`` given → it wins; ``rate = amount / quantity`` (5 decimals), or
      ``rate = amount`` without a quantity (QuickBooks ignores a Rate sent with
      an Amount);
    * a percentage (``rate_percent``, or a percentage item) applies to the line
      directly above that has an amount: a group's total, or a Subtotal item;
    * a Subtotal item adds up the lines above it back to the previous subtotal;
    * discount items always subtract;
    * estimate markup: ``markup_rate`` is added to the rate per unit,
      ``markup_rate_percent`` raises the rate by that percentage.
    """
    previous: Decimal | None = None
    since_subtotal = Decimal(0)
    for line in lines:
        item = line.item
        kind = item.kind if item is not None else None
        if kind is ItemKind.SUBTOTAL:
            line.is_subtotal = True
            line.out_amount = to_cents(since_subtotal)
            previous = line.out_amount
            since_subtotal = Decimal(0)
            continue
        discount = kind is ItemKind.DISCOUNT
        percent = line.rate_percent
        if (
            percent is None
            and line.rate is None
            and line.amount is None
            and item is not None
            and item.percent is not None
        ):
            percent = item.percent
        if line.amount is not None:
            amount = -abs(line.amount) if discount else line.amount
            line.out_amount = amount
            if percent is not None:
                line.out_rate_percent = -abs(percent) if discount else percent
            elif line.quantity is not None:
                line.out_rate = derive_rate(amount, line.quantity)
            else:
                line.out_rate = tidy(amount)
        elif percent is not None:
            percent = -abs(percent) if discount else percent
            line.out_rate_percent = percent
            line.out_amount = percent_of(previous or Decimal(0), percent)
        else:
            rate = line.rate
            if rate is None and item is not None and item.price is not None:
                rate = item.price
                if line.price_level_percent is not None:
                    rate = to_cents(rate + percent_of(rate, line.price_level_percent))
            if rate is None:
                if item is None:
                    continue  # a text line: no amount at all
                rate = Decimal(0)
            if discount:
                rate = -abs(rate)
            unit = rate
            if line.markup_rate is not None:
                unit = rate + line.markup_rate
            elif line.markup_rate_percent is not None:
                unit = rate + rate * line.markup_rate_percent / 100
            quantity = line.quantity if line.quantity is not None else Decimal(1)
            line.out_rate = tidy(rate)
            line.out_amount = line_amount(quantity, unit)
        assert line.out_amount is not None
        previous = line.out_amount
        since_subtotal += line.out_amount


def _address_block(address: Address | None) -> AddressBlock | None:
    if address is None:
        return None
    lines = [
        text
        for text in (address.addr1, address.addr2, address.addr3, address.addr4, address.addr5)
        if text
    ]
    city_line = " ".join(
        part
        for part in (
            f"{address.city},"
            if address.city and (address.state or address.postal_code)
            else address.city,
            address.state,
            address.postal_code,
        )
        if part
    )
    if city_line:
        lines.append(city_line)
    if address.country:
        lines.append(address.country)
    if not lines:
        return None
    padded: list[str | None] = [text[:41] for text in lines[:5]]
    padded += [None] * (5 - len(padded))
    return AddressBlock(
        addr1=padded[0], addr2=padded[1], addr3=padded[2], addr4=padded[3], addr5=padded[4]
    )


def trim_to_version(value: Any, version: Version) -> Any:
    """*value* (a Ret model) without the elements that *version* does not have yet."""
    changes: dict[str, Any] = {}
    for name, spec in specs(type(value)):
        current = getattr(value, name)
        if spec.since > version:
            if current not in (None, ()):
                changes[name] = () if spec.many else None
            continue
        if spec.kind is not Kind.AGG or current is None:
            continue
        if spec.many:
            trimmed = tuple(trim_to_version(v, version) for v in current)
            if any(a is not b for a, b in zip(trimmed, current, strict=True)):
                changes[name] = trimmed
        else:
            trimmed_one = trim_to_version(current, version)
            if trimmed_one is not current:
                changes[name] = trimmed_one
    return attrs.evolve(value, **changes) if changes else value


def _shape(response: Response, request: _Request, version: Version) -> Response:
    """The response as sent: the Ret trimmed to *version* and to ``IncludeRetElement``."""
    if response.ret is None:
        return response
    answer = trim_to_version(response.ret, version)
    if request.model.include_ret_element:
        answer = _only_elements(answer, request.model.include_ret_element)
    return attrs.evolve(response, ret=answer, rets=(answer,))


def _only_elements(ret: Any, wanted: tuple[str, ...]) -> Any:
    """*ret* limited to the top-level elements named in ``IncludeRetElement``."""
    keep = set(wanted)
    changes: dict[str, Any] = {}
    for name, spec in specs(type(ret)):
        if not keep.intersection(spec.tag.split("|")):
            changes[name] = () if spec.many else None
    return attrs.evolve(ret, **changes)


class FakeQuickBooks:
    """
    An in-memory QuickBooks Desktop company file that executes qbXML requests.

    Implements :class:`~qbwc.testing.QuickBooksDouble`.  Seed it with
    :meth:`add_customer`, :meth:`add_item` and friends, or start from
    :meth:`sample`; hand it to a Web Connector double, or call
    :meth:`process_request` directly with a document from
    :func:`~qbwc.qbxml.build_request`.

    Args:
        company_name: ``CompanyName`` in the HCP response.
        company_file: the path QuickBooks reports (default derived from the name).
        qbxml_version: the request processor's qbXML level; ``SupportedQBXMLVersion``
            lists every US version up to it.
        clock: returns the current *timezone-aware* time (TimeCreated, IDs, the
            default TxnDate); defaults to the local time.
        preferences: the company preferences (estimates, class tracking, ...).

    Seeding and introspection (``invoices``, ``estimates``, ``transaction()``,
    ``find()``) concern **this fake's own company file**.  QuickBooks itself
    (:meth:`open`, :meth:`hcp_response`, :meth:`process_request`) works on the
    file that is open now, which is another fake's after :meth:`switch_company`.
    """

    def __init__(
        self,
        *,
        company_name: str = "Sample Company",
        company_file: str | None = None,
        legal_name: str | None = None,
        country: str = "US",
        qbxml_version: str = "16.0",
        product_name: str = "QuickBooks Pro 2024",
        product_version: tuple[int, int] = (34, 0),
        machine_name: str = "FRONT-DESK",
        clock: Callable[[], dt.datetime] = _local_now,
        preferences: CompanyPreferences | None = None,
    ) -> None:
        level = check_version(qbxml_version)[1]
        self._level: Version = level
        self._supported = tuple(v for v in _ALL_VERSIONS if check_version(v)[1] <= level)
        self._country = country
        self._product_name = product_name
        self._product_version = product_version
        self._machine_name = machine_name
        self._clock = clock
        if company_file is None:
            stem = (
                "".join(c for c in company_name if c.isalnum() or c in " -_").strip() or "Company"
            )
            company_file = (
                "C:\\Users\\Public\\Documents\\Intuit\\QuickBooks\\Company Files\\" + stem + ".QBW"
            )
        self._home = Company(
            name=company_name,
            path=company_file,
            legal_name=legal_name,
            preferences=preferences or CompanyPreferences(),
            now=self._now(),
        )
        self._open_company = self._home
        self._application: str | None = None
        self._lock = threading.RLock()
        self._history: list[ProcessedRequest] = []
        self._replays = 0
        self._fail_next: deque[tuple[int, str | None]] = deque()
        self._open_faults: deque[tuple[str, str]] = deque()
        self._call_faults: deque[tuple[str, str]] = deque()
        self._lose_next = 0

    # --- construction -------------------------------------------------------------

    @classmethod
    def sample(cls, **kwargs: Any) -> FakeQuickBooks:
        """
        A realistic small company: "Larkspur Landscaping" with customers and jobs,
        service and product items, a discount, a subtotal, a group item, a 7.25 %
        sales tax, classes, terms, a sales rep and a price level.

        Keyword arguments go to the constructor (``clock=...``, ``qbxml_version=...``).
        """
        kwargs.setdefault("company_name", "Larkspur Landscaping")
        kwargs.setdefault(
            "preferences",
            CompanyPreferences(
                is_using_class_tracking=True,
                is_using_price_levels=True,
                default_item_sales_tax="CA Sales Tax",
            ),
        )
        qb = cls(**kwargs)
        qb.add_terms("Net 30", days_due=30)
        qb.add_terms("Net 15", days_due=15)
        qb.add_terms("Due on receipt", days_due=0)
        qb.add_sales_rep("JS")
        qb.add_class("Residential")
        qb.add_class("Commercial")
        qb.add_class("Commercial:Maintenance")
        qb.add_price_level("Preferred", percent=-10)
        qb.add_list_entry("CustomerMsg", "Thank you for your business.")
        qb.add_list_entry("ShipMethod", "UPS")
        qb.add_item("CA Sales Tax", kind="SalesTax", percent="7.25")
        qb.add_item("Consulting", price="150.00", description="Landscape design consulting")
        qb.add_item("Installation", price="95.00", description="Installation labor")
        qb.add_item("Maintenance", price="60.00", description="Monthly maintenance visit")
        qb.add_item("Mulch", kind="NonInventory", price="4.50", description="Bark mulch, per bag")
        qb.add_item("Plants", kind="Inventory", price="12.99", description="Shrubs, 1 gallon")
        qb.add_item("Delivery", kind="OtherCharge", price="25.00", description="Delivery charge")
        qb.add_item("Discount 10%", kind="Discount", percent=10, description="10% discount")
        qb.add_item("Subtotal", kind="Subtotal", description="Subtotal")
        qb.add_item(
            "Planting Package",
            kind="Group",
            description="Planting package",
            members=[("Plants", 10), ("Mulch", 5), ("Installation", 2)],
            print_items_in_group=True,
        )
        address = Address(addr1="Acme Corp", addr2="100 Main St", city="Bayshore", state="CA",
                          postal_code="94326")  # fmt: skip
        qb.add_customer("Acme Corp", bill_address=address, terms="Net 30", email="ap@acme.test")
        qb.add_customer("Acme Corp:Job 7")
        qb.add_customer("Baker Residence", sales_tax_code="Non", terms="Due on receipt")
        qb.add_customer("Cole Properties", terms="Net 15", sales_rep="JS", price_level="Preferred")
        return qb

    # --- seeding ------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            msg = "FakeQuickBooks clock: returned a naive datetime; it must be timezone-aware"
            raise ValueError(msg)
        return now.replace(microsecond=0)

    def _entry_id(self, kind: ListKind, full_name: str | None, what: str) -> str | None:
        if full_name is None:
            return None
        entry = self._home.by_name(kind, full_name)
        if entry is None:
            msg = f"{what}: no {kind.value} named {full_name!r}; add it first"
            raise ValueError(msg)
        return entry.list_id

    def add_customer(
        self,
        full_name: str,
        *,
        bill_address: Address | None = None,
        ship_address: Address | None = None,
        email: str | None = None,
        terms: str | None = None,
        sales_rep: str | None = None,
        sales_tax_code: str | None = None,
        item_sales_tax: str | None = None,
        price_level: str | None = None,
        is_active: bool = True,
    ) -> Customer:
        """
        Add a customer, or a job with ``"Parent:Job"`` (the parent must exist).

        *terms*, *sales_rep*, *sales_tax_code*, *item_sales_tax* and
        *price_level* name existing list entries; QuickBooks uses them as the
        defaults of the customer's transactions.

        Raises:
            ValueError: a name rule is broken or a named entry does not exist.
        """
        with self._lock:
            company = self._home
            parent_id, name = company.split_name(ListKind.CUSTOMER, full_name)
            parent = company.get(ListKind.CUSTOMER, parent_id)
            if isinstance(parent, Customer):
                # A new job starts with its customer's addresses and defaults.
                bill_address = bill_address or parent.bill_address
                ship_address = ship_address or parent.ship_address
                email = email or parent.email
            customer = Customer(
                list_id=company.new_list_id(self._now()),
                name=name,
                full_name=full_name,
                parent_id=parent_id,
                is_active=is_active,
                bill_address=bill_address,
                ship_address=ship_address,
                email=email,
                terms_id=self._entry_id(ListKind.TERMS, terms, "terms")
                or _inherit(parent, "terms_id"),
                sales_rep_id=self._entry_id(ListKind.SALES_REP, sales_rep, "sales_rep")
                or _inherit(parent, "sales_rep_id"),
                sales_tax_code_id=self._entry_id(
                    ListKind.SALES_TAX_CODE, sales_tax_code, "sales_tax_code"
                )
                or _inherit(parent, "sales_tax_code_id"),
                item_sales_tax_id=self._entry_id(ListKind.ITEM, item_sales_tax, "item_sales_tax")
                or _inherit(parent, "item_sales_tax_id"),
                price_level_id=self._entry_id(ListKind.PRICE_LEVEL, price_level, "price_level")
                or _inherit(parent, "price_level_id"),
            )
            company.add(customer, ListKind.CUSTOMER)
            return customer

    def add_item(
        self,
        full_name: str,
        *,
        kind: ItemKind | str = ItemKind.SERVICE,
        price: Decimal | int | str | None = None,
        percent: Decimal | int | str | None = None,
        description: str | None = None,
        taxable: bool | None = None,
        members: Iterable[tuple[str, Decimal | int | str]] = (),
        print_items_in_group: bool = False,
        is_active: bool = True,
    ) -> Item:
        """
        Add an item.

        *kind* is an :class:`ItemKind` or its value (``"Service"``,
        ``"NonInventory"``, ``"Inventory"``, ``"OtherCharge"``, ``"Discount"``,
        ``"Subtotal"``, ``"SalesTax"``, ``"Group"``).  *price* is the sales
        price; *percent* makes a discount, other-charge or sales-tax item a
        percentage (a discount of ``10`` takes 10 % off).  *taxable* picks
        the item's sales-tax code (default: products ``Tax``, the rest ``Non``).
        A group lists its *members* as ``(item name, quantity)`` pairs.

        Raises:
            ValueError: a name rule is broken, a member does not exist, or the
                arguments do not fit the kind.
        """
        item_kind = kind if isinstance(kind, ItemKind) else ItemKind(kind)
        price_value = _decimal(price, "price")
        percent_value = _decimal(percent, "percent")
        if percent_value is not None and item_kind not in (
            ItemKind.DISCOUNT,
            ItemKind.OTHER_CHARGE,
            ItemKind.SALES_TAX,
        ):
            msg = (
                "percent: only discount, other-charge and sales-tax items are percentages, "
                f"not {item_kind.value}"
            )
            raise ValueError(msg)
        if price_value is not None and percent_value is not None:
            msg = "give price or percent, not both"
            raise ValueError(msg)
        if item_kind is ItemKind.DISCOUNT:
            price_value = None if price_value is None else -abs(price_value)
            percent_value = None if percent_value is None else -abs(percent_value)
        member_list = tuple(members)
        if member_list and item_kind is not ItemKind.GROUP:
            msg = "members: only a group item has members"
            raise ValueError(msg)
        with self._lock:
            company = self._home
            resolved: list[GroupMember] = []
            for member_name, quantity in member_list:
                member = company.by_name(ListKind.ITEM, member_name)
                if member is None:
                    msg = f"members: no item named {member_name!r}; add it first"
                    raise ValueError(msg)
                if isinstance(member, Item) and member.kind is ItemKind.GROUP:
                    msg = f"members: {member_name!r} is a group; groups cannot contain groups"
                    raise ValueError(msg)
                qty = _decimal(quantity, "members quantity")
                assert qty is not None
                resolved.append(GroupMember(item_id=member.list_id, quantity=qty))
            parent_id, name = company.split_name(ListKind.ITEM, full_name)
            if taxable is None:
                taxable = item_kind in (ItemKind.INVENTORY, ItemKind.NON_INVENTORY)
            code = company.by_name(ListKind.SALES_TAX_CODE, "Tax" if taxable else "Non")
            no_code = item_kind in (ItemKind.SUBTOTAL, ItemKind.SALES_TAX, ItemKind.GROUP)
            item = Item(
                list_id=company.new_list_id(self._now()),
                name=name,
                full_name=full_name,
                kind=item_kind,
                parent_id=parent_id,
                is_active=is_active,
                description=description,
                price=price_value,
                percent=percent_value,
                sales_tax_code_id=None if no_code or code is None else code.list_id,
                members=tuple(resolved),
                print_items_in_group=print_items_in_group,
            )
            company.add(item, ListKind.ITEM)
            return item

    def add_list_entry(
        self,
        kind: ListKind | str,
        full_name: str,
        *,
        days_due: int | None = None,
        percent: Decimal | int | str | None = None,
        taxable: bool | None = None,
    ) -> ListEntry:
        """
        Add an entry to a simple list: *kind* is a :class:`ListKind` or its value
        (``"Class"``, ``"Terms"``, ``"SalesRep"``, ``"Template"``,
        ``"SalesTaxCode"``, ``"CustomerMsg"``, ``"ShipMethod"``, ``"Account"``,
        ``"PriceLevel"``).

        Raises:
            ValueError: a name rule is broken, or *kind* is Customer/Item (use
                :meth:`add_customer` / :meth:`add_item`).
        """
        list_kind = kind if isinstance(kind, ListKind) else ListKind(kind)
        if list_kind in (ListKind.CUSTOMER, ListKind.ITEM):
            method = "add_customer" if list_kind is ListKind.CUSTOMER else "add_item"
            msg = f"use {method}() for {list_kind.value}"
            raise ValueError(msg)
        with self._lock:
            company = self._home
            parent_id, name = company.split_name(list_kind, full_name)
            entry = ListEntry(
                kind=list_kind,
                list_id=company.new_list_id(self._now()),
                name=name,
                full_name=full_name,
                parent_id=parent_id,
                days_due=days_due,
                percent=_decimal(percent, "percent"),
                taxable=taxable,
            )
            company.add(entry, list_kind)
            return entry

    def add_class(self, full_name: str) -> ListEntry:
        """Add a class (``"Parent:Child"`` for a subclass)."""
        return self.add_list_entry(ListKind.CLASS, full_name)

    def add_terms(self, name: str, *, days_due: int = 30) -> ListEntry:
        """Add standard terms: invoices are due *days_due* days after their date."""
        return self.add_list_entry(ListKind.TERMS, name, days_due=days_due)

    def add_sales_rep(self, initials: str) -> ListEntry:
        """Add a sales rep (QuickBooks refers to them by initials, at most 5 characters)."""
        return self.add_list_entry(ListKind.SALES_REP, initials)

    def add_sales_tax_code(self, name: str, *, taxable: bool) -> ListEntry:
        """Add a sales-tax code (``Tax`` and ``Non`` exist in every company file)."""
        return self.add_list_entry(ListKind.SALES_TAX_CODE, name, taxable=taxable)

    def add_price_level(self, name: str, *, percent: Decimal | int | str) -> ListEntry:
        """Add a fixed-percentage price level (``-10`` sells 10 % below the item price)."""
        return self.add_list_entry(ListKind.PRICE_LEVEL, name, percent=percent)

    def set_preferences(self, **changes: Any) -> None:
        """Change company preferences, e.g. ``set_preferences(is_using_estimates=False)``."""
        with self._lock:
            self._home.preferences = attrs.evolve(self._home.preferences, **changes)

    # --- introspection -------------------------------------------------------------

    @property
    def company_name(self) -> str:
        """The name of this fake's own company file."""
        return self._home.name

    @property
    def preferences(self) -> CompanyPreferences:
        """This company file's preferences."""
        return self._home.preferences

    def customer(self, full_name: str) -> Customer:
        """The customer or job named *full_name* (case-insensitive); KeyError if none."""
        entry = self._home.by_name(ListKind.CUSTOMER, full_name)
        if not isinstance(entry, Customer):
            raise KeyError(full_name)
        return entry

    def item(self, full_name: str) -> Item:
        """The item named *full_name* (case-insensitive); KeyError if none."""
        entry = self._home.by_name(ListKind.ITEM, full_name)
        if not isinstance(entry, Item):
            raise KeyError(full_name)
        return entry

    def list_entry(self, kind: ListKind | str, full_name: str) -> ListEntry:
        """The simple-list entry named *full_name* in *kind*; KeyError if none."""
        list_kind = kind if isinstance(kind, ListKind) else ListKind(kind)
        entry = self._home.by_name(list_kind, full_name)
        if not isinstance(entry, ListEntry):
            raise KeyError(full_name)
        return entry

    @property
    def invoices(self) -> tuple[InvoiceRet, ...]:
        """Every invoice created in this company file, in order (full Rets)."""
        return tuple(r.ret for r in self._home.transactions if r.txn_type == "Invoice")

    @property
    def estimates(self) -> tuple[EstimateRet, ...]:
        """Every estimate created in this company file, in order (full Rets)."""
        return tuple(r.ret for r in self._home.transactions if r.txn_type == "Estimate")

    @property
    def transactions(self) -> tuple[TransactionRecord, ...]:
        """Every transaction created in this company file, in order."""
        return tuple(self._home.transactions)

    def transaction(self, txn_id: str) -> InvoiceRet | EstimateRet:
        """The invoice or estimate with *txn_id*; KeyError if none."""
        ret: InvoiceRet | EstimateRet = self._home.by_txn_id[txn_id].ret
        return ret

    def find(
        self, ref_number: str, *, txn_type: str | None = None
    ) -> tuple[InvoiceRet | EstimateRet, ...]:
        """
        Every transaction with this RefNumber (QuickBooks does not enforce unique
        numbers through the SDK), optionally only ``"Invoice"`` or ``"Estimate"``.
        """
        return tuple(
            r.ret
            for r in self._home.transactions
            if r.ref_number == ref_number and (txn_type is None or r.txn_type == txn_type)
        )

    @property
    def history(self) -> tuple[ProcessedRequest, ...]:
        """Every request QuickBooks executed, in order (replays excluded)."""
        return tuple(self._history)

    @property
    def requests_processed(self) -> int:
        """How many requests were executed (failures included, replays excluded)."""
        return len(self._history)

    @property
    def replays(self) -> int:
        """How many message sets were answered from the error-recovery store."""
        return self._replays

    @property
    def pending_faults(self) -> int:
        """Injected faults that have not fired yet."""
        return (
            len(self._fail_next) + len(self._open_faults) + len(self._call_faults) + self._lose_next
        )

    def file_id(self, owner_id: uuid.UUID | str) -> uuid.UUID | None:
        """The FileID stamped into this company file under *owner_id*, or None."""
        value = self._home.data_ext.get(_guid(owner_id), {}).get("FileID")
        return None if value is None else uuid.UUID(value)

    # --- QuickBooksDouble ------------------------------------------------------------

    @property
    def company_file(self) -> str:
        """Full path of the company file open now."""
        return self._open_company.path

    @property
    def country(self) -> str:
        """The edition's country code (``US``)."""
        return self._country

    @property
    def qbxml_version(self) -> tuple[int, int]:
        """The request processor's qbXML level, e.g. ``(16, 0)``."""
        return self._level

    @property
    def supported_versions(self) -> tuple[str, ...]:
        """``SupportedQBXMLVersion`` as the HCP response lists it."""
        return self._supported

    def open(self, company_file: str) -> None:
        """
        Open a connection to *company_file* (``""`` = the file open now).

        QuickBooks is always running with one file open: asking for another
        path raises 0x8004040A, as the real request processor does.

        Raises:
            RequestProcessorError: an injected fault (:meth:`busy`,
                :meth:`fail_open`), or a different file was asked for.
        """
        with self._lock:
            if self._open_faults:
                hresult, message = self._open_faults.popleft()
                raise RequestProcessorError(hresult, message)
            if company_file and company_file.casefold() != self._open_company.path.casefold():
                raise RequestProcessorError(_WRONG_FILE, HRESULT_MESSAGES[_WRONG_FILE])

    def register_application(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> None:
        """
        Stamp *file_id* under *owner_id* into the open company file.

        Re-registering the same pair does nothing.

        Raises:
            RequestProcessorError: ``QBWC1039``, the file already carries a
                different FileID for *owner_id*.
        """
        with self._lock:
            stamps = self._open_company.data_ext.setdefault(_guid(owner_id), {})
            existing = stamps.get("FileID")
            wanted = _guid(file_id)
            if existing is not None and existing != wanted:
                raise RequestProcessorError("QBWC1039", "Unique OwnerID/FileID pair value required")
            stamps["FileID"] = wanted

    def hcp_response(self, owner_id: uuid.UUID) -> str:
        """
        The strHCPResponse for the open company file (HostQueryRs, CompanyQueryRs,
        PreferencesQueryRs), with *owner_id*'s FileID and AppLock DataExts.

        It also makes *owner_id* the current application, whose error-recovery
        slot :meth:`process_request` uses until the next ``hcp_response``.
        """
        with self._lock:
            self._application = _guid(owner_id)
            return self._build_hcp(self._open_company, owner_id)

    def process_request(self, qbxml: str, *, application: uuid.UUID | None = None) -> str:
        """
        Run one qbXML message set against the open company file; return the response.

        *application* names the OwnerID whose error-recovery slot is used;
        by default the one of the last :meth:`hcp_response` (or a shared slot
        when there was none).

        Raises:
            RequestProcessorError: the document cannot be parsed or validated
                (0x80040400), its version is not supported (0x80040423), or an
                injected fault (:meth:`fail_processing`).
            ResponseLost: after :meth:`lose_next_response`; the request was processed.
            NotImplementedError: a request type the fake does not execute.
        """
        with self._lock:
            if self._call_faults:
                hresult, message = self._call_faults.popleft()
                raise RequestProcessorError(hresult, message)
            app = _guid(application) if application is not None else self._application
            message_set = self._read(qbxml)
            response = self._run(message_set, self._open_company, app).decode("utf-8")
            if self._lose_next:
                self._lose_next -= 1
                raise ResponseLost(response)
            return response

    # --- fault injection ------------------------------------------------------------

    def fail_next(self, status_code: int = 3180, message: str | None = None) -> None:
        """
        Give the next executed request *status_code* instead of its real outcome.

        An error code (1000 and up) means the request is not executed; a
        warning (500-999) lets it run and carries the warning.  The default
        message is QuickBooks' text for the code.  Calls queue up.
        """
        if type(status_code) is not int or status_code <= 0:
            msg = f"status_code: expected a positive int, got {status_code!r}"
            raise ValueError(msg)
        with self._lock:
            self._fail_next.append((status_code, message))

    def busy(self, times: int = 1) -> None:
        """
        Make the next *times* :meth:`open` calls fail as if a dialog were open in
        QuickBooks (HRESULT 0x80040414, a transient condition).
        """
        for _ in range(times):
            self.fail_open(_BUSY)

    def fail_open(self, hresult: str = "0x80040408", message: str | None = None) -> None:
        """Make the next :meth:`open` raise RequestProcessorError(*hresult*)."""
        with self._lock:
            self._open_faults.append((hresult, message or HRESULT_MESSAGES.get(hresult, hresult)))

    def fail_processing(self, hresult: str = "0x80040402", message: str | None = None) -> None:
        """Make the next :meth:`process_request` raise RequestProcessorError without running."""
        with self._lock:
            self._call_faults.append((hresult, message or HRESULT_MESSAGES.get(hresult, hresult)))

    def lose_next_response(self) -> None:
        """
        Process the next message set normally, then raise :class:`ResponseLost`
        instead of returning its response (the write stays in the company file).
        """
        with self._lock:
            self._lose_next += 1

    def switch_company(self, other: FakeQuickBooks | None) -> None:
        """
        Open *other*'s company file in this QuickBooks (``None``: this fake's own again).

        From now on :attr:`company_file`, :meth:`hcp_response` and
        :meth:`process_request` use that file; its writes show in *other*'s
        ``invoices``/``estimates``.
        """
        with self._lock:
            self._open_company = self._home if other is None else other._home

    # --- reading the request ---------------------------------------------------------

    def _read(self, qbxml: str) -> _MessageSet:
        """
        Check a request document the way the request processor does, before
        anything runs: well-formed, a supported ``<?qbxml?>`` version, and
        valid at that version (schema order, no element newer than the
        version, lengths, choices, ...).  Any failure is 0x80040400 for the
        whole set.
        """

        def parse_error(detail: str) -> RequestProcessorError:
            error = RequestProcessorError(_PARSE_ERROR, HRESULT_MESSAGES[_PARSE_ERROR])
            error.add_note(f"FakeQuickBooks: {detail}")  # for people reading a failed test
            return error

        try:
            root = parse_untrusted(qbxml, what="qbXML request")
        except XMLParseError as exc:
            raise parse_error(str(exc)) from None
        version_text = None
        for sibling in root.itersiblings(preceding=True):
            if isinstance(sibling, etree._ProcessingInstruction) and sibling.target == "qbxml":
                version_text = sibling.get("version")
        if version_text is None:
            raise parse_error('no <?qbxml version="..."?> processing instruction')
        if version_text not in self._supported:
            raise RequestProcessorError(
                _UNSUPPORTED_VERSION, HRESULT_MESSAGES[_UNSUPPORTED_VERSION]
            )
        msgs = root.find("QBXMLMsgsRq")
        if msgs is not None:
            for child in msgs:
                tag = child.tag
                if isinstance(tag, str) and tag.endswith("Rq") and tag not in _EXECUTED:
                    msg = f"FakeQuickBooks executes InvoiceAddRq and EstimateAddRq only, not {tag}"
                    raise NotImplementedError(msg)
            new_id = msgs.get("newMessageSetID")
            if new_id is not None and len(new_id) > _MESSAGE_SET_ID_LIMIT:
                return _MessageSet(
                    version=check_version(version_text)[1],
                    on_error=msgs.get("onError") or "",
                    new_id=new_id,
                    old_id=msgs.get("oldMessageSetID"),
                    requests=(),
                    digest="",
                    status=9004,
                )
        try:
            validate_schema(root)  # our schema: structure, order, types
            request_set = parse_request_set(qbxml)  # our rules, at the declared version
        except (QBXMLValidationError, XMLParseError) as exc:
            raise parse_error(str(exc)) from None
        assert msgs is not None
        requests = tuple(
            _Request(request_id, ADD_MODELS[type(model)], model)
            for request_id, model in request_set.requests
        )
        content = [request_set.version.encode(), request_set.on_error.encode()]
        content.extend(etree.tostring(child, method="c14n") for child in msgs)
        return _MessageSet(
            version=check_version(request_set.version)[1],
            on_error=request_set.on_error,
            new_id=request_set.message_set_id,
            old_id=request_set.old_message_set_id,
            requests=requests,
            digest=checksum(content),
        )

    # --- running a message set ---------------------------------------------------------

    def _run(self, ms: _MessageSet, company: Company, app: str | None) -> bytes:
        # Error recovery, PROTOCOL §C.3.  One slot per application (OwnerID)
        # and company file: QuickBooks keeps the last recovery-enabled set.
        slot = company.recovery.get(app)
        if ms.status is not None:
            return build_response([], message_set_id=ms.new_id, message_set_status_code=ms.status)
        if ms.old_id is not None and not ms.requests:
            if ms.old_id == _CLEAR_ALL:
                company.recovery.pop(app, None)
                return build_response([])
            if slot is not None and slot.message_set_id == ms.old_id:
                if ms.new_id is None:
                    del company.recovery[app]
                    return build_response([])
                return self._replay(slot, ms.version)
            return build_response([], message_set_id=ms.new_id, message_set_status_code=600)
        if (
            ms.old_id is not None
            and slot is not None
            and ms.old_id in (slot.message_set_id, _CLEAR_ALL)
        ):
            del company.recovery[app]
            slot = None
        if ms.new_id is not None and slot is not None and slot.message_set_id == ms.new_id:
            if slot.checksum == ms.digest:
                return self._replay(slot, ms.version)
            return build_response([], message_set_id=ms.new_id, message_set_status_code=9001)
        responses: list[Response] = []  # with the full Rets, as stored
        answers: list[Response] = []  # as sent: at the request's version
        for request in ms.requests:
            response = self._execute(request, ms, company)
            responses.append(response)
            answers.append(_shape(response, request, ms.version))
            if ms.on_error == "stopOnError" and not response.ok:
                break
        if ms.new_id is not None and ms.requests:
            company.recovery[app] = RecoverySlot(
                message_set_id=ms.new_id,
                checksum=ms.digest,
                version=ms.version,
                responses=tuple(responses),
            )
        return build_response(answers, message_set_id=ms.new_id)

    def _replay(self, slot: RecoverySlot, version: Version) -> bytes:
        # QuickBooks keeps each request's status and the identity of what it
        # created, not the whole Ret: a recovered add answers with its status
        # and (qbXML 11.0+) an ErrorRecovery aggregate.
        self._replays += 1
        replayed = []
        for response in slot.responses:
            recovery = None
            if response.ret is not None and version >= _ERROR_RECOVERY_SINCE:
                ret = response.ret
                recovery = ErrorRecovery(
                    txn_id=ret.txn_id,
                    txn_number=ret.txn_number,
                    edit_sequence=ret.edit_sequence,
                    external_guid=ret.external_guid,
                )
            replayed.append(attrs.evolve(response, ret=None, rets=(), error_recovery=recovery))
        return build_response(replayed, message_set_id=slot.message_set_id)

    def _execute(self, request: _Request, ms: _MessageSet, company: Company) -> Response:
        txn_type = "Invoice" if isinstance(request.model, InvoiceAdd) else "Estimate"
        name = request.element[:-2] + "Rs"
        injected = self._fail_next.popleft() if self._fail_next else None
        ret: InvoiceRet | EstimateRet | None = None
        if injected is not None and injected[0] >= 1000:
            code, message = (
                injected[0],
                injected[1]
                or _STATUS_TEXTS.get(
                    injected[0], f"Status {injected[0]} (injected by FakeQuickBooks.fail_next)."
                ).format(txn=txn_type),
            )
        else:
            try:
                ret = self._create(request.model, company)
            except _Refusal as refusal:
                code, message = refusal.code, refusal.message
            else:
                code, message = 0, "Status OK"
                if injected is not None:
                    code = injected[0]
                    message = (
                        injected[1] or f"Status {code} (injected by FakeQuickBooks.fail_next)."
                    )
        self._history.append(
            ProcessedRequest(
                request_id=request.request_id,
                request_type=request.element,
                status_code=code,
                status_message=message,
                txn_id=None if ret is None else ret.txn_id,
                message_set_id=ms.new_id,
                company_file=company.path,
            )
        )
        return Response(
            name=name,
            request_id=request.request_id,
            status_code=code,
            status_severity=_severity(code),
            status_message=message,
            ret=ret,
        )

    # --- creating a transaction -------------------------------------------------------

    def _create(
        self, model: InvoiceAdd | EstimateAdd, company: Company
    ) -> InvoiceRet | EstimateRet:
        return _Creation(company, model, self._now()).run()

    # --- HCP ----------------------------------------------------------------------------

    def _build_hcp(self, company: Company, owner_id: uuid.UUID) -> str:
        owner = _guid(owner_id)
        stamps = company.data_ext.get(owner, {})
        data_ext: list[DataExtRet] = []
        if "FileID" in stamps:
            # The Web Connector locks the file for its session: "LOCKED:<machine>:<.NET ticks>".
            ticks = (int(self._now().timestamp()) + _DOTNET_EPOCH_OFFSET) * 10_000_000
            data_ext.append(
                DataExtRet(
                    owner_id=owner,
                    data_ext_name="AppLock",
                    data_ext_type="STR255TYPE",
                    data_ext_value=f"LOCKED:{self._machine_name}:{ticks}",
                )
            )
        data_ext.extend(
            DataExtRet(
                owner_id=owner, data_ext_name=name, data_ext_type="STR255TYPE", data_ext_value=value
            )
            for name, value in stamps.items()
        )
        prefs = company.preferences
        hcp = HCPResponse(
            host=HostInfo(
                product_name=self._product_name,
                major_version=str(self._product_version[0]),
                minor_version=str(self._product_version[1]),
                country=self._country,
                supported_qbxml_versions=self._supported,
                is_automatic_login=True,
                qb_file_mode="SingleUser",
            ),
            company=CompanyInfo(
                is_sample_company=False,
                company_name=company.name,
                legal_company_name=company.legal_name,
                data_ext_rets=tuple(data_ext),
            ),
            preferences=HCPPreferences(
                is_using_class_tracking=prefs.is_using_class_tracking,
                closing_date=prefs.closing_date,
                is_using_estimates=prefs.is_using_estimates,
                is_using_progress_invoicing=prefs.is_using_progress_invoicing,
                is_multicurrency_on=prefs.is_multicurrency_on,
                is_using_price_levels=prefs.is_using_price_levels,
                is_automatic_login_allowed=True,
                is_personal_data_access_allowed=False,
            ),
        )
        return build_hcp_response(hcp)


def _inherit(parent: object, attribute: str) -> str | None:
    value = getattr(parent, attribute, None) if isinstance(parent, Customer) else None
    assert value is None or isinstance(value, str)
    return value


def _guid(value: uuid.UUID | str) -> str:
    """The braced upper-case form QuickBooks stores GUIDs in."""
    if isinstance(value, str):
        value = uuid.UUID(value)
    return format_guid(value)


class _Creation:
    """Build the Ret of one InvoiceAdd/EstimateAdd, or raise :class:`_Refusal`."""

    def __init__(self, company: Company, model: InvoiceAdd | EstimateAdd, now: dt.datetime) -> None:
        self.company = company
        self.model = model
        self.now = now
        self.invoice = isinstance(model, InvoiceAdd)
        self.txn_type = "Invoice" if self.invoice else "Estimate"
        self.prefs = company.preferences

    # -- refusals --

    def feature_off(self) -> _Refusal:
        return _Refusal(3250, _FEATURE_OFF)

    def resolve(self, kind: ListKind, ref: Ref | None, *, line: bool = False) -> Any:
        """The list object *ref* names, or a 3000/3140 refusal; None for no ref."""
        if ref is None:
            return None
        if ref.list_id is not None and not plausible_id(ref.list_id):
            message = f'The given object ID "{ref.list_id}" in the field "list id" is invalid.'
            raise _Refusal(3000, message)
        entry = self.company.find(kind, ref)
        if entry is None:
            shown = ref.list_id if ref.list_id is not None else ref.full_name
            where = f"{self.txn_type} line" if line else self.txn_type
            message = (
                f'There is an invalid reference to QuickBooks {kind.value} "{shown}" '
                f"in the {where}.{_NOT_FOUND_TAIL}"
            )
            raise _Refusal(3140, message)
        return entry

    def item(self, ref: Ref | None, *, group: bool = False) -> Item | None:
        entry = self.resolve(ListKind.ITEM, ref, line=True)
        if entry is None:
            return None
        assert isinstance(entry, Item)
        if group != (entry.kind is ItemKind.GROUP):
            shown = ref.list_id if ref and ref.list_id else (ref.full_name if ref else "")
            noun = "ItemGroup" if group else "Item"
            message = (
                f'There is an invalid reference to QuickBooks {noun} "{shown}" '
                f"in the {self.txn_type} line.{_NOT_FOUND_TAIL}"
            )
            raise _Refusal(3140, message)
        return entry

    def entry(self, kind: ListKind, list_id: str | None) -> ListEntry | None:
        """A simple-list entry by ListID (a customer's or item's default)."""
        entry = self.company.get(kind, list_id)
        assert entry is None or isinstance(entry, ListEntry)
        return entry

    def unknown_txn(self, txn_id: str | None) -> _Refusal:
        return _Refusal(3120, f'Object "{txn_id}" specified in the request cannot be found.')

    # -- the whole transaction --

    def run(self) -> InvoiceRet | EstimateRet:
        model = self.model
        if not self.invoice and not self.prefs.is_using_estimates:
            raise self.feature_off()
        if model.class_ref is not None and not self.prefs.is_using_class_tracking:
            raise self.feature_off()
        if model.exchange_rate is not None and not self.prefs.is_multicurrency_on:
            raise self.feature_off()
        customer = self.resolve(ListKind.CUSTOMER, model.customer_ref)
        assert isinstance(customer, Customer)
        header_class = self.resolve(ListKind.CLASS, model.class_ref)
        template = self.resolve(ListKind.TEMPLATE, model.template_ref) or self.company.by_name(
            ListKind.TEMPLATE, "Intuit Service Invoice" if self.invoice else "Custom Estimate"
        )
        terms = self.resolve(ListKind.TERMS, model.terms_ref) or self.entry(
            ListKind.TERMS, customer.terms_id
        )
        sales_rep = self.resolve(ListKind.SALES_REP, model.sales_rep_ref) or self.entry(
            ListKind.SALES_REP, customer.sales_rep_id
        )
        customer_msg = self.resolve(ListKind.CUSTOMER_MSG, model.customer_msg_ref)
        tax_code = self.resolve(
            ListKind.SALES_TAX_CODE, model.customer_sales_tax_code_ref
        ) or self.entry(ListKind.SALES_TAX_CODE, customer.sales_tax_code_id)
        tax_item = self.sales_tax_item(customer)
        price_level = self.entry(ListKind.PRICE_LEVEL, customer.price_level_id)
        extra: dict[str, Any] = {}
        if isinstance(model, InvoiceAdd):
            ar_account = self.resolve(ListKind.ACCOUNT, model.ar_account_ref) or (
                self.company.by_name(ListKind.ACCOUNT, "Accounts Receivable")
            )
            ship_method = self.resolve(ListKind.SHIP_METHOD, model.ship_method_ref)
            for txn_id in model.link_to_txn_id:
                raise self.unknown_txn(txn_id)
            for credit in model.set_credit:
                raise self.unknown_txn(credit.credit_txn_id)
            extra = {
                "ar_account_ref": _ref(ar_account),
                "is_pending": bool(model.is_pending),
                "is_finance_charge": bool(model.is_finance_charge),
                "ship_date": model.ship_date,
                "ship_method_ref": _ref(ship_method),
                "is_to_be_printed": bool(model.is_to_be_printed),
            }
        else:
            extra = {"is_active": True if model.is_active is None else model.is_active}

        txn_id = self.company.new_txn_id(self.now)
        lines_out, totals = self.lines(header_class, price_level)
        subtotal, taxable = totals
        percentage = (
            Decimal(0) if tax_item is None or tax_item.percent is None else tax_item.percent
        )
        customer_taxable = tax_code is None or tax_code.taxable is not False
        sales_tax = percent_of(taxable, percentage) if customer_taxable else Decimal("0.00")
        total = to_cents(subtotal + sales_tax)
        for tag, value in (("Subtotal", subtotal), ("SalesTaxTotal", sales_tax), ("Total", total)):
            _check_amount(tag, value)

        txn_date = model.txn_date or self.now.date()
        closing = self.prefs.closing_date
        if closing is not None and txn_date <= closing:
            raise _Refusal(3171, _CLOSED.format(txn=self.txn_type))
        due_date = model.due_date
        if due_date is None and self.invoice:
            days = terms.days_due if terms is not None and terms.days_due is not None else 0
            due_date = txn_date + dt.timedelta(days=days)
        ref_number = model.ref_number
        if ref_number is None:
            ref_number = self.company.next_ref_number(self.txn_type)
        bill_address = model.bill_address or customer.bill_address
        ship_address = model.ship_address or customer.ship_address
        self.company.txn_number += 1
        common: dict[str, Any] = {
            "txn_id": txn_id,
            "time_created": self.now,
            "time_modified": self.now,
            "edit_sequence": str(int(self.now.timestamp())),
            "txn_number": self.company.txn_number,
            "customer_ref": _ref(customer),
            "class_ref": _ref(header_class),
            "template_ref": _ref(template),
            "txn_date": txn_date,
            "ref_number": ref_number,
            "bill_address": bill_address,
            "bill_address_block": _address_block(bill_address),
            "ship_address": ship_address,
            "ship_address_block": _address_block(ship_address),
            "po_number": model.po_number,
            "terms_ref": _ref(terms),
            "due_date": due_date,
            "sales_rep_ref": _ref(sales_rep),
            "fob": model.fob,
            "subtotal": subtotal,
            "item_sales_tax_ref": _ref(tax_item),
            "sales_tax_percentage": tidy(percentage),
            "sales_tax_total": sales_tax,
            "exchange_rate": model.exchange_rate,
            "memo": model.memo,
            "customer_msg_ref": _ref(customer_msg),
            "is_to_be_emailed": bool(model.is_to_be_emailed),
            "is_tax_included": model.is_tax_included
            if self.company_country_allows_tax_included()
            else None,
            "customer_sales_tax_code_ref": _ref(tax_code),
            "other": model.other,
            "external_guid": model.external_guid,
            "lines": tuple(lines_out),
        }
        ret: InvoiceRet | EstimateRet
        if self.invoice:
            ret = InvoiceRet(
                **common,
                **extra,
                applied_amount=Decimal("0.00"),
                balance_remaining=total,
                is_paid=total == 0,
            )
        else:
            ret = EstimateRet(**common, **extra, total_amount=total)
        self.company.note_ref_number(self.txn_type, ref_number)
        self.company.record(
            TransactionRecord(
                txn_type=self.txn_type,
                txn_id=ret.txn_id or "",
                ref_number=ref_number,
                company_file=self.company.path,
                ret=ret,
            )
        )
        return ret

    def company_country_allows_tax_included(self) -> bool:
        return False  # US editions ignore IsTaxIncluded (PROTOCOL §C.7)

    def sales_tax_item(self, customer: Customer) -> Item | None:
        item = self.resolve(ListKind.ITEM, self.model.item_sales_tax_ref)
        if item is None:
            item = self.company.get(ListKind.ITEM, customer.item_sales_tax_id)
        if item is None and self.prefs.default_item_sales_tax is not None:
            item = self.company.by_name(ListKind.ITEM, self.prefs.default_item_sales_tax)
        if item is not None and (not isinstance(item, Item) or item.kind is not ItemKind.SALES_TAX):
            shown = item.full_name
            message = (
                f'There is an invalid reference to QuickBooks ItemSalesTax "{shown}" '
                f"in the {self.txn_type}.{_NOT_FOUND_TAIL}"
            )
            raise _Refusal(3140, message)
        return item

    # -- lines --

    def check_line_features(self, line: Any) -> None:
        prefs = self.prefs
        if (
            getattr(line, "unit_of_measure", None) is not None
            and not prefs.is_using_units_of_measure
        ):
            raise self.feature_off()
        if (
            line.inventory_site_ref is not None or line.inventory_site_location_ref is not None
        ) and not prefs.is_using_inventory_sites:
            raise self.feature_off()
        if getattr(line, "class_ref", None) is not None and not prefs.is_using_class_tracking:
            raise self.feature_off()
        if getattr(line, "price_level_ref", None) is not None and not prefs.is_using_price_levels:
            raise self.feature_off()
        serial = getattr(line, "serial_number", None)
        lot = getattr(line, "lot_number", None)
        if (serial is not None and prefs.serial_or_lot_tracking != "SerialNumber") or (
            lot is not None and prefs.serial_or_lot_tracking != "LotNumber"
        ):
            raise self.feature_off()

    def tax_code_for(self, line_ref: Ref | None, item: Item | None) -> ListEntry | None:
        code = self.resolve(ListKind.SALES_TAX_CODE, line_ref, line=True)
        if code is None and item is not None:
            code = self.entry(ListKind.SALES_TAX_CODE, item.sales_tax_code_id)
        assert code is None or isinstance(code, ListEntry)
        return code

    def lines(
        self, header_class: ListEntry | None, customer_level: ListEntry | None
    ) -> tuple[list[Any], tuple[Decimal, Decimal]]:
        """The Ret lines, and (subtotal, taxable amount)."""
        model_lines = self.model.lines
        top: list[_Line] = []
        entries: list[tuple[str, Any, _Line, Any]] = []
        for line in model_lines:
            self.check_line_features(line)
            if isinstance(line, (InvoiceLineGroupAdd, EstimateLineGroupAdd)):
                group = self.item(line.item_group_ref, group=True)
                assert group is not None
                calc = _Line(item=None, quantity=None, rate=None, rate_percent=None, amount=None)
                entries.append(("group", line, calc, group))
                top.append(calc)
            else:
                item = self.item(line.item_ref)
                level = self.resolve(ListKind.PRICE_LEVEL, line.price_level_ref, line=True)
                level = level or (customer_level if self.prefs.is_using_price_levels else None)
                calc = _Line(
                    item=item,
                    quantity=line.quantity,
                    rate=line.rate,
                    rate_percent=line.rate_percent,
                    amount=line.amount,
                    markup_rate=getattr(line, "markup_rate", None),
                    markup_rate_percent=getattr(line, "markup_rate_percent", None),
                    price_level_percent=None if level is None else level.percent,
                )
                entries.append(("line", line, calc, item))
                top.append(calc)

        # Groups first: their total is the "amount" a following percentage or
        # subtotal line sees.
        group_members: dict[int, list[tuple[Item, _Line]]] = {}
        for index, (kind, line, calc, item) in enumerate(entries):
            if kind != "group":
                continue
            group_qty = line.quantity if line.quantity is not None else Decimal(1)
            members: list[tuple[Item, _Line]] = []
            for member in item.members:
                member_item = self.company.get(ListKind.ITEM, member.item_id)
                assert isinstance(member_item, Item)
                quantity = None
                if member_item.percent is None and member_item.kind is not ItemKind.SUBTOTAL:
                    quantity = to_quantity(member.quantity * group_qty)
                members.append(
                    (
                        member_item,
                        _Line(
                            item=member_item,
                            quantity=quantity,
                            rate=None,
                            rate_percent=None,
                            amount=None,
                        ),
                    )
                )
            compute_lines([m for _, m in members])
            group_members[index] = members
            calc.amount = to_cents(
                sum(
                    (m.out_amount or Decimal(0) for _, m in members if not m.is_subtotal),
                    Decimal(0),
                )
            )
        compute_lines(top)

        subtotal = Decimal("0.00")
        taxable = Decimal("0.00")
        out: list[Any] = []
        for index, (kind, line, calc, item) in enumerate(entries):
            if kind == "group":
                group_line_id = self.company.new_txn_id(self.now)
                member_rets = []
                for member_item, m in group_members[index]:
                    ret_line, taxed = self.ret_line(None, m, member_item, header_class)
                    member_rets.append(ret_line)
                    if not m.is_subtotal:
                        taxable += taxed
                assert calc.out_amount is not None
                subtotal += calc.out_amount
                out.append(
                    self.ret_group(line, item, calc.out_amount, tuple(member_rets), group_line_id)
                )
            else:
                ret_line, taxed = self.ret_line(line, calc, item, header_class)
                out.append(ret_line)
                if not calc.is_subtotal and calc.out_amount is not None:
                    subtotal += calc.out_amount
                    taxable += taxed
        return out, (to_cents(subtotal), to_cents(taxable))

    def ret_line(
        self, line: Any, calc: _Line, item: Item | None, header_class: ListEntry | None
    ) -> tuple[Any, Decimal]:
        """One line Ret and the amount it adds to the taxable total."""
        for tag, value in (("Amount", calc.out_amount),):
            if value is not None:
                _check_amount(tag, value)
        if calc.out_rate is not None and abs(calc.out_rate) >= PRICE_LIMIT:
            raise _Refusal(3210, _invalid_value("Rate", calc.out_rate))
        if calc.quantity is not None and abs(calc.quantity) >= PRICE_LIMIT:
            raise _Refusal(3210, _invalid_value("Quantity", calc.quantity))
        line_class = header_class
        tax_code = self.tax_code_for(None, item)
        fields: dict[str, Any] = {}
        if line is not None:
            if line.class_ref is not None:
                line_class = self.resolve(ListKind.CLASS, line.class_ref, line=True)
            self.resolve(ListKind.ACCOUNT, line.override_item_account_ref, line=True)
            tax_code = self.tax_code_for(line.sales_tax_code_ref, item)
            if getattr(line, "link_to_txn", None) is not None:
                raise self.unknown_txn(line.link_to_txn.txn_id)
            fields = {
                "desc": line.desc
                if line.desc is not None
                else (item.description if item else None),
                "unit_of_measure": line.unit_of_measure,
                "tax_amount": line.tax_amount,
                "inventory_site_ref": line.inventory_site_ref,
                "inventory_site_location_ref": line.inventory_site_location_ref,
                "other1": line.other1,
                "other2": line.other2,
                "data_ext_ret": tuple(_data_ext_ret(d) for d in line.data_ext),
            }
            if self.invoice:
                fields["serial_number"] = line.serial_number
                fields["lot_number"] = line.lot_number
                fields["service_date"] = line.service_date
            else:
                fields["markup_rate"] = line.markup_rate
                fields["markup_rate_percent"] = line.markup_rate_percent
            quantity = line.quantity
        else:
            fields = {"desc": item.description if item else None}
            quantity = calc.quantity
        taxable = tax_code is not None and tax_code.taxable is True and calc.out_amount is not None
        cls = InvoiceLineRet if self.invoice else EstimateLineRet
        ret = cls(
            txn_line_id=self.company.new_txn_id(self.now),
            item_ref=_ref(item),
            quantity=None if quantity is None else tidy(quantity),
            rate=None if calc.out_rate is None else _as_rate(calc.out_rate),
            rate_percent=None if calc.out_rate_percent is None else tidy(calc.out_rate_percent),
            class_ref=_ref(line_class),
            amount=calc.out_amount,
            sales_tax_code_ref=_ref(tax_code) if item is not None else None,
            **fields,
        )
        return ret, (calc.out_amount or Decimal(0)) if taxable else Decimal(0)

    def ret_group(
        self, line: Any, group: Item, total: Decimal, members: tuple[Any, ...], line_id: str
    ) -> Any:
        common = {
            "txn_line_id": line_id,
            "item_group_ref": _ref(group),
            "desc": group.description,
            "quantity": tidy(line.quantity) if line.quantity is not None else Decimal(1),
            "unit_of_measure": line.unit_of_measure,
            "is_print_items_in_group": group.print_items_in_group,
            "total_amount": total,
            "data_ext_ret": tuple(_data_ext_ret(d) for d in line.data_ext),
        }
        if self.invoice:
            return InvoiceLineGroupRet(**common, invoice_line_ret=members)
        return EstimateLineGroupRet(**common, estimate_line_ret=members)


def _as_rate(value: Decimal) -> Decimal:
    """A rate the way QuickBooks writes it: at least two decimals (``103.00``, ``4.125``)."""
    value = tidy(value)
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return value.quantize(Decimal("0.01")) if exponent > -2 else value


def _ref(entry: Any) -> Ref | None:
    return None if entry is None else Ref(list_id=entry.list_id, full_name=entry.full_name)


def _data_ext_ret(data_ext: DataExt) -> DataExtRet:
    return DataExtRet(
        owner_id=data_ext.owner_id,
        data_ext_name=data_ext.data_ext_name,
        data_ext_type="STR255TYPE",
        data_ext_value=data_ext.data_ext_value,
    )


def _invalid_value(tag: str, value: Decimal) -> str:
    return (
        f'The "{tag}" field has an invalid value "{value}".  QuickBooks error message: '
        "The number is too large."
    )


def _check_amount(tag: str, value: Decimal) -> None:
    if abs(value) >= AMOUNT_LIMIT:
        raise _Refusal(3210, _invalid_value(tag, value))
