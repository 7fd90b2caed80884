"""
Linkages (docs/linkages.md): the host's keys for QuickBooks objects, filled from answers;
Refs by key and Mods/Dels by link resolved when the job is sent.

Every scenario runs the service against the fake QuickBooks through the Web Connector
double (tests/rig.py).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from qbwc.cli import main
from qbwc.exceptions import ConfigurationError, QBXMLValidationError
from qbwc.qbxml import InvoiceAdd, InvoiceLineAdd, Ref, build_request
from qbwc.qbxml._types import vocabulary
from qbwc.store import Job, Link, MemoryStore, SQLiteStore, Store
from tests.rig import USER, Rig


def model(type_name: str, /, **fields: Any) -> Any:
    return vocabulary().model(type_name)(**fields)


def invoice_by_key(customer: str = "cust-1", item: str = "Consulting", **fields: Any) -> Any:
    item_ref = Ref(key=item[4:]) if item.startswith("key:") else Ref(full_name=item)
    return InvoiceAdd(
        customer_ref=Ref(key=customer),
        lines=[InvoiceLineAdd(item_ref=item_ref, quantity=Decimal(2), rate=Decimal("10.00"))],
        **fields,
    )


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "memory":
        return MemoryStore()
    return SQLiteStore(tmp_path / "links.sqlite")


class Recorder:
    """The fake QuickBooks, remembering every request it was sent."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.requests: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def process_request(self, qbxml: str) -> str:
        self.requests.append(qbxml)
        answer: str = self.inner.process_request(qbxml)
        return answer


class LinkRig(Rig):
    def __init__(self, store: Store | None = None, **settings: Any) -> None:
        super().__init__(store, **settings)
        from qbwc.testing import FakeWebConnector
        from qbwc.wsgi import make_wsgi_app
        from tests.rig import PASSWORD

        self.recorder = Recorder(self.qb)
        self.wc = FakeWebConnector(make_wsgi_app(self.service), self.recorder)
        self.wc.add_application(self.qwc(USER), password=PASSWORD)

    def sync(self, sessions: int = 6) -> None:
        for _ in range(sessions):
            self.clock.advance(3600)
            self.run()
            with self.store.transaction() as tx:
                if not tx.next_pending(USER, limit=1) and tx.get_in_flight(USER) is None:
                    return

    def sent(self, tag: str) -> list[str]:
        return [r for r in self.recorder.requests if f"<{tag}Rq" in r]

    def customer(self, list_id: str) -> Any:
        return next((c for c in self.qb.records("Customer") if c.list_id == list_id), None)

    def link(self, key: str) -> Link:
        found = self.service.link(USER, key)
        assert found is not None, key
        return found

    def file_id(self) -> uuid.UUID:
        account = self.service.account(USER)
        assert account is not None
        assert account.linked_file_id is not None
        return account.linked_file_id

    def done(self, job: Job) -> Job:
        job = self.job(job)
        assert job.status == "done", job.error
        return job


def _add_customer(rig: LinkRig, key: str, name: str, **kwargs: Any) -> Job:
    return rig.service.enqueue(USER, model("CustomerAdd", name=name), key=key, **kwargs)


class TestAddsFillLinkages:
    def test_an_add_links_its_key(self, store: Store) -> None:
        rig = LinkRig(store)
        job = _add_customer(rig, "cust-1", "Project Seventeen")
        rig.sync()
        job = rig.done(job)
        link = rig.link("cust-1")
        created = rig.customer(link.list_id or "")
        assert link == Link(
            username=USER,
            key="cust-1",
            type="Customer",
            list_id=job.list_id,
            edit_sequence=created.edit_sequence,
            full_name="Project Seventeen",
            file_id=rig.file_id(),
            seen_at=dt.datetime.fromtimestamp(rig.clock.now, dt.UTC),
        )

    def test_link_names_another_linkage_than_the_key(self) -> None:
        rig = LinkRig()
        _add_customer(rig, "job-9", "Other Name", link="project-9")
        rig.sync()
        assert rig.service.link(USER, "job-9") is None
        assert rig.link("project-9").full_name == "Other Name"

    def test_an_add_without_key_or_link_links_nothing(self) -> None:
        rig = LinkRig()
        rig.service.enqueue(USER, model("CustomerAdd", name="Anonymous"))
        rig.sync()
        assert rig.service.links(USER) == ()

    def test_a_transaction_links_its_txn_id(self) -> None:
        rig = LinkRig()
        customer = _add_customer(rig, "cust-1", "Txn Customer")
        job = rig.service.enqueue(USER, invoice_by_key(), key="inv-1", after=customer)
        rig.sync()
        job = rig.done(job)
        link = rig.link("inv-1")
        assert (link.type, link.txn_id, link.list_id, link.full_name) == (
            "Invoice",
            job.txn_id,
            None,
            None,
        )
        assert link.edit_sequence == rig.qb.transaction(job.txn_id or "").edit_sequence


class TestRefsByKey:
    def test_resolved_at_send_time_with_after(self, store: Store) -> None:
        rig = LinkRig(store)
        customer = _add_customer(rig, "cust-1", "Keyed Customer")
        job = rig.service.enqueue(USER, invoice_by_key(), key="inv-1", after=customer)
        assert job.qbxml is None  # rendered when sent
        rig.sync()
        job = rig.done(job)
        list_id = rig.link("cust-1").list_id
        assert rig.qb.transaction(job.txn_id or "").customer_ref.list_id == list_id
        (sent,) = rig.sent("InvoiceAdd")
        assert f"<CustomerRef><ListID>{list_id}</ListID></CustomerRef>" in sent

    def test_keys_in_lines_too(self) -> None:
        rig = LinkRig()
        consulting = rig.qb.item("Consulting").list_id
        customer = _add_customer(rig, "cust-1", "Lines Customer")
        rig.sync()
        file_id = rig.file_id()
        with rig.store.transaction() as tx:  # linked by hand, as the store keeps it
            tx.get_account(USER, for_update=True)
            tx.put_link(
                Link(
                    username=USER,
                    key="code-7",
                    type="ItemService",
                    list_id=consulting,
                    file_id=file_id,
                    seen_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                )
            )
        job = rig.service.enqueue(USER, invoice_by_key(item="key:code-7"), after=customer)
        rig.sync()
        job = rig.done(job)
        assert rig.qb.transaction(job.txn_id or "").lines[0].item_ref.list_id == consulting

    def test_unresolvable_fails_before_anything_is_sent(self, store: Store) -> None:
        failed: list[Job] = []
        rig = LinkRig(store, on_job_failed=failed.append)
        job = rig.service.enqueue(USER, invoice_by_key("nobody"), key="inv-1")
        rig.sync()
        job = rig.job(job)
        assert job.status == "failed"
        assert job.error is not None
        assert job.error.code == "unlinked"
        assert "'nobody'" in job.error.message
        assert "InvoiceAdd.customer_ref" in job.error.message
        assert "after=" in job.error.message
        assert rig.sent("InvoiceAdd") == []
        assert [j.id for j in failed] == [job.id]
        # Linked later (an Add with that key), a retry sends it.
        _add_customer(rig, "nobody", "Somebody Now")
        rig.sync()
        rig.service.retry(job.id)
        rig.sync()
        rig.done(job)
        assert len(rig.sent("InvoiceAdd")) == 1

    def test_after_a_job_that_did_not_create_it(self) -> None:
        rig = LinkRig()
        other = _add_customer(rig, "cust-2", "Not The One")
        job = rig.service.enqueue(USER, invoice_by_key("cust-1"), after=other)
        rig.sync()
        job = rig.job(job)
        assert job.error is not None
        assert job.error.code == "unlinked"
        assert f"job {other.id}" in job.error.message
        assert rig.sent("InvoiceAdd") == []

    def test_a_failed_creator_fails_the_waiting_job_as_dependency(self) -> None:
        rig = LinkRig()
        creator = _add_customer(rig, "cust-1", "Acme Corp")  # a duplicate name: 3100
        job = rig.service.enqueue(USER, invoice_by_key(), after=creator)
        rig.sync()
        assert rig.job(creator).status == "failed"
        job = rig.job(job)
        assert job.error is not None
        assert job.error.code == "dependency"
        assert rig.sent("InvoiceAdd") == []

    def test_a_link_to_a_transaction_is_no_ref(self) -> None:
        rig = LinkRig()
        customer = _add_customer(rig, "cust-1", "Has Invoice")
        first = rig.service.enqueue(USER, invoice_by_key(), key="inv-1", after=customer)
        second = rig.service.enqueue(USER, invoice_by_key("inv-1"), after=first)
        rig.sync()
        job = rig.job(second)
        assert job.error is not None
        assert job.error.code == "unlinked"
        assert "Invoice transaction" in job.error.message
        assert len(rig.sent("InvoiceAdd")) == 1

    def test_only_links_of_the_linked_company_file(self, store: Store) -> None:
        rig = LinkRig(store)
        rig.sync()  # links the account to the fake's file
        acme = rig.qb.customer("Acme Corp").list_id
        with rig.store.transaction() as tx:
            tx.get_account(USER, for_update=True)
            tx.put_link(
                Link(
                    username=USER,
                    key="old-file",
                    type="Customer",
                    list_id=acme,
                    file_id=uuid.uuid4(),  # another company file
                    seen_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                )
            )
        job = rig.service.enqueue(USER, invoice_by_key("old-file"))
        rig.sync()
        job = rig.job(job)
        assert job.error is not None
        assert job.error.code == "unlinked"
        assert rig.sent("InvoiceAdd") == []


class TestModsByLink:
    def _linked(self, store: Store | None = None, **settings: Any) -> tuple[LinkRig, str]:
        rig = LinkRig(store, **settings)
        _add_customer(rig, "cust-1", "Mod Me")
        rig.sync()
        return rig, rig.link("cust-1").list_id or ""

    def test_id_and_edit_sequence_from_the_link(self, store: Store) -> None:
        rig, list_id = self._linked(store)
        job = rig.service.enqueue(
            USER, model("CustomerMod", name="Modded"), link="cust-1", key="mod-1"
        )
        rig.sync()
        job = rig.done(job)
        assert job.list_id == list_id
        assert rig.customer(list_id).name == "Modded"
        assert len(rig.sent("CustomerMod")) == 1
        assert rig.sent("CustomerQuery") == []  # the EditSequence came from the link
        link = rig.link("cust-1")
        assert link.full_name == "Modded"
        assert link.edit_sequence == rig.customer(list_id).edit_sequence
        # The same key again is the same job (its request as queued).
        again = rig.service.enqueue(
            USER, model("CustomerMod", name="Modded"), link="cust-1", key="mod-1"
        )
        assert again.id == job.id
        with pytest.raises(ConfigurationError) as caught:
            rig.service.enqueue(
                USER, model("CustomerMod", name="Modded"), link="cust-2", key="mod-1"
            )
        assert caught.value.field == "key"

    def test_edited_at_the_desk_reads_and_sends_once_more(self, store: Store) -> None:
        rig, list_id = self._linked(store)
        rig.qb.touch("Customer", list_id)  # someone at the desk: the link's ES is old
        job = rig.service.enqueue(USER, model("CustomerMod", name="After Desk"), link="cust-1")
        rig.sync()
        rig.done(job)
        assert len(rig.sent("CustomerMod")) == 2  # 3200, then again with the ES read
        assert len(rig.sent("CustomerQuery")) == 1
        assert rig.customer(list_id).name == "After Desk"
        assert rig.link("cust-1").edit_sequence == rig.customer(list_id).edit_sequence

    def test_edited_at_the_desk_twice_fails_with_reason(self) -> None:
        rig, list_id = self._linked()

        class Desk(Recorder):
            def process_request(self, qbxml: str) -> str:
                answer = super().process_request(qbxml)
                if "<IncludeRetElement>EditSequence" in qbxml:
                    rig.qb.touch("Customer", list_id)
                return answer

        from qbwc.testing import FakeWebConnector
        from qbwc.wsgi import make_wsgi_app
        from tests.rig import PASSWORD

        rig.recorder = Desk(rig.qb)
        rig.wc = FakeWebConnector(make_wsgi_app(rig.service), rig.recorder)
        rig.wc.add_application(rig.qwc(USER), password=PASSWORD)
        rig.qb.touch("Customer", list_id)
        job = rig.service.enqueue(USER, model("CustomerMod", name="Never"), link="cust-1")
        rig.sync()
        job = rig.job(job)
        assert job.status == "failed"
        assert job.error is not None
        assert job.error.code == "3200"
        assert f"ListID {list_id} was changed in QuickBooks meanwhile" in job.error.message
        assert rig.customer(list_id).name == "Mod Me"

    def test_a_mod_with_its_own_edit_sequence_keeps_it(self) -> None:
        rig, list_id = self._linked()
        stale = rig.customer(list_id).edit_sequence
        rig.qb.touch("Customer", list_id)
        job = rig.service.enqueue(
            USER, model("CustomerMod", name="Mine", edit_sequence=stale), link="cust-1"
        )
        rig.sync()
        job = rig.job(job)
        assert job.error is not None
        assert job.error.code == "3200"  # the host's EditSequence is not replaced
        assert len(rig.sent("CustomerMod")) == 1

    def test_unlinked_mod_fails_before_anything_is_sent(self) -> None:
        rig = LinkRig()
        job = rig.service.enqueue(USER, model("CustomerMod", name="X"), link="nobody")
        rig.sync()
        job = rig.job(job)
        assert job.error is not None
        assert job.error.code == "unlinked"
        assert "'nobody'" in job.error.message
        assert rig.sent("CustomerMod") == []
        assert rig.sent("CustomerQuery") == []

    def test_a_mod_waits_for_the_add_that_creates_its_link(self) -> None:
        rig = LinkRig()
        add = _add_customer(rig, "cust-1", "Created First")
        job = rig.service.enqueue(USER, model("CustomerMod", name="Then Changed"), link="cust-1",
                                  after=add)  # fmt: skip
        rig.sync()
        rig.done(job)
        assert rig.link("cust-1").full_name == "Then Changed"

    def test_a_mod_without_link_refreshes_the_links_to_its_object(self) -> None:
        rig, list_id = self._linked()
        es = rig.customer(list_id).edit_sequence
        job = rig.service.enqueue(
            USER, model("CustomerMod", list_id=list_id, edit_sequence=es, name="By ID")
        )
        rig.sync()
        rig.done(job)
        link = rig.link("cust-1")
        assert link.full_name == "By ID"
        assert link.edit_sequence == rig.customer(list_id).edit_sequence

    def test_an_invoice_mod_by_link(self) -> None:
        rig = LinkRig()
        customer = _add_customer(rig, "cust-1", "Invoice Owner")
        add = rig.service.enqueue(USER, invoice_by_key(), key="inv-1", after=customer)
        job = rig.service.enqueue(USER, model("InvoiceMod", memo="changed"), link="inv-1",
                                  after=add)  # fmt: skip
        rig.sync()
        job = rig.done(job)
        txn_id = rig.link("inv-1").txn_id
        assert job.txn_id == txn_id
        assert rig.qb.transaction(txn_id or "").memo == "changed"
        assert rig.link("inv-1").edit_sequence == rig.qb.transaction(txn_id or "").edit_sequence


class TestDeletes:
    def test_list_del_by_link_removes_the_link(self, store: Store) -> None:
        rig = LinkRig(store)
        add = _add_customer(rig, "cust-1", "Doomed")
        job = rig.service.enqueue(USER, model("ListDel", list_del_type="Customer"), link="cust-1",
                                  after=add)  # fmt: skip
        rig.sync()
        job = rig.done(job)
        assert rig.customer(job.list_id or "") is None
        assert rig.service.link(USER, "cust-1") is None

    def test_txn_del_by_link_removes_every_link_to_it(self) -> None:
        rig = LinkRig()
        customer = _add_customer(rig, "cust-1", "Invoice Deleter")
        add = rig.service.enqueue(USER, invoice_by_key(), key="inv-1", after=customer)
        rig.sync()
        txn_id = rig.link("inv-1").txn_id
        alias = attrs_evolve(rig.link("inv-1"), key="inv-alias")
        with rig.store.transaction() as tx:
            tx.get_account(USER, for_update=True)
            tx.put_link(alias)
        job = rig.service.enqueue(USER, model("TxnDel", txn_del_type="Invoice"), link="inv-1",
                                  after=add)  # fmt: skip
        rig.sync()
        job = rig.done(job)
        assert job.txn_id == txn_id
        assert rig.service.links(USER, type="Invoice") == ()
        assert [link.key for link in rig.service.links(USER)] == ["cust-1"]

    def test_a_list_del_by_id_removes_the_links_to_it(self) -> None:
        rig = LinkRig()
        _add_customer(rig, "cust-1", "Deleted By ID")
        rig.sync()
        list_id = rig.link("cust-1").list_id
        rig.service.enqueue(USER, model("ListDel", list_del_type="Customer", list_id=list_id))
        rig.sync()
        assert rig.service.links(USER) == ()


def attrs_evolve(link: Link, **changes: Any) -> Link:
    import attrs

    return attrs.evolve(link, **changes)


class TestQueriesRefresh:
    @pytest.mark.parametrize("page_size", [None, 1])
    def test_a_query_refreshes_the_links_to_what_it_returns(self, page_size: int | None) -> None:
        rig = LinkRig()
        _add_customer(rig, "cust-1", "Seen Again")
        rig.sync()
        list_id = rig.link("cust-1").list_id or ""
        before = rig.link("cust-1")
        rig.clock.advance(60)
        new_es = rig.qb.touch("Customer", list_id)  # edited at the desk
        query = model("CustomerQuery", list_id=(list_id,)) if page_size is None else model(
            "CustomerQuery", name_filter=model("NameFilter", match_criterion="StartsWith",
                                               name="Seen"))  # fmt: skip
        job = rig.service.enqueue(USER, query, page_size=page_size)
        rig.sync()
        rig.done(job)
        after = rig.link("cust-1")
        assert after.edit_sequence == new_es
        assert after.seen_at > before.seen_at
        assert (after.list_id, after.key, after.type) == (before.list_id, "cust-1", "Customer")


class TestEnqueueRules:
    @pytest.mark.parametrize(
        ("request_type", "fields"),
        [("CustomerQuery", {}), ("InvoiceQuery", {})],
    )
    def test_link_is_for_writes(self, request_type: str, fields: dict[str, Any]) -> None:
        rig = LinkRig()
        with pytest.raises(ConfigurationError) as caught:
            rig.service.enqueue(USER, model(request_type, **fields), link="x")
        assert caught.value.field == "link"
        assert "has no linkage" in str(caught.value)

    @pytest.mark.parametrize("bad", ["", " x", "x\n", "x" * 256, 7])
    def test_link_follows_the_rule_of_keys(self, bad: Any) -> None:
        rig = LinkRig()
        with pytest.raises(ConfigurationError) as caught:
            rig.service.enqueue(USER, model("CustomerAdd", name="A"), link=bad)
        assert caught.value.field == "link"

    def test_a_bad_ref_by_key_fails_at_enqueue(self) -> None:
        rig = LinkRig()
        with pytest.raises(QBXMLValidationError) as caught:
            rig.service.enqueue(USER, InvoiceAdd(customer_ref=Ref(key="k", full_name="Acme Corp")))
        assert caught.value.path == "InvoiceAdd.customer_ref.key"
        assert rig.service.jobs(USER) == ()

    def test_a_bad_mod_by_link_fails_at_enqueue(self) -> None:
        """The rest of the request is checked at enqueue (a placeholder ID stands in)."""
        rig = LinkRig()
        with pytest.raises(QBXMLValidationError) as caught:
            rig.service.enqueue(USER, model("CustomerMod", name="x" * 42), link="cust-1")
        assert caught.value.path == "CustomerMod.name"
        with pytest.raises(QBXMLValidationError):
            rig.service.enqueue(USER, invoice_by_key(memo="x" * 5000))
        assert rig.service.jobs(USER) == ()

    def test_link_on_an_add_that_creates_no_object(self) -> None:
        rig = LinkRig()
        request = model("DataExtDefAdd", owner_id="0", data_ext_name="Phase",
                        data_ext_type="STR255TYPE", assign_to_object=("Customer",))  # fmt: skip
        with pytest.raises(ConfigurationError) as caught:
            rig.service.enqueue(USER, request, link="phase")
        assert caught.value.field == "link"
        assert "nothing to link" in str(caught.value)

    def test_a_del_without_its_type_fails_at_enqueue(self) -> None:
        rig = LinkRig()
        with pytest.raises(QBXMLValidationError):
            rig.service.enqueue(USER, model("ListDel"), link="cust-1")


class TestAPI:
    def test_link_links_unlink(self, store: Store) -> None:
        rig = LinkRig(store)
        for key, name in (("b", "Bee"), ("a", "Ay")):
            _add_customer(rig, key, name)
        customer = _add_customer(rig, "c", "Sea")
        rig.service.enqueue(USER, invoice_by_key("c"), key="inv", after=customer)
        rig.sync()
        assert [link.key for link in rig.service.links(USER)] == ["a", "b", "c", "inv"]
        assert [link.key for link in rig.service.links(USER, type="Invoice")] == ["inv"]
        assert rig.service.links(USER, type="Vendor") == ()
        assert rig.service.unlink(USER, "a") is True
        assert rig.service.unlink(USER, "a") is False
        assert rig.service.link(USER, "a") is None
        assert customer_exists(rig, "Ay")  # the object stays in QuickBooks

    @pytest.mark.parametrize("call", ["link", "unlink"])
    def test_bad_names(self, call: str) -> None:
        rig = LinkRig()
        with pytest.raises(ConfigurationError) as caught:
            getattr(rig.service, call)(USER, "")
        assert caught.value.field == "key"
        with pytest.raises(ConfigurationError) as caught:
            getattr(rig.service, call)(" bob", "k")
        assert caught.value.field == "username"
        with pytest.raises(ConfigurationError) as caught:
            rig.service.links(USER, type="")
        assert caught.value.field == "type"


def customer_exists(rig: LinkRig, name: str) -> bool:
    return any(c.name == name for c in rig.qb.records("Customer"))


class TestCommandLine:
    def test_enqueue_link_and_links(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        db = str(tmp_path / "q.sqlite")
        monkeypatch.setattr("sys.stdin", io.StringIO("pw\n"))
        assert main(["account", "add", "kristy", "--password-stdin", "--db", db]) == 0
        source = tmp_path / "add.json"
        source.write_text(json.dumps({"type": "CustomerAdd", "name": "From CLI"}))
        assert main(["enqueue", str(source), "--user", "kristy", "--link", "p-1", "--db", db]) == 0
        assert main(["links", "kristy", "--db", db]) == 0
        out = capsys.readouterr().out
        assert "no linkages for 'kristy'" in out
        # Linked (as a sync would), the table shows it.
        store = SQLiteStore(tmp_path / "q.sqlite")
        with store.transaction() as tx:
            tx.get_account("kristy", for_update=True)
            tx.put_link(
                Link(
                    username="kristy",
                    key="p-1",
                    type="Customer",
                    list_id="80000001-1",
                    edit_sequence="1700000000",
                    full_name="From CLI",
                    file_id=uuid.uuid4(),
                    seen_at=dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC),
                )
            )
        store.close()
        assert main(["links", "kristy", "--db", db]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].split() == ["KEY", "TYPE", "TXNID/LISTID", "EDITSEQUENCE", "FULL",
                                    "NAME", "SEEN"]  # fmt: skip
        assert lines[1].split() == ["p-1", "Customer", "80000001-1", "1700000000", "From",
                                    "CLI", "2026-01-02", "03:04"]  # fmt: skip
        assert main(["links", "kristy", "--type", "Invoice", "--db", db]) == 0
        assert "no linkages to a Invoice" in capsys.readouterr().out

    def test_errors_are_messages(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        db = str(tmp_path / "q.sqlite")
        monkeypatch.setattr("sys.stdin", io.StringIO("pw\n"))
        assert main(["account", "add", "kristy", "--password-stdin", "--db", db]) == 0
        capsys.readouterr()
        query = tmp_path / "q.json"
        query.write_text(json.dumps({"type": "CustomerQuery"}))
        assert main(["enqueue", str(query), "--user", "kristy", "--link", "x", "--db", db]) != 0
        err = capsys.readouterr().err
        assert "link" in err
        assert "Traceback" not in err
        two = tmp_path / "two.json"
        two.write_text(json.dumps([{"type": "CustomerAdd", "name": "A"},
                                   {"type": "CustomerAdd", "name": "B"}]))  # fmt: skip
        assert main(["enqueue", str(two), "--user", "kristy", "--link", "x", "--db", db]) != 0
        assert "give one request" in capsys.readouterr().err
        assert main(["links", "nobody", "--db", db]) != 0
        assert "no account 'nobody'" in capsys.readouterr().err
        missing = str(tmp_path / "none.sqlite")
        assert main(["links", "kristy", "--db", missing]) != 0
        assert not Path(missing).exists()


def test_build_request_refuses_an_unresolved_key() -> None:
    with pytest.raises(QBXMLValidationError) as caught:
        build_request([invoice_by_key()])
    assert caught.value.path == "InvoiceAdd.customer_ref.key"


def test_the_story_over_real_http(tmp_path: Path) -> None:
    """
    The Web Connector double over a real socket, SQLite store: a customer and an item by key,
    an invoice referring to both by key, the customer changed at the desk and then by link
    (3200, read, sent again), the invoice changed and deleted by link.
    """
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from qbwc.testing import http_transport
    from qbwc.wsgi import make_wsgi_app

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    rig = LinkRig(SQLiteStore(tmp_path / "story.sqlite"))
    server = make_server("127.0.0.1", 0, make_wsgi_app(rig.service), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        rig.wc.transport = http_transport(f"http://127.0.0.1:{server.server_port}/qbwc")
        customer = _add_customer(rig, "project-17", "Project Seventeen")
        item = rig.service.enqueue(
            USER,
            model("ItemServiceAdd", name="Framing",
                  sales_or_purchase=model("SalesOrPurchase", price=Decimal("40.00"),
                                          account_ref=Ref(full_name="Services"))),
            key="code-4",
        )  # fmt: skip
        invoice = rig.service.enqueue(
            USER, invoice_by_key("project-17", "key:code-4"), key="inv-1", after=item
        )
        rig.sync()
        for job in (customer, item, invoice):
            rig.done(job)
        list_id = rig.link("project-17").list_id or ""
        rig.qb.touch("Customer", list_id)  # changed at the desk
        mod = rig.service.enqueue(
            USER, model("CustomerMod", name="Project 17 Ltd"), link="project-17"
        )
        memo = rig.service.enqueue(USER, model("InvoiceMod", memo="phase 2"), link="inv-1")
        rig.sync()
        rig.done(mod)
        rig.done(memo)
        txn_id = rig.link("inv-1").txn_id or ""
        assert rig.customer(list_id).name == "Project 17 Ltd"
        assert rig.qb.transaction(txn_id).memo == "phase 2"
        assert rig.qb.transaction(txn_id).lines[0].item_ref.list_id == rig.link("code-4").list_id
        delete = rig.service.enqueue(
            USER, model("TxnDel", txn_del_type="Invoice"), link="inv-1", after=memo
        )
        rig.sync()
        rig.done(delete)
    finally:
        server.shutdown()
        server.server_close()
    assert [link.key for link in rig.service.links(USER)] == ["code-4", "project-17"]
    assert rig.link("project-17").full_name == "Project 17 Ltd"
    assert len(rig.sent("CustomerMod")) == 2  # 3200 once, then with the EditSequence read
    assert len(rig.sent("InvoiceAdd")) == 1
    assert not any(t.txn_id == txn_id for t in rig.qb.invoices)
