"""
Pulls (docs/pulls.md): ``follow``, cursors and the overlap window, changes delivered
once by ID and EditSequence, deletions, hooks that raise, pulls after the writes of a
session, an idle pull in one round, syncs cut off mid-pull.

Every scenario runs the service against FakeQuickBooks through the Web Connector
double, with the server's clock and QuickBooks' clock under the test's control.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from qbwc import Done, ReceiveResponseXMLCall, WebConnectorService
from qbwc.exceptions import ConfigurationError
from qbwc.qbxml import CustomerAdd, EntityFilter
from qbwc.store import MemoryStore, SQLiteStore, Store
from qbwc.testing import (
    Crash,
    FakeQuickBooks,
    FakeWebConnector,
    LoseQuickBooksResponse,
    LoseReply,
    SessionResult,
)
from qbwc.wsgi import make_wsgi_app
from tests.rig import OWNER, PASSWORD, USER, Clock

JOB = "Acme Corp:Job 7"


def _id(ret: Any) -> str:
    value = getattr(ret, "txn_id", None) or ret.list_id
    assert isinstance(value, str)
    return value


class Host:
    """The host's side: what its hooks received."""

    def __init__(self) -> None:
        self.pulled: list[tuple[str, str, str]] = []  # (type, id, EditSequence)
        self.deleted: list[tuple[str, str]] = []
        self.rets: dict[str, dict[str, Any]] = {}  # type -> id -> newest Ret
        self.fail = 0  # the next this many calls of a hook raise
        self.then: Callable[[], None] | None = None  # called after each on_pulled

    def on_pulled(self, username: str, type_name: str, rets: tuple[Any, ...]) -> None:
        assert username == USER
        if self.fail:
            self.fail -= 1
            raise RuntimeError("the host's database is down")
        for ret in rets:
            self.pulled.append((type_name, _id(ret), ret.edit_sequence))
            self.rets.setdefault(type_name, {})[_id(ret)] = ret
        if self.then is not None:
            self.then()

    def on_deleted(self, username: str, type_name: str, ids: tuple[str, ...]) -> None:
        assert username == USER
        if self.fail:
            self.fail -= 1
            raise RuntimeError("the host's database is down")
        for object_id in ids:
            self.deleted.append((type_name, object_id))
            self.rets.get(type_name, {}).pop(object_id, None)

    def ids(self, type_name: str) -> list[str]:
        return [i for t, i, _ in self.pulled if t == type_name]


class Pulls:
    """A service with pulls over a store, FakeQuickBooks with its own clock, a Web Connector."""

    def __init__(self, store: Store | None = None, **settings: Any) -> None:
        self.clock = Clock()
        self.skew = 0.0  # seconds QuickBooks' clock is ahead of the server's
        self.host = Host()
        self.service = WebConnectorService(
            store=store or MemoryStore(),
            owner_id=OWNER,
            app_name="Acme Billing",
            password_cost=2,
            clock=self.clock,
            on_pulled=self.host.on_pulled,
            on_deleted=self.host.on_deleted,
            **settings,
        )
        self.service.add_account(USER, PASSWORD)
        self.qb = FakeQuickBooks.sample(clock=self.qb_now)
        self.qb.seed(
            Account=[{"name": "Job Materials", "account_type": "CostOfGoodsSold"}],
            Vendor=[{"name": "Lumber Yard"}, {"name": "Tile Shop"}],
        )
        self.wc = FakeWebConnector(make_wsgi_app(self.service), self.qb)
        self.wc.add_application(
            self.service.qwc(
                USER, app_url="https://localhost/qbwc", app_support="https://localhost/support"
            ),
            password=PASSWORD,
        )

    def qb_now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock.now + self.skew, dt.UTC)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def run(self) -> SessionResult:
        result = self.wc.run_session()
        self.advance(1)
        return result

    def bill(self, amount: str = "10.00", vendor: str = "Lumber Yard", job: str = JOB) -> Any:
        line = {"account_ref": {"full_name": "Job Materials"}, "amount": amount}
        if job:
            line["customer_ref"] = {"full_name": job}
        (ret,) = self.qb.seed(
            Bill=[{"vendor_ref": {"full_name": vendor}, "expense_line_add": [line]}]
        )
        return ret

    def payment(self, amount: str = "5.00", customer: str = "Acme Corp") -> Any:
        (ret,) = self.qb.seed(
            ReceivePayment=[
                {"customer_ref": {"full_name": customer}, "total_amount": amount,
                 "is_auto_apply": True}
            ]
        )  # fmt: skip
        return ret


def _state(rig: Pulls, type_name: str) -> dict[str, Any]:
    (follow,) = [f for f in rig.service.follows(USER) if f.type == type_name]
    data = json.loads(follow.state or "{}")
    assert isinstance(data, dict)
    return data


# -- follow: the API --------------------------------------------------------------------


def test_follow_stores_the_query_with_its_defaults() -> None:
    rig = Pulls()
    bills = rig.service.follow(USER, "Bill", page_size=100)
    customers = rig.service.follow(USER, "Customer")
    assert json.loads(bills.spec) == {
        "page_size": 100,
        "query": {"type": "BillQuery", "include_line_items": True},
    }
    assert json.loads(customers.spec)["query"] == {"type": "CustomerQuery", "active_status": "All"}
    assert (bills.state, bills.file_id) == (None, None)
    assert [f.type for f in rig.service.follows(USER)] == ["Bill", "Customer"]
    assert rig.service.unfollow(USER, "Customer") is True
    assert rig.service.unfollow(USER, "Customer") is False
    assert [f.type for f in rig.service.follows(USER)] == ["Bill"]


#: Every way follow refuses its arguments: (arguments, the field named).
REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({"username": "nobody@example.com"}, "username"),
    ({"username": ""}, "username"),
    ({"type": "Bogus"}, "type"),
    ({"type": "Company"}, "type"),  # a query without a modified-date filter
    ({"type": "InvoiceAdd"}, "type"),
    ({"type": 7}, "type"),
    ({"page_size": 0}, "page_size"),
    ({"page_size": 10_001}, "page_size"),
    ({"page_size": "500"}, "page_size"),
    ({"filters": ["paid_status"]}, "filters"),
    ({"filters": {"colour": "red"}}, "filters.colour"),
    ({"filters": {"iterator": "Start"}}, "filters.iterator"),
    ({"filters": {"iterator_id": "x"}}, "filters.iterator_id"),
    ({"filters": {"max_returned": 5}}, "filters.max_returned"),
    ({"filters": {"modified_date_range_filter": None}}, "filters.modified_date_range_filter"),
    ({"filters": {"txn_id": ("1-2",)}}, "filters.txn_id"),
    ({"filters": {"ref_number": ("7",)}}, "filters.ref_number"),
    ({"filters": {"ref_number_case_sensitive": ("7",)}}, "filters.ref_number_case_sensitive"),
    ({"filters": {"txn_date_range_filter": None}}, "filters.txn_date_range_filter"),
    ({"type": "Customer", "filters": {"list_id": ("1",)}}, "filters.list_id"),
    ({"type": "Customer", "filters": {"full_name": ("A",)}}, "filters.full_name"),
    ({"type": "Customer", "filters": {"from_modified_date": None}}, "filters.from_modified_date"),
    ({"type": "Customer", "filters": {"to_modified_date": None}}, "filters.to_modified_date"),
    ({"filters": {"paid_status": "Sometimes"}}, "filters.paid_status"),
]


@pytest.mark.parametrize(("arguments", "field"), REFUSALS)
def test_follow_refuses_bad_arguments_naming_the_field(
    arguments: dict[str, Any], field: str
) -> None:
    rig = Pulls()
    call: dict[str, Any] = {"username": USER, "type": "Bill", **arguments}
    username, type_name = call.pop("username"), call.pop("type")
    with pytest.raises(ConfigurationError) as caught:
        rig.service.follow(username, type_name, **call)
    assert caught.value.field == field
    assert rig.service.follows(USER) == ()


def test_follows_and_unfollow_check_their_arguments() -> None:
    rig = Pulls()
    for call, field in (
        (lambda: rig.service.follows(""), "username"),
        (lambda: rig.service.unfollow("", "Bill"), "username"),
        (lambda: rig.service.unfollow(USER, 7), "type"),  # type: ignore[arg-type]
    ):
        with pytest.raises(ConfigurationError) as caught:
            call()
        assert caught.value.field == field


def test_pull_overlap_is_checked() -> None:
    for bad in (dt.timedelta(seconds=-1), dt.timedelta(days=8), 600):
        with pytest.raises(ConfigurationError) as caught:
            WebConnectorService(store=MemoryStore(), owner_id=OWNER, pull_overlap=bad)  # type: ignore[arg-type]
        assert caught.value.field == "pull_overlap"


def test_following_again_keeps_the_cursor_unless_the_filters_change() -> None:
    rig = Pulls()
    rig.service.follow(USER, "Bill")
    rig.bill()
    rig.run()
    cursor = _state(rig, "Bill")["cursor"]
    assert cursor is not None
    rig.service.follow(USER, "Bill", page_size=50)  # the same query: the cursor holds
    assert _state(rig, "Bill")["cursor"] == cursor
    vendor = EntityFilter(full_name=("Lumber Yard",))
    rig.service.follow(USER, "Bill", filters={"entity_filter": vendor})
    assert rig.service.follows(USER)[0].state is None  # from scratch


# -- what is pulled ----------------------------------------------------------------------


def _store(kind: str, tmp_path: Path) -> Store:
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "pulls.sqlite")
    if kind == "postgres":
        from tests.postgres import fresh_store

        store: Store = fresh_store()
        return store
    return MemoryStore()


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
def test_changes_are_delivered_once_edits_again_deletions_once(kind: str, tmp_path: Path) -> None:
    rig = Pulls(_store(kind, tmp_path))
    for type_name in ("Bill", "ReceivePayment", "Customer"):
        rig.service.follow(USER, type_name)
    rig.run()
    customers = {c.list_id for c in rig.qb.records("Customer")}
    assert set(rig.host.ids("Customer")) == customers
    first, second = rig.bill("10.00"), rig.bill("20.00")
    paid = rig.payment()
    rig.run()
    assert Counter(rig.host.ids("Bill")) == {first.txn_id: 1, second.txn_id: 1}
    assert rig.host.ids("ReceivePayment") == [paid.txn_id]
    rig.run()  # within the overlap window: read again, delivered no more
    assert len(rig.host.pulled) == len(customers) + 3
    line = first.expense_line_ret[0].txn_line_id
    edited = rig.qb.change(
        "Bill", first.txn_id, expense_line_mod=[{"txn_line_id": line, "amount": "12.50"}]
    )
    baker = rig.qb.customer("Baker Residence").list_id
    renamed = rig.qb.change("Customer", baker, name="Baker House")
    rig.qb.delete("Bill", second.txn_id)
    doomed = rig.bill("99.00")  # created and deleted between two syncs: never seen
    rig.qb.delete("Bill", doomed.txn_id)
    rig.run()
    rig.run()
    assert rig.host.pulled[-2:] == [
        ("Bill", first.txn_id, edited.edit_sequence),
        ("Customer", baker, renamed.edit_sequence),
    ] or sorted(rig.host.pulled[-2:]) == sorted(
        [("Bill", first.txn_id, edited.edit_sequence), ("Customer", baker, renamed.edit_sequence)]
    )
    assert rig.host.rets["Bill"][first.txn_id].amount_due == Decimal("12.50")
    assert rig.host.rets["Customer"][baker].full_name == "Baker House"
    assert rig.host.deleted == [("Bill", second.txn_id)]
    assert len(set(rig.host.pulled)) == len(rig.host.pulled)


def test_filters_select_what_is_pulled() -> None:
    rig = Pulls()
    rig.service.follow(
        USER, "Bill", filters={"entity_filter": EntityFilter(full_name=("Tile Shop",))}
    )
    lumber, tiles = rig.bill(vendor="Lumber Yard"), rig.bill(vendor="Tile Shop")
    rig.run()
    assert rig.host.ids("Bill") == [tiles.txn_id]
    assert lumber.txn_id not in rig.host.rets["Bill"]
    assert rig.host.rets["Bill"][tiles.txn_id].expense_line_ret  # lines by default


def test_items_of_every_kind_are_one_follow() -> None:
    rig = Pulls()
    rig.service.follow(USER, "Item")
    sale = {"sales_or_purchase": {"price": "8.00", "account_ref": {"full_name": "Job Materials"}}}
    rig.qb.seed(
        ItemNonInventory=[{"name": "Drywall", **sale}],
        ItemOtherCharge=[{"name": "Freight", **sale}],
    )
    rig.run()
    expected = {i.list_id for i in rig.qb.records("Item")}
    assert set(rig.host.ids("Item")) == expected
    kinds = {type(r).__name__ for r in rig.host.rets["Item"].values()}
    assert {"ItemNonInventoryRet", "ItemOtherChargeRet", "ItemServiceRet"} <= kinds
    drywall = rig.qb.item("Drywall").list_id
    rig.qb.delete("ItemNonInventory", drywall)
    rig.run()
    assert rig.host.deleted == [("Item", drywall)]


# -- when: after the writes, one round when idle ---------------------------------------------


def test_pulls_run_after_the_accounts_writes() -> None:
    rig = Pulls()
    rig.service.follow(USER, "Customer")
    job = rig.service.enqueue(USER, CustomerAdd(name="New Client"), key="new-client")
    result = rig.run()
    assert "CustomerAddRq" in result.requests[0]
    assert "CustomerQueryRq" in result.requests[1]
    created = rig.service.job(job.id)
    assert created is not None
    assert created.status == "done"
    assert created.response is not None
    assert created.response.list_id in rig.host.ids("Customer")  # pulled in the same sync


def test_an_idle_pull_is_one_round() -> None:
    rig = Pulls()
    for type_name in ("Bill", "ReceivePayment", "Customer", "Item"):
        rig.service.follow(USER, type_name, page_size=2)
    for amount in ("1.00", "2.00", "3.00", "4.00", "5.00"):
        rig.bill(amount)
    first = rig.run()
    assert len(first.requests) > 1  # pages of 2
    rig.advance(rig.service.pull_overlap.total_seconds() + 1)
    rig.run()  # (the changes of the window before the last pull's start: read again)
    idle = rig.run()
    assert idle.calls == (
        "serverVersion",
        "clientVersion",
        "authenticate",
        "sendRequestXML",
        "receiveResponseXML",
        "closeConnection",
    )
    (request,) = idle.requests
    for element in ("BillQueryRq", "ReceivePaymentQueryRq", "CustomerQueryRq", "ItemQueryRq"):
        assert request.count(f"<{element} ") == 1
    assert request.count("<TxnDeletedQueryRq ") == 2
    assert request.count("<ListDeletedQueryRq ") == 2
    assert "<FromModifiedDate>" in request
    assert idle.completed


def test_no_follows_no_session() -> None:
    rig = Pulls()
    result = rig.run()
    assert "sendRequestXML" not in result.calls  # "none": nothing to do


# -- the cursor and the overlap window ---------------------------------------------------


def test_a_change_stamped_before_the_cursor_is_delivered_once() -> None:
    """QuickBooks' clock behind the server's (another workstation): the overlap catches it."""
    rig = Pulls()
    rig.service.follow(USER, "ReceivePayment")
    rig.service.follow(USER, "Bill")
    rig.bill()
    rig.run()
    cursor = dt.datetime.fromisoformat(_state(rig, "Bill")["cursor"])
    rig.skew = -30.0  # stamped 30 seconds in the past, by QuickBooks' clock
    late = rig.payment()
    assert late.time_modified < cursor
    rig.run()
    rig.run()
    assert rig.host.ids("ReceivePayment") == [late.txn_id]


def test_without_an_overlap_a_change_stamped_before_the_cursor_is_missed() -> None:
    """Why the window exists: the same scenario with pull_overlap=0 loses the payment."""
    rig = Pulls(pull_overlap=dt.timedelta(0))
    rig.service.follow(USER, "ReceivePayment")
    first = rig.payment()
    rig.run()
    rig.skew = -30.0
    rig.payment()
    rig.run()
    assert rig.host.ids("ReceivePayment") == [first.txn_id]


def test_a_quickbooks_clock_ahead_of_the_server_does_not_hide_later_changes() -> None:
    """The cursor never passes the server's clock: a stamp from the future cannot hide a day."""
    rig = Pulls()
    rig.service.follow(USER, "Bill")
    rig.skew = 86_400.0  # someone set the desk's clock a day ahead
    ahead = rig.bill()
    rig.run()
    cursor = dt.datetime.fromisoformat(_state(rig, "Bill")["cursor"])
    assert cursor < ahead.time_modified
    rig.skew = 0.0  # and set it right again
    rig.advance(3600)
    later = rig.bill()
    rig.run()
    assert rig.host.ids("Bill") == [ahead.txn_id, later.txn_id]


def test_the_cursor_moves_on_and_the_window_is_what_is_read_again() -> None:
    rig = Pulls()
    rig.service.follow(USER, "Bill")
    rig.bill()
    rig.run()
    cursor = dt.datetime.fromisoformat(_state(rig, "Bill")["cursor"])
    assert cursor == dt.datetime.fromtimestamp(rig.clock.now - 1, dt.UTC)  # the last start
    rig.advance(3600)
    result = rig.run()
    (request,) = result.requests
    since = cursor - rig.service.pull_overlap
    assert f"<FromModifiedDate>{since.isoformat()}</FromModifiedDate>" in request
    assert f"<FromDeletedDate>{since.isoformat()}</FromDeletedDate>" in request
    moved = dt.datetime.fromisoformat(_state(rig, "Bill")["cursor"])
    assert moved == dt.datetime.fromtimestamp(rig.clock.now - 1, dt.UTC)


# -- delivery: hooks that raise, cut-off syncs ----------------------------------------------


def test_a_hook_that_raises_gets_the_changes_again() -> None:
    rig = Pulls()
    rig.service.follow(USER, "Bill", page_size=2)
    bills = [rig.bill(f"{n}.00").txn_id for n in range(1, 6)]
    rig.host.fail = 1  # the first page's hook raises
    result = rig.run()
    assert result.completed  # the sync goes on
    assert rig.host.ids("Bill") == bills[2:]
    assert _state(rig, "Bill").get("cursor") is None  # the cursor did not pass them
    rig.run()
    assert sorted(rig.host.ids("Bill")) == sorted(bills)
    rig.run()
    assert Counter(rig.host.ids("Bill")) == dict.fromkeys(bills, 1)


def test_a_deletion_hook_that_raises_gets_the_deletion_again() -> None:
    rig = Pulls()
    rig.service.follow(USER, "Bill")
    bill = rig.bill()
    rig.run()
    rig.qb.delete("Bill", bill.txn_id)
    rig.host.fail = 1
    rig.run()
    assert rig.host.deleted == []
    rig.run()
    rig.run()
    assert rig.host.deleted == [("Bill", bill.txn_id)]


@pytest.mark.parametrize(
    "fault",
    [
        LoseQuickBooksResponse(),
        LoseReply(operation="receiveResponseXML"),
        LoseReply(operation="sendRequestXML"),
        Crash(operation="sendRequestXML"),
        Crash(operation="receiveResponseXML"),
    ],
    ids=repr,
)
@pytest.mark.parametrize("skip", [0, 1, 2, 3])
def test_a_pull_cut_off_delivers_everything_once(fault: Any, skip: int) -> None:
    """The Web Connector stops mid-pull (after *skip* hook calls): the next sync finishes it."""
    rig = Pulls()
    rig.service.follow(USER, "Bill", page_size=2)
    rig.service.follow(USER, "ReceivePayment", page_size=3)
    for n in range(1, 4):
        rig.bill(f"{n}.00")
        rig.payment(f"{n}.00")
    rig.run()
    rig.host.pulled.clear()
    rig.advance(3600)
    bills = [rig.bill(f"1{n}.00").txn_id for n in range(5)]
    payments = [rig.payment(f"2{n}.00").txn_id for n in range(4)]
    calls = 0

    def cut() -> None:
        nonlocal calls
        calls += 1
        if calls == skip:
            rig.wc.inject(fault)

    rig.host.then = cut
    if skip == 0:
        rig.wc.inject(fault)
    first = rig.run()
    assert not first.completed or skip >= 3
    rig.advance(rig.service.busy_timeout)  # the cut session is silent: it is replaced
    rig.run()
    rig.run()
    assert Counter(rig.host.ids("Bill")) == dict.fromkeys(bills, 1)
    assert Counter(rig.host.ids("ReceivePayment")) == dict.fromkeys(payments, 1)


def test_nothing_is_pulled_from_another_company_file() -> None:
    rig = Pulls()
    rig.service.follow(USER, "Bill")
    mine = rig.bill()
    rig.run()
    other = FakeQuickBooks(clock=rig.qb_now)
    other.seed(
        Account=[{"name": "Job Materials", "account_type": "CostOfGoodsSold"}],
        Vendor=[{"name": "Lumber Yard"}],
        Customer=[{"name": "Elsewhere"}],
    )
    other.seed(
        Bill=[
            {"vendor_ref": {"full_name": "Lumber Yard"},
             "expense_line_add": [{"account_ref": {"full_name": "Job Materials"},
                                   "amount": "1.00"}]}
        ]
    )  # fmt: skip
    rig.qb.switch_company(other)
    result = rig.run()
    assert not any("BillQueryRq" in r for r in result.requests)
    rig.qb.switch_company(None)
    rig.run()
    assert rig.host.ids("Bill") == [mine.txn_id]


def test_ref_by_entity_filter_model_is_stored_as_json() -> None:
    rig = Pulls()
    follow = rig.service.follow(
        USER, "ReceivePayment", filters={"entity_filter": EntityFilter(list_id=("8000001E-1",))}
    )
    assert json.loads(follow.spec)["query"]["entity_filter"] == {"list_id": ["8000001E-1"]}


def test_a_late_answer_to_a_pull_round_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """QuickBooks' answer to a round of a session since replaced: not used, no alarm."""
    rig = Pulls()
    rig.service.follow(USER, "Bill")
    bill = rig.bill()
    rig.wc.inject(LoseQuickBooksResponse())
    cut = rig.run()
    (request,) = cut.requests
    late_answer = rig.qb.process_request(request)
    rig.advance(rig.service.busy_timeout)
    rig.run()
    assert rig.host.ids("Bill") == [bill.txn_id]
    reply = rig.service.respond(
        ReceiveResponseXMLCall(ticket=cut.ticket, response=late_answer, hresult="", message="")
    )
    assert isinstance(reply, Done)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    rig.run()
    assert rig.host.ids("Bill") == [bill.txn_id]


def test_pulled_objects_refresh_their_linkages_and_deleted_ones_lose_them() -> None:
    rig = Pulls()
    rig.service.follow(USER, "Customer")
    rig.service.enqueue(USER, CustomerAdd(name="New Client"), key="client-1")
    rig.run()
    link = rig.service.link(USER, "client-1")
    assert link is not None
    assert link.list_id is not None
    rig.advance(60)
    renamed = rig.qb.change("Customer", link.list_id, name="Renamed Client")
    rig.run()
    fresh = rig.service.link(USER, "client-1")
    assert fresh is not None
    assert (fresh.full_name, fresh.edit_sequence) == ("Renamed Client", renamed.edit_sequence)
    rig.qb.delete("Customer", link.list_id)
    rig.run()
    assert rig.service.link(USER, "client-1") is None
    assert rig.host.deleted == [("Customer", link.list_id)]


def test_a_hook_may_call_the_service() -> None:
    """The hooks run outside the store's transaction: enqueueing from one works."""
    rig = Pulls()
    rig.service.follow(USER, "ReceivePayment")
    queued: list[str] = []

    def thank(username: str, type_name: str, rets: tuple[Any, ...]) -> None:
        for ret in rets:
            job = rig.service.enqueue(
                username, CustomerAdd(name=f"Thanks {ret.txn_id}"), key=f"thanks-{ret.txn_id}"
            )
            queued.append(job.id)

    rig.service._on_pulled = thank
    paid = rig.payment()
    result = rig.run()
    assert len(queued) == 1
    done = rig.service.job(queued[0])
    assert done is not None
    assert done.status == "done"  # sent in the same sync, after the pull's round
    assert any(f"Thanks {paid.txn_id}" in r for r in result.requests)


def test_after_a_disconnect_the_pulls_start_from_scratch() -> None:
    """The support article's story: relinked, the payments and bills reappear, once."""
    rig = Pulls()
    rig.service.follow(USER, "Bill")
    rig.service.follow(USER, "ReceivePayment")
    bill, paid = rig.bill(), rig.payment()
    rig.run()
    rig.run()
    assert (rig.host.ids("Bill"), rig.host.ids("ReceivePayment")) == ([bill.txn_id], [paid.txn_id])
    gone = rig.service.disconnect(USER)
    assert (gone.cursors, gone.marks) == (2, 2)
    assert [f.type for f in rig.service.follows(USER)] == ["Bill", "ReceivePayment"]
    rig.advance(3600)
    rig.run()
    rig.run()
    assert rig.host.ids("Bill") == [bill.txn_id] * 2
    assert rig.host.ids("ReceivePayment") == [paid.txn_id] * 2
