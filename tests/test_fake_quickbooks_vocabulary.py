"""
FakeQuickBooks over the whole qbXML vocabulary: every Add, Mod and Query type of
the generated registry, exhaustively (the registry is a finite table).
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qbwc.qbxml import build_request, parse_response, validate
from qbwc.qbxml._models import DURATION_TAGS, REQUESTS, RESPONSES, model
from qbwc.qbxml._parse import Response
from qbwc.qbxml._types import Kind, Ref, Spec, choice_path, format_guid, specs
from qbwc.testing import FakeQuickBooks
from qbwc.testing._quickbooks_dispatch import operation
from qbwc.testing._quickbooks_vocab import object_type, object_types, ref_targets
from qbwc.testing._spec_strategies import models as spec_models

TZ = dt.timezone(dt.timedelta(hours=-8))
START = dt.datetime(2024, 5, 1, 9, 30, tzinfo=TZ)

ADD_TYPES = sorted(n[:-3] for n in REQUESTS if n.endswith("Add") and operation(REQUESTS[n]))
MOD_TYPES = sorted(n[:-3] for n in REQUESTS if n.endswith("Mod") and operation(REQUESTS[n]))
QUERY_TYPES = sorted(n for n in REQUESTS if n.endswith("Query"))
#: Requests that are no list or transaction object: the fake refuses them loudly.
NOT_EXECUTED = sorted(n for n in REQUESTS if operation(REQUESTS[n]) is None)
#: The transactions a minimal payment or refund applies to.
PAID_WITH = {"BillPaymentCheck": "Bill", "BillPaymentCreditCard": "Bill",
             "ARRefundCreditCard": "CreditMemo"}  # fmt: skip


class Minimal:
    """Minimal valid request models built from the field specs, Refs to real objects."""

    def __init__(self, qb: FakeQuickBooks) -> None:
        self.qb = qb
        self.top = ""
        self.counter = itertools.count(1)
        self.making: set[str] = set()

    def text(self, spec: Spec) -> str:
        if spec.tag == "TxnID" and self.top in PAID_WITH:
            paid = PAID_WITH[self.top]
            top, self.top = self.top, paid
            try:
                return str(self.add(paid).txn_id)
            finally:
                self.top = top
        if spec.tag in DURATION_TAGS:
            return "PT1H"
        if spec.tag == "CurrencyCode":
            return "X" + chr(ord("A") + next(self.counter) % 26) + "Z"
        value = f"T{next(self.counter)}"
        limit = spec.max_len or 31
        return value[-limit:]

    def ref(self, tag: str) -> Ref:
        targets = ref_targets(tag)
        for name in targets:
            existing = self.qb.records(name)
            if existing:
                return Ref(list_id=existing[0].list_id if object_types()[name].is_list else None,
                           full_name=_name(existing[0]))  # fmt: skip
        for name in targets:
            if name not in self.making and f"{name}Add" in REQUESTS:
                ret = self.add(name)
                return Ref(list_id=ret.list_id, full_name=_name(ret))
        return Ref(full_name="Anything")

    def add(self, name: str) -> Any:
        self.making.add(name)
        try:
            response = run(self.qb, self.build(model(f"{name}Add")))
        finally:
            self.making.discard(name)
        assert response.status_code == 0, (name, response.status_message)
        return response.ret

    def value(self, spec: Spec, field: str) -> Any:
        kind = spec.kind
        if kind is Kind.AGG:
            if Ref in spec.model:
                return self.ref(spec.tag)
            return self.build(spec.model[0])
        if kind in (Kind.STR, Kind.ID, Kind.DURATION):
            return self.text(spec)
        if kind is Kind.ENUM:
            return spec.values[0]
        if kind is Kind.BOOL:
            return True
        if kind is Kind.INT:
            return spec.minimum if spec.minimum is not None else 1
        if kind in (Kind.AMT, Kind.PRICE, Kind.QUAN, Kind.PERCENT, Kind.FLOAT):
            return Decimal("1.00")
        if kind is Kind.DATE:
            return dt.date(2024, 5, 1)
        if kind is Kind.DATETIME:
            return START
        if kind is Kind.GUID:
            return format_guid(uuid.uuid4())
        if kind is Kind.DURATION:
            return "PT8H30M"
        raise AssertionError(field)

    def build(self, cls: type) -> Any:
        fields = specs(cls)
        chosen: dict[str, str] = {}  # choice group -> the alternative taken
        kwargs: dict[str, Any] = {}
        for name, spec in fields:
            path = choice_path(name, spec.choice)
            needed = spec.required or spec.min_count > 0
            if spec.choice_required and path:
                group, alternative = path[0]
                needed = chosen.setdefault(group, alternative) == alternative
            if not needed or spec.attribute:
                continue
            value = self.value(spec, name)
            kwargs[name] = (value,) if spec.many else value
        return cls(**kwargs)


def _name(ret: Any) -> str | None:
    for field in ("full_name", "name", "initial"):
        value = getattr(ret, field, None)
        if value is not None:
            return str(value)
    return None


def run(qb: FakeQuickBooks, request: Any) -> Response:
    document = build_request([request], version="16.0").decode()
    answer = qb.process_request(document)
    validate(answer)  # the answer is valid qbXML for our schema
    (response,) = parse_response(answer).responses
    return response


def make() -> FakeQuickBooks:
    return FakeQuickBooks.sample(clock=lambda: START)


def test_the_tables_cover_the_registry() -> None:
    """Every request of the vocabulary is executed or in the short refused list."""
    assert len(ADD_TYPES) >= 70
    assert len(QUERY_TYPES) == 106
    assert NOT_EXECUTED == [
        "AlertAdd", "AlertDel", "ClearedStatusMod", "DataEventRecoveryInfoDel", "DataExtAdd",
        "DataExtDefAdd", "DataExtDefDel", "DataExtDefMod", "DataExtDel", "DataExtMod",
        "EmployeeDefaultMod", "Form1099CategoryAccountMappingMod", "ListDisplayAdd",
        "ListDisplayMod", "ListMerge", "PreferencesMod", "QBCommandExec", "SpecialAccountAdd",
        "SpecialItemAdd", "TxnDisplayAdd", "TxnDisplayMod",
    ]  # fmt: skip


@pytest.mark.parametrize("name", ADD_TYPES)
def test_every_add_creates_a_record_and_answers_its_ret(name: str) -> None:
    qb = make()
    minimal = Minimal(qb)
    minimal.top = name
    request = minimal.build(model(f"{name}Add"))
    response = run(qb, request)
    assert response.status_code == 0, response.status_message
    ret = response.ret
    otype = object_type(name)
    assert otype is not None
    assert type(ret).__name__ == f"{name}Ret"
    assert getattr(ret, otype.id_field)
    assert ret.edit_sequence
    assert ret.time_created == ret.time_modified == START
    # It is stored: the records show it, and a query of its type finds it by ID.
    assert ret in qb.records(name) or name == "Customer"
    query = f"{name}Query"
    if query in REQUESTS and otype.id_field in dict(specs(model(query))):
        found = run(qb, model(query)(**{otype.id_field: [getattr(ret, otype.id_field)]}))
        assert found.status_code == 0, found.status_message
        assert [getattr(r, otype.id_field) for r in found.rets] == [getattr(ret, otype.id_field)]


@pytest.mark.parametrize("name", MOD_TYPES)
def test_every_mod_checks_the_edit_sequence_and_bumps_it(name: str) -> None:
    qb = make()
    minimal = Minimal(qb)
    minimal.top = name
    ret = minimal.add(name)
    otype = object_type(name)
    assert otype is not None
    mod = model(f"{name}Mod")
    identity = {otype.id_field: getattr(ret, otype.id_field)}
    stale = run(qb, minimal_mod(minimal, mod, identity, "1"))
    assert stale.status_code == 3200
    assert stale.status_message.startswith('The provided edit sequence "1" is out-of-date.')
    changed = run(qb, minimal_mod(minimal, mod, identity, ret.edit_sequence))
    assert changed.status_code == 0, changed.status_message
    assert changed.ret.edit_sequence != ret.edit_sequence
    again = run(qb, minimal_mod(minimal, mod, identity, ret.edit_sequence))
    assert again.status_code == 3200


def minimal_mod(minimal: Minimal, mod: type, identity: dict[str, str], sequence: str) -> Any:
    base = minimal.build(mod)
    import attrs

    return attrs.evolve(base, edit_sequence=sequence, **identity)


def _del_values(request: str) -> tuple[str, ...]:
    """The object types a ListDel, TxnDel or TxnVoid names (its type field's enumeration)."""
    ((_, spec),) = [(n, s) for n, s in specs(model(request)) if n.endswith("_type")]
    return spec.values


#: (request, object type) for every object type the fake can add and the request names.
DELETES = [
    (request, name)
    for request in ("ListDel", "TxnDel", "TxnVoid")
    for name in _del_values(request)
    if name in ADD_TYPES
]


@pytest.mark.parametrize(("request_name", "name"), DELETES)
def test_every_del_and_void_answers_its_typed_ret(request_name: str, name: str) -> None:
    """The ListDelRs/TxnDelRs/TxnVoidRs of every object type: valid for our schema, typed."""
    qb = make()
    minimal = Minimal(qb)
    minimal.top = name
    ret = minimal.add(name)
    otype = object_type(name)
    assert otype is not None
    identity = getattr(ret, otype.id_field)
    type_field = {"ListDel": "list_del_type", "TxnDel": "txn_del_type"}.get(
        request_name, "txn_void_type"
    )
    request = model(request_name)(**{type_field: name, otype.id_field: identity})
    response = run(qb, request)  # validates the answer against schemas/qbxml.xsd
    assert response.status_code == 0, response.status_message
    assert type(response.ret).__name__ == f"{request_name}Ret"
    assert response.raw is None
    assert getattr(response.ret, type_field) == name
    assert getattr(response.ret, otype.id_field) == identity
    if request_name == "TxnVoid":
        assert response.ret.time_modified == START
    else:
        assert response.ret.time_deleted == START
    if request_name != "TxnVoid":  # (voiding twice is allowed)
        again = run(qb, request)
        assert (again.status_code, again.ret) == (3120, None)  # gone: an error, no Ret


@pytest.mark.parametrize("name", QUERY_TYPES)
def test_every_query_answers(name: str) -> None:
    qb = make()
    request = Minimal(qb).build(model(name))
    response = run(qb, request)
    assert response.status_code in (0, 1), response.status_message
    assert response.status_severity == "Info"
    if response.status_code == 1:
        assert response.rets == ()
        assert response.status_message == (
            "A query request did not find a matching object in QuickBooks"
        )
    expected = RESPONSES[f"{name}Rs"]
    assert all(type(r).__name__ in expected for r in response.rets)


@pytest.mark.parametrize("name", NOT_EXECUTED)
def test_other_requests_are_refused_loudly(name: str) -> None:
    document = (
        '<?xml version="1.0"?>\n<?qbxml version="16.0"?>\n<QBXML><QBXMLMsgsRq onError='
        f'"stopOnError"><{REQUESTS[name]} requestID="1"/></QBXMLMsgsRq></QBXML>'
    )
    with pytest.raises(NotImplementedError, match=REQUESTS[name]):
        make().process_request(document)


# --- every fault injection works for every type -----------------------------------------


def _count(qb: FakeQuickBooks, name: str) -> int:
    return len(qb.records(name))


def _prepared(name: str) -> tuple[FakeQuickBooks, Any]:
    qb = make()
    minimal = Minimal(qb)
    minimal.top = name
    request = minimal.build(model(f"{name}Add"))
    return qb, request


@pytest.mark.parametrize("name", ADD_TYPES)
def test_fail_next_error_is_not_executed(name: str) -> None:
    """An injected error (3180): the Add answers it, and nothing is created."""
    qb, request = _prepared(name)
    before = _count(qb, name)
    qb.fail_next(3180)
    response = run(qb, request)
    assert (response.status_code, response.status_severity, response.ret) == (3180, "Error", None)
    assert name in response.status_message
    assert _count(qb, name) == before
    assert qb.pending_faults == 0


@pytest.mark.parametrize("name", ADD_TYPES)
def test_fail_next_warning_still_executes(name: str) -> None:
    """An injected warning (530): the Add runs and carries the warning."""
    qb, request = _prepared(name)
    before = _count(qb, name)
    qb.fail_next(530, "Unsupported field ignored.")
    response = run(qb, request)
    assert (response.status_code, response.status_severity) == (530, "Warn")
    assert response.ret is not None
    assert _count(qb, name) == before + 1


@pytest.mark.parametrize("name", ADD_TYPES)
def test_lost_response_then_error_recovery_replays(name: str) -> None:
    """A lost answer: the object exists once; resending the set replays its identity."""
    from qbwc.testing import ResponseLost

    qb, request = _prepared(name)
    before = _count(qb, name)
    qb.lose_next_response()
    document = build_request([request], version="16.0", message_set_id="job-1").decode()
    with pytest.raises(ResponseLost) as info:
        qb.process_request(document)
    lost = parse_response(info.value.response).responses[0].ret
    assert _count(qb, name) == before + 1
    replay = parse_response(qb.process_request(document)).responses[0]
    assert _count(qb, name) == before + 1  # not written twice
    assert replay.error_recovery is not None
    otype = object_type(name)
    assert otype is not None
    assert getattr(replay.error_recovery, otype.id_field) == getattr(lost, otype.id_field)
    assert replay.error_recovery.edit_sequence == lost.edit_sequence
    assert qb.replays == 1


@pytest.mark.parametrize("name", QUERY_TYPES)
def test_fail_next_on_a_query(name: str) -> None:
    """Queries take injected statuses too."""
    qb = make()
    request = Minimal(qb).build(model(name))
    qb.fail_next(1000)
    response = run(qb, request)
    assert (response.status_code, response.rets) == (1000, ())
    assert response.status_message == "There was an internal error when processing the request."


# --- any request the spec strategies draw gets a valid answer, never a crash ---------

_KNOWN_REFUSALS = {3000, 3070, 3100, 3120, 3140, 3170, 3200, 3210, 3250}


def _answer(qb: FakeQuickBooks, request: Any) -> Response | None:
    """The answer, checked valid; None when the fake refuses a filter it does not implement."""
    import attrs

    # IncludeRetElement leaves out elements our schema requires (QuickBooks does too).
    if hasattr(request, "include_ret_element"):
        request = attrs.evolve(request, include_ret_element=())
    document = build_request([request], version="16.0").decode()
    try:
        answer = qb.process_request(document)
    except NotImplementedError as exc:
        message = str(exc)
    else:
        validate(answer)
        (response,) = parse_response(answer).responses
        return response
    assert "does not implement" in message
    return None


@pytest.mark.parametrize("name", ADD_TYPES)
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_add_is_answered(name: str, data: st.DataObject) -> None:
    """Any valid Add (fields drawn from the specs, Refs mostly to nothing) gets a valid answer."""
    qb = make()
    request = data.draw(spec_models(model(f"{name}Add")))
    response = _answer(qb, request)
    assert response is not None
    assert response.status_code == 0 or response.status_code in _KNOWN_REFUSALS, (
        response.status_message
    )
    assert (response.ret is not None) == (response.status_code == 0)


@pytest.mark.parametrize("name", QUERY_TYPES)
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_query_is_answered(name: str, data: st.DataObject) -> None:
    """Any valid query gets a valid answer: status 0 or 1, or 3391 for an unknown iterator."""
    qb = make()
    request = data.draw(spec_models(model(name)))
    response = _answer(qb, request)
    if response is not None:
        assert response.status_code in (0, 1, 3391), response.status_message


def _with_real_refs(value: Any, minimal: Minimal) -> Any:
    """*value* with every Ref pointing at a real object of the list the Ref names."""
    import attrs

    changes: dict[str, Any] = {}
    for name, spec in specs(type(value)):
        current = getattr(value, name)
        if spec.kind is not Kind.AGG or current in (None, ()):
            continue
        items = current if spec.many else (current,)
        fixed = [
            minimal.ref(spec.tag) if isinstance(item, Ref) and ref_targets(spec.tag)
            else item if isinstance(item, Ref) else _with_real_refs(item, minimal)
            for item in items
        ]  # fmt: skip
        changes[name] = tuple(fixed) if spec.many else fixed[0]
    return attrs.evolve(value, **changes) if changes else value


@pytest.mark.parametrize("name", ADD_TYPES)
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_add_with_real_refs_is_answered(name: str, data: st.DataObject) -> None:
    """The same with Refs to real objects: most get through to the arithmetic and the Ret."""
    qb = make()
    minimal = Minimal(qb)
    minimal.top = name
    request = _with_real_refs(data.draw(spec_models(model(f"{name}Add"))), minimal)
    response = _answer(qb, request)
    assert response is not None
    assert response.status_code == 0 or response.status_code in _KNOWN_REFUSALS, (
        response.status_message
    )


#: Mods that can give an aggregate the object did not have with only some of the fields
#: QuickBooks requires in it (FixedAssetSalesInfo, CreditCardTxnInfo, CashBackInfo): the
#: fake stores it as given, QuickBooks would refuse it (docs/testing.md).
_PARTIAL_AGGREGATES = {"ItemFixedAsset", "ReceivePayment", "Deposit"}


@pytest.mark.parametrize("name", sorted(set(MOD_TYPES) - _PARTIAL_AGGREGATES))
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_mod_is_answered(name: str, data: st.DataObject) -> None:
    """Any valid Mod of a real object (Refs to real objects) gets a valid answer."""
    import attrs

    qb = make()
    minimal = Minimal(qb)
    minimal.top = name
    created = minimal.add(name)
    otype = object_type(name)
    assert otype is not None
    drawn = _with_real_refs(data.draw(spec_models(model(f"{name}Mod"))), minimal)
    identity = {otype.id_field: getattr(created, otype.id_field)}
    request = attrs.evolve(drawn, edit_sequence=created.edit_sequence, **identity)
    response = _answer(qb, request)
    assert response is not None
    assert response.status_code == 0 or response.status_code in _KNOWN_REFUSALS, (
        response.status_message
    )
    if response.status_code == 0:
        assert response.ret.edit_sequence != created.edit_sequence
