"""
``FakeQuickBooks``: an in-memory QuickBooks company file that executes qbXML.

It answers the qbXML the library builds the way QuickBooks Desktop does
(PROTOCOL.md §B.4, §C, §D): it validates each message set against the version
in its ``<?qbxml?>`` line, resolves Refs against its lists, computes amounts,
assigns identifiers, keeps the error-recovery store, carries the Web
Connector's FileID stamp, and can be told to fail in the ways real QuickBooks
fails.  See ``docs/testing.md``.

This module holds the double itself (seeding, introspection, the
``QuickBooksDouble`` interface, fault hooks); its company data is in
``_quickbooks_state``, reading a request set in ``_quickbooks_read``, running
it and error recovery in ``_quickbooks_run``, creating an invoice or estimate
(lines, totals, Rets) in ``_quickbooks_txn``, and the HCP response in
``_quickbooks_hcp``.  The rest of the vocabulary: which requests run as what in
``_quickbooks_dispatch``, the registry-derived object types in
``_quickbooks_vocab``, Add/Mod/ListDel/TxnDel/TxnVoid in ``_quickbooks_objects``,
queries and iterators in ``_quickbooks_query``, amounts and balances in
``_quickbooks_money``, the two views of a list object in ``_quickbooks_mirror``,
and seeding from plain data in ``_quickbooks_seed``.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs

from qbwc.qbxml._build import check_version
from qbwc.qbxml._responses import EstimateRet, InvoiceRet
from qbwc.qbxml._types import Address, Version
from qbwc.testing._interface import RequestProcessorError
from qbwc.testing._quickbooks_hcp import guid, hcp_document
from qbwc.testing._quickbooks_read import BUSY, HRESULT_MESSAGES, WRONG_FILE, read_message_set
from qbwc.testing._quickbooks_run import MessageSetRunner, ProcessedRequest
from qbwc.testing._quickbooks_seed import change as change_object
from qbwc.testing._quickbooks_seed import delete as delete_object
from qbwc.testing._quickbooks_seed import records as read_records
from qbwc.testing._quickbooks_seed import seed as seed_records
from qbwc.testing._quickbooks_seed import touch as touch_object
from qbwc.testing._quickbooks_state import (
    Company,
    CompanyPreferences,
    Customer,
    GroupMember,
    Item,
    ItemKind,
    ListEntry,
    ListKind,
    TransactionRecord,
)

__all__ = [
    "FakeQuickBooks",
    "ResponseLost",
]

#: The US qbXML versions QuickBooks 2024 lists in ``SupportedQBXMLVersion``.
_ALL_VERSIONS: Final = (
    "1.0", "1.1", "2.0", "2.1", "3.0", "4.0", "4.1", "5.0", "6.0", "7.0",
    "8.0", "9.0", "10.0", "11.0", "12.0", "13.0", "14.0", "15.0", "16.0",
)  # fmt: skip


def _local_now() -> dt.datetime:
    return dt.datetime.now().astimezone()


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


class FakeQuickBooks:
    """
    An in-memory QuickBooks Desktop company file that executes qbXML requests.

    Implements :class:`~qbwc.testing.QuickBooksDouble`.  Seed it with
    :meth:`add_customer`, :meth:`add_item` and friends, with :meth:`seed`
    (plain data, any object type), or start from :meth:`sample`; it executes
    the Adds, Mods and Queries of every list and transaction object, ListDel,
    TxnDel and TxnVoid.  Hand it to a Web Connector double, or call
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
            clock=self._now,
        )
        self._open_company = self._home
        self._application: str | None = None
        self._lock = threading.RLock()
        self._runner = MessageSetRunner(self._now)
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

    def seed(
        self,
        data: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
        /,
        **lists: Iterable[Mapping[str, Any]],
    ) -> list[Any]:
        """
        Add list objects (or transactions) from plain data; return their Rets.

        *data* maps an object type (``"Customer"``, ``"Vendor"``, ``"Account"``,
        ``"ItemService"``..., or ``"Item"``, ``"Job"``, ``"Terms"``) to a list of
        records; keyword arguments do the same (``seed(Customer=[...])``).  A
        record is the JSON form of the type's Add (``{"name": "Acme"}``,
        ``{"name": "Sales", "account_type": "Income"}``), a Ref may be its
        FullName, and ``"full_name": "Acme:Job 7"`` makes a job.  Records are
        added in order, as qbXML Adds would be.

        Raises:
            ConfigurationError: naming the record and the rule it breaks (an
                unknown field, a duplicate name, a Ref to nothing...).
        """
        merged: dict[str, Iterable[Mapping[str, Any]]] = dict(data or {})
        merged.update(lists)
        with self._lock:
            return seed_records(self._home, self._now(), merged)

    def records(self, object_type: str) -> tuple[Any, ...]:
        """
        Every live object of *object_type* in this company file, as typed Rets
        (``records("Customer")`` → CustomerRets with their balances;
        ``records("Item")`` → every kind of item), in creation order.
        """
        with self._lock:
            return read_records(self._home, object_type)

    def touch(self, object_type: str, object_id: str) -> str:
        """
        Change an object as someone working in QuickBooks would: its EditSequence
        and TimeModified move on, so a Mod sent with the old EditSequence gets
        3200.  Returns the new EditSequence.

        Raises:
            ConfigurationError: no object of *object_type* has *object_id*.
        """
        with self._lock:
            return touch_object(self._home, self._now(), object_type, object_id)

    def change(self, object_type: str, object_id: str, /, **fields: Any) -> Any:
        """
        Change an object as someone working in QuickBooks would, e.g.
        ``change("Customer", list_id, name="Acme Ltd")``: the fields are those of
        its Mod in plain data (as :meth:`seed` takes them); EditSequence and
        TimeModified move on.  Returns the new Ret.

        Raises:
            ConfigurationError: no such object, a field its Mod does not have,
                or a change QuickBooks refuses (naming its status code).
        """
        with self._lock:
            return change_object(self._home, self._now(), object_type, object_id, fields)

    def delete(self, object_type: str, object_id: str) -> None:
        """
        Delete an object as someone working in QuickBooks would: it is gone, and
        ``ListDeletedQuery`` / ``TxnDeletedQuery`` report it, stamped now.

        Raises:
            ConfigurationError: no object of *object_type* has *object_id*, or
                QuickBooks refuses (a list object with sub-items: 3170).
        """
        with self._lock:
            delete_object(self._home, self._now(), object_type, object_id)

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
        return tuple(self._runner.history)

    @property
    def requests_processed(self) -> int:
        """How many requests were executed (failures included, replays excluded)."""
        return len(self._runner.history)

    @property
    def replays(self) -> int:
        """How many message sets were answered from the error-recovery store."""
        return self._runner.replays

    @property
    def pending_faults(self) -> int:
        """Injected faults that have not fired yet."""
        return (
            len(self._runner.fail_next)
            + len(self._open_faults)
            + len(self._call_faults)
            + self._lose_next
        )

    def file_id(self, owner_id: uuid.UUID | str) -> uuid.UUID | None:
        """The FileID stamped into this company file under *owner_id*, or None."""
        value = self._home.data_ext.get(guid(owner_id), {}).get("FileID")
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
            # A new connection: the iterators of the last one are gone (PROTOCOL §G).
            self._runner.queries.close()
            if self._open_faults:
                hresult, message = self._open_faults.popleft()
                raise RequestProcessorError(hresult, message)
            if company_file and company_file.casefold() != self._open_company.path.casefold():
                raise RequestProcessorError(WRONG_FILE, HRESULT_MESSAGES[WRONG_FILE])

    def close(self) -> None:
        """
        End the connection (the Web Connector's session is over): every open
        query iterator dies, and a later ``Continue`` gets status 3391.
        """
        with self._lock:
            self._runner.queries.close()

    @property
    def open_iterators(self) -> int:
        """How many query iterators are open on the current connection."""
        return len(self._runner.queries.iterators)

    def register_application(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> None:
        """
        Stamp *file_id* under *owner_id* into the open company file.

        Re-registering the same pair does nothing.

        Raises:
            RequestProcessorError: ``QBWC1039``, the file already carries a
                different FileID for *owner_id*.
        """
        with self._lock:
            stamps = self._open_company.data_ext.setdefault(guid(owner_id), {})
            existing = stamps.get("FileID")
            wanted = guid(file_id)
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
            self._application = guid(owner_id)
            return hcp_document(
                self._open_company,
                owner_id,
                now=self._now,
                machine_name=self._machine_name,
                product_name=self._product_name,
                product_version=self._product_version,
                country=self._country,
                supported=self._supported,
            )

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
            app = guid(application) if application is not None else self._application
            message_set = read_message_set(qbxml, self._supported)
            response = self._runner.run(message_set, self._open_company, app).decode("utf-8")
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
            self._runner.fail_next.append((status_code, message))

    def busy(self, times: int = 1) -> None:
        """
        Make the next *times* :meth:`open` calls fail as if a dialog were open in
        QuickBooks (HRESULT 0x80040414, a transient condition).
        """
        for _ in range(times):
            self.fail_open(BUSY)

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


def _inherit(parent: object, attribute: str) -> str | None:
    value = getattr(parent, attribute, None) if isinstance(parent, Customer) else None
    assert value is None or isinstance(value, str)
    return value
