"""
``qbwc demo --scenario two-way``: the two-way sync of docs/two-way.md, over real HTTP.

A construction-management app links a client, a project (a customer:job) and a cost code (a
service item) to QuickBooks by key, puts an invoice there that names them by key, changes it
by its linkage, follows payments and bills, and the bookkeeper records a payment and bills in
QuickBooks; the next update pulls them back and the app shows the actual cost and the amount
received per job.  Then the bookkeeper moves to another company file: Disconnect removes the
linkages, the pull cursors and the delivered marks, and the first update in the new file pulls
that file's payments and bills from scratch.

Runs on the rig of :mod:`qbwc.cli._demo` (SQLite store, the standard library's WSGI server, the
Web Connector double over HTTP); every fact the story tells is checked, and the exit code says
whether they all held.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any, Final

from qbwc.actuals import Actuals
from qbwc.cli._demo import _PASSWORD, _USER, _Checks, _company, _Rig
from qbwc.qbxml import (
    CustomerAdd,
    InvoiceAdd,
    InvoiceLineAdd,
    InvoiceMod,
    ItemServiceAdd,
    Ref,
    SalesOrPurchase,
)
from qbwc.store import Job
from qbwc.testing._quickbooks import FakeQuickBooks

__all__ = ["two_way_scenario"]

_CLIENT: Final = "Dune Co"
_PROJECT: Final = "Dune Co:Roof Replacement"
_CODE: Final = "0610 Rough Carpentry"
_OTHER_JOB: Final = "Miller Residence:Kitchen Remodel"
_NEW_FILE: Final = "Summit Ridge Construction 2027"
#: The pulled types: payments, and bills with their lines (what the actuals count).
_FOLLOWED: Final = ("ReceivePayment", "Bill")
_COST_TYPES: Final = frozenset({"Bill", "Check", "CreditCardCharge", "ItemReceipt"})


class _PulledData:
    """What the app keeps of what it pulls (docs/two-way.md, "Budget actuals")."""

    def __init__(self) -> None:
        self.actuals = Actuals()
        self.delivered: Counter[tuple[str, str, str | None]] = Counter()
        self.rounds: list[tuple[str, int]] = []

    def pulled(self, username: str, type: str, rets: tuple[Any, ...]) -> None:
        self.rounds.append((type, len(rets)))
        for ret in rets:
            object_id = getattr(ret, "txn_id", None) or getattr(ret, "list_id", None) or "?"
            self.delivered[(type, object_id, getattr(ret, "edit_sequence", None))] += 1
        if type in _COST_TYPES or type == "ReceivePayment":
            self.actuals.add_all(rets)

    def deleted(self, username: str, type: str, ids: tuple[str, ...]) -> None:
        for txn_id in ids:
            self.actuals.remove(txn_id)

    def ids(self, type: str) -> set[str]:
        return {object_id for kind, object_id, _ in self.delivered if kind == type}


def _accounting(qb: FakeQuickBooks) -> None:
    """The accounts and the vendor the story books against (the bookkeeper's setup)."""
    qb.seed(
        Account=[
            {"name": "Construction Income", "account_type": "Income"},
            {"name": "Job Materials", "account_type": "CostOfGoodsSold"},
            {"name": "Checking", "account_type": "Bank"},
        ],
        Vendor=[{"name": "Lumber Yard"}, {"name": "Bay Roofing Supply"}],
    )


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


class _Story:
    def __init__(self, rig: _Rig, checks: _Checks, data: _PulledData) -> None:
        self.rig = rig
        self.checks = checks
        self.data = data
        self.p = rig.printer
        self.user = _USER
        self.jobs: dict[str, Job] = {}

    # --- the app's side -----------------------------------------------------------------------

    def enqueue(self, key: str, request: Any, what: str, *, after: str | None = None) -> Job:
        previous = self.jobs[after] if after is not None else None
        job = self.rig.service.enqueue(self.user, request, key=key, after=previous)
        self.jobs[key] = job
        waits = f"  (after {after})" if after else ""
        self.p.line(f"  queued   {key:<14} {what}{waits}")
        return job

    def job(self, key: str) -> Job:
        job = self.rig.service.job(self.jobs[key].id)
        assert job is not None  # the demo never deletes a job
        return job

    def links_table(self) -> None:
        links = self.rig.service.links(self.user)
        if not links:
            self.p.line("  (no linkages)")
            return
        self.p.line(f"  {'KEY':<15}{'TYPE':<13}{'LISTID / TXNID':<22}{'EDITSEQ':<12}FULLNAME")
        for link in links:
            ident = link.list_id or link.txn_id or "-"
            row = f"{link.key:<15}{link.type:<13}{ident:<22}{link.edit_sequence or '-':<12}"
            self.p.line(f"  {row}{link.full_name or ''}")

    def actuals_table(self, qb: FakeQuickBooks) -> dict[str, tuple[Decimal, Decimal]]:
        """Print cost and received per job (by FullName); return them."""
        actuals = self.data.actuals
        names = actuals.full_names()
        cost = actuals.cost_by_job()
        received = actuals.received_by_customer()
        shown: dict[str, tuple[Decimal, Decimal]] = {}
        for key in sorted(set(cost) | set(received), key=lambda k: names.get(k, k)):
            name = names.get(key, key)
            shown[name] = (cost.get(key, Decimal(0)), received.get(key, Decimal(0)))
        self.p.line(f"  {'JOB':<38}{'ACTUAL COST':>14}{'RECEIVED':>14}")
        for name, (spent, paid) in shown.items():
            self.p.line(f"  {name:<38}{_money(spent):>14}{_money(paid):>14}")
        if not shown:
            self.p.line("  (nothing pulled)")
        self.p.line(f'  (pulled from "{qb.company_name}")')
        return shown

    # --- the bookkeeper's side ----------------------------------------------------------------

    def book_payment(self, qb: FakeQuickBooks, job: str, amount: str, invoice: str | None) -> str:
        record: dict[str, Any] = {"customer_ref": {"full_name": job}, "total_amount": amount}
        if invoice is None:
            record["is_auto_apply"] = True
        else:
            record["applied_to_txn_add"] = [{"txn_id": invoice, "payment_amount": amount}]
        (ret,) = qb.seed(ReceivePayment=[record])
        self.p.line(f"  receives a payment of {amount} from {job}  (TxnID {ret.txn_id})")
        txn_id: str = ret.txn_id
        return txn_id

    def book_bill(
        self, qb: FakeQuickBooks, vendor: str, job: str, materials: str, item: str | None = None
    ) -> str:
        record: dict[str, Any] = {
            "vendor_ref": {"full_name": vendor},
            "expense_line_add": [
                {
                    "account_ref": {"full_name": "Job Materials"},
                    "amount": materials,
                    "customer_ref": {"full_name": job},
                }
            ],
        }
        lines = f"materials {materials}"
        if item is not None:
            record["lines"] = [
                {
                    "type": "ItemLineAdd",
                    "item_ref": {"full_name": _CODE},
                    "quantity": "10",
                    "cost": item,
                    "customer_ref": {"full_name": job},
                }
            ]
            lines += f", 10 h of {_CODE} at {item}"
        (ret,) = qb.seed(Bill=[record])
        self.p.line(f"  enters a bill from {vendor} for {job}: {lines}  (TxnID {ret.txn_id})")
        txn_id: str = ret.txn_id
        return txn_id


def two_way_scenario(rig: _Rig, checks: _Checks) -> None:
    """The story of docs/two-way.md, checked as it goes."""
    data = _PulledData()
    rig.on_pulled, rig.on_deleted = data.pulled, data.deleted
    story = _Story(rig, checks, data)
    p = rig.printer
    service, user, qb = rig.service, _USER, rig.qb
    _accounting(qb)

    # 1. Linkages and Refs by key.
    p.heading("The app puts its records in QuickBooks, each under its own key")
    story.enqueue(
        "code-0610",
        ItemServiceAdd(
            name=_CODE,
            sales_or_purchase=SalesOrPurchase(
                price=Decimal("68.00"), account_ref=Ref(full_name="Construction Income")
            ),
        ),
        f"ItemServiceAdd  {_CODE!r} (a cost code)",
    )
    story.enqueue("client-4", CustomerAdd(name=_CLIENT), f"CustomerAdd     {_CLIENT!r}")
    story.enqueue(
        "project-17",
        CustomerAdd(name="Roof Replacement", parent_ref=Ref(key="client-4")),
        "CustomerAdd     'Roof Replacement', parent Ref(key='client-4')",
        after="client-4",
    )
    story.enqueue(
        "invoice-1042",
        InvoiceAdd(
            customer_ref=Ref(key="project-17"),
            ref_number="1042",
            lines=[
                InvoiceLineAdd(item_ref=Ref(key="code-0610"), quantity=Decimal(40)),
                InvoiceLineAdd(item_ref=Ref(full_name="Permit Fee"), quantity=Decimal(1)),
            ],
        ),
        "InvoiceAdd #1042 for Ref(key='project-17'), Ref(key='code-0610')",
        after="project-17",
    )
    for type in _FOLLOWED:
        filters = {"include_line_items": True} if type in _COST_TYPES else None
        service.follow(user, type, filters=filters)
    p.line(f"  follows  {', '.join(_FOLLOWED)}  (service.follow: pulled after the writes)")
    first = rig.sync("the writes, then the first pulls")
    checks.expect(first.completed, "the first update did not complete")
    for key in ("code-0610", "client-4", "project-17", "invoice-1042"):
        checks.expect(story.job(key).status == "done", f"{key} is not done")
    checks.expect(len(qb.find("1042")) == 1, "invoice #1042 is not in QuickBooks exactly once")
    p.heading("Linkages (service.links): the app's keys and QuickBooks' identities")
    story.links_table()
    project = service.link(user, "project-17")
    invoice = service.link(user, "invoice-1042")
    checks.expect(
        project is not None
        and project.full_name == _PROJECT
        and project.list_id == qb.customer(_PROJECT).list_id,
        "project-17 is not linked to the job Dune Co:Roof Replacement",
    )
    checks.expect(
        invoice is not None and invoice.txn_id == story.job("invoice-1042").txn_id,
        "invoice-1042 is not linked to the invoice QuickBooks created",
    )
    invoice_id = invoice.txn_id if invoice is not None and invoice.txn_id else "?"
    (created,) = qb.find("1042") or (None,)
    customer = created.customer_ref if created is not None else None
    checks.expect(
        customer is not None and customer.full_name == _PROJECT,
        "the invoice's CustomerRef did not resolve to the job",
    )

    # 2. A Mod by link.
    p.heading("The app changes the invoice, naming it by its linkage (no TxnID, no EditSequence)")
    memo = "Roof replacement, phase 1 of 2"
    mod = service.enqueue(user, InvoiceMod(memo=memo), link="invoice-1042", key="invoice-1042-v2")
    story.jobs["invoice-1042-v2"] = mod
    p.line(f"  queued   invoice-1042-v2 InvoiceMod memo={memo!r}, link='invoice-1042'")
    rig.sync("the Mod")
    checks.expect(story.job("invoice-1042-v2").status == "done", "the Mod by link is not done")
    (changed,) = qb.find("1042") or (None,)
    checks.expect(changed is not None and changed.memo == memo, "the invoice's memo is unchanged")
    relinked = service.link(user, "invoice-1042")
    checks.expect(
        relinked is not None
        and changed is not None
        and relinked.edit_sequence == changed.edit_sequence,
        "the linkage does not hold the invoice's new EditSequence",
    )
    if changed is not None:
        p.line(f"  QuickBooks: invoice #1042 memo {changed.memo!r}, EditSequence "
               f"{changed.edit_sequence}; the linkage holds "
               f"{relinked.edit_sequence if relinked else '-'}")  # fmt: skip

    # 3. The bookkeeper works in QuickBooks; the next update pulls it back.
    p.heading(f'Meanwhile, in QuickBooks ("{qb.company_name}"), the bookkeeper')
    payment = story.book_payment(qb, _PROJECT, "2000.00", invoice_id)
    bills = [
        story.book_bill(qb, "Lumber Yard", _PROJECT, "1850.00", item="45.00"),
        story.book_bill(qb, "Bay Roofing Supply", _PROJECT, "3125.50"),
        story.book_bill(qb, "Lumber Yard", _OTHER_JOB, "612.25"),
    ]
    rig.sync("pulls what changed")
    p.line("  on_pulled received: " + ", ".join(f"{n} {t}" for t, n in data.rounds))
    checks.expect(data.ids("ReceivePayment") == {payment}, "the payment was not pulled")
    checks.expect(data.ids("Bill") == set(bills), "the bills were not pulled")
    data.rounds.clear()
    idle = rig.sync("nothing changed since")
    checks.expect(idle.completed, "the idle update did not complete")
    checks.expect(not data.rounds, "an idle pull delivered something")
    p.wrapped(
        "on_pulled received: nothing. QuickBooks answered the same versions again (the pull "
        "asks from its cursor minus the overlap window, against clock skew); they are "
        "recognised by ID and EditSequence and not delivered twice. One round, one message set.",
        indent="  ",
    )
    checks.expect(idle.calls.count("sendRequestXML") == 1, "an idle pull took more than one round")
    checks.expect(
        all(count == 1 for count in data.delivered.values()), "a change was delivered twice"
    )
    p.heading("Budget actuals and payments per job (qbwc.actuals.Actuals, fed by on_pulled)")
    shown = story.actuals_table(qb)
    checks.expect(
        shown.get(_PROJECT) == (Decimal("5425.50"), Decimal("2000.00")),
        "the roof's actual cost or amount received is wrong",
    )
    checks.expect(
        shown.get(_OTHER_JOB) == (Decimal("612.25"), Decimal(0)),
        "the kitchen's actual cost is wrong",
    )
    checks.expect(
        data.actuals.received_by_invoice().get(invoice_id) == Decimal("2000.00"),
        "the payment is not counted against invoice #1042",
    )

    # 4. Disconnect and reconnect to another company file.
    new_file = _new_company_file(rig, story)
    p.heading(f'The bookkeeper moves to another company file, "{new_file.company_name}"')
    qb.switch_company(new_file)
    disconnection = service.disconnect(user, new_file_id=True)
    p.wrapped(
        f"service.disconnect(new_file_id=True): {disconnection.links} linkages, "
        f"{disconnection.cursors} pull cursors and {disconnection.marks} delivered marks "
        "removed; the follows are kept",
        indent="  ",
    )
    p.wrapped(
        "(A new FileID, because this is another company file: the old file keeps the old "
        "stamp, so if it is opened by mistake later it is refused, not taken for the linked one.)",
        indent="  ",
    )
    checks.expect(disconnection.links == 4, "Disconnect did not remove the four linkages")
    checks.expect(disconnection.cursors == len(_FOLLOWED), "Disconnect did not reset the cursors")
    checks.expect(disconnection.marks >= 1 + len(bills), "Disconnect did not drop the marks")
    data.actuals = Actuals()  # what was pulled belonged to the old file
    before = set(data.delivered)
    p.line("  The app drops what it pulled from the old file.")
    late = service.enqueue(
        user, InvoiceMod(memo="Roof replacement, phase 2"), link="invoice-1042", key="invoice-v3"
    )
    story.jobs["invoice-v3"] = late
    p.line("  queued   invoice-v3     InvoiceMod by link='invoice-1042' (linked in the old file)")
    p.line("  The bookkeeper adds the account's new QWC file with the new file open.")
    rig.wc.add_application(rig.qwc(), password=_PASSWORD)
    rig.sync("the new company file")
    account = service.account(user)
    checks.expect(
        account is not None and account.company_name == new_file.company_name,
        "the account is not linked to the new company file",
    )
    p.heading("Linkages now")
    story.links_table()
    checks.expect(service.links(user) == (), "linkages of the old file survived the Disconnect")
    failed = story.job("invoice-v3")
    error = failed.error
    checks.expect(
        failed.status == "failed" and error is not None and error.code == "unlinked",
        "the Mod by a linkage of the old file did not fail with code unlinked",
    )
    if error is not None:
        p.line(f"  invoice-v3: {failed.status}, {error.code}")
        p.wrapped(error.message, indent="    ")
    checks.expect(not new_file.find("1042"), "the old file's invoice reached the new file")
    checks.expect(len(qb.find("1042")) == 1, "the old file's invoice changed")
    p.heading("The pulls, restored from scratch in the new file")
    shown = story.actuals_table(new_file)
    fresh = set(data.delivered) - before
    new_ids = {ret.txn_id for ret in new_file.records("ReceivePayment")} | {
        ret.txn_id for ret in new_file.records("Bill")
    }
    checks.expect({i for _, i, _ in fresh} == new_ids, "the new file's pulls are incomplete")
    checks.expect(
        shown == {_PROJECT: (Decimal("980.00"), Decimal("750.00"))},
        "the new file's actuals are wrong (or include the old file's)",
    )
    checks.expect(
        all(count == 1 for count in data.delivered.values()), "a change was delivered twice"
    )


def _new_company_file(rig: _Rig, story: _Story) -> FakeQuickBooks:
    """Next year's company file, with its own payment and bill for the roof."""
    new_file = _company(_NEW_FILE)
    _accounting(new_file)
    new_file.seed(Customer=[{"name": _CLIENT}, {"full_name": _PROJECT}])
    p = rig.printer
    p.heading(f'In "{_NEW_FILE}" (never linked to the app) the bookkeeper')
    story.book_payment(new_file, _PROJECT, "750.00", None)
    story.book_bill(new_file, "Bay Roofing Supply", _PROJECT, "980.00")
    return new_file
