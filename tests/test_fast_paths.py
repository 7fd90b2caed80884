"""
The service's fast paths, each held equal to the slower reference it replaced.

Only fast paths that save at least 5 % of a Web Connector session with the SQLite
store stay (benchmarks/bench_fast_paths.py measures each against its twin; the
figures are in benchmarks/README.md): string frames instead of an lxml tree for
SOAP replies, the session-record cache keyed by text, and the SessionState copies
that check only what changes.  Beside them, the lean readings of HCP documents and
qbXML answers (kept for what they do: a bad value the service does not read no
longer fails a job QuickBooks has done) and the behaviour a few removed fast paths
used to shortcut.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from lxml import etree

from qbwc import LocalProtocolError
from qbwc.exceptions import QBXMLError, XMLParseError
from qbwc.protocol import (
    AuthenticateCall,
    LastErrorReply,
    RequestXML,
    SessionState,
)
from qbwc.protocol._soap import _encode_reply_tree, encode_reply
from qbwc.protocol._state import INITIAL, Phase, apply_call, evolve
from qbwc.qbxml import build_request, highest_common_version, parse_hcp
from qbwc.qbxml._hcp import HCP_PARTS, QBPOS_TEXT, _guid, parse_hcp_essentials
from qbwc.qbxml._json import dump, load
from qbwc.qbxml._parse import parse_response, parse_response_summary
from qbwc.qbxml._responses import RET_MODELS
from qbwc.service import WebConnectorService
from qbwc.service._records import (
    _PARSED,
    _dump_record,
    _load_record,
    _Tally,
)
from qbwc.service._recovery import _summary_of
from qbwc.store import JobResponse, MemoryStore, StoreError
from qbwc.testing._response_build import build_hcp_response, build_response
from qbwc.testing.strategies import hcp_responses, request_models, response_sets
from tests.protocol_strategies import REPLIES, session_states, xml_text

UTC = dt.UTC

# Any text at all, including what XML cannot carry (C0 controls, lone surrogates,
# U+FFFE/U+FFFF) and long ASCII runs such as a qbXML document.
any_text = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=40),
    st.text(st.characters(max_codepoint=0x7F), max_size=40),
    st.lists(st.sampled_from(["<a>", "&amp;", "\n", "\r", "\t", "\x00", "\x1f", "\x7f", "x"])).map(
        "".join
    ),
)


class TestSoapReplies:
    """encode_reply writes precomputed frames around escaped text."""

    @given(st.one_of(*REPLIES.values()))
    def test_equals_the_lxml_tree(self, reply: Any) -> None:
        """Byte for byte what the lxml tree serializes, for every reply type and text."""
        assert encode_reply(reply) == _encode_reply_tree(reply)

    def test_escaping(self) -> None:
        """Markup characters and CR are escaped as libxml2 escapes them."""
        body = encode_reply(RequestXML(qbxml='<a b="1">&\'\r\n]]></a>'))

        assert b'&lt;a b="1"&gt;&amp;\'&#13;\n]]&gt;&lt;/a&gt;' in body
        assert body == _encode_reply_tree(RequestXML(qbxml='<a b="1">&\'\r\n]]></a>'))


class TestXMLCharacterCheck:
    """Text XML 1.0 cannot carry is refused, and the first such character named."""

    @pytest.mark.parametrize("char", ["\x00", "\x08", "\x0b", "\x0c", "\x1f", "\ufffe", "\ud800"])
    def test_refused_in_a_long_document(self, char: str) -> None:
        """One bad character in a long ASCII document is still found, and named."""
        text = "<QBXML>" + "x" * 5000 + char + "</QBXML>"

        with pytest.raises(LocalProtocolError, match=f"U\\+{ord(char):04X} at index 5007"):
            RequestXML(qbxml=text)


class TestKeywordCheck:
    """A reply text that the Web Connector reads as a keyword is refused in any case."""

    @given(st.sampled_from(["NoOp", "Interactive mode"]), st.data())
    def test_keywords_in_any_case(self, keyword: str, data: st.DataObject) -> None:
        """Every casing of a keyword is refused, however the length check shortcuts."""
        flips = data.draw(st.lists(st.booleans(), min_size=len(keyword), max_size=len(keyword)))
        text = "".join(c.upper() if f else c.lower() for c, f in zip(keyword, flips, strict=True))

        with pytest.raises(LocalProtocolError, match="would be read as"):
            LastErrorReply(message=text)

    @given(xml_text)
    def test_other_text(self, text: str) -> None:
        """Anything that does not fold to a keyword is accepted (casefold never shortens)."""
        folded = text.casefold()
        if folded in {"noop", "interactive mode"}:
            with pytest.raises(LocalProtocolError):
                LastErrorReply(message=text)
        else:
            assert LastErrorReply(message=text).message == text

    def test_long_documents_are_not_keywords(self) -> None:
        """A qbXML document is far longer than any keyword."""
        assert RequestXML(qbxml="<QBXML/>" * 100).qbxml.startswith("<QBXML/>")


_STATE_CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "ticket": xml_text,
        "phase": st.sampled_from(Phase),
        "seq": st.integers(0, 2**40),
        "lost_response": st.booleans(),
        "company_file": xml_text,
        "qbxml_major": st.none() | st.integers(0, 99),
        "data": st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    },
)


class TestSessionStateEvolve:
    """_state.evolve is attrs.evolve, checking only the fields that change."""

    @given(session_states, _STATE_CHANGES)
    def test_equals_attrs_evolve(self, state: SessionState, changes: dict[str, Any]) -> None:
        """The same value as attrs.evolve, for any state and any valid changes."""
        assert evolve(state, changes) == attrs.evolve(state, **changes)

    @given(
        session_states,
        st.sampled_from(
            [
                {"seq": -1},
                {"seq": True},
                {"phase": "NOT_A_PHASE"},
                {"lost_response": 1},
                {"ticket": 7},
                {"qbxml_minor": "1"},
                {"data": [("k", 1)]},
            ]
        ),
    )
    def test_refuses_what_attrs_refuses(self, state: SessionState, bad: dict[str, Any]) -> None:
        """A bad changed value raises the ValueError __init__ raises, with its message."""
        with pytest.raises(ValueError, match="SessionState") as reference:
            attrs.evolve(state, **bad)
        with pytest.raises(ValueError, match="SessionState") as fast:
            evolve(state, bad)

        assert str(fast.value) == str(reference.value)

    def test_unknown_field(self) -> None:
        """A field SessionState does not have is a TypeError, as with attrs.evolve."""
        with pytest.raises(TypeError, match="'nope'"):
            evolve(INITIAL, {"nope": 1})

    @given(session_states, xml_text)
    def test_authenticate_starts_from_the_initial_state(
        self, state: SessionState, username: str
    ) -> None:
        """apply_call(authenticate) equals the per-field reset it replaced."""
        call = AuthenticateCall(username=username, password="p")
        same_user = username == state.username
        lost = state.lost_response or state.phase in {
            Phase.REQUEST_DUE,
            Phase.AWAITING_RESPONSE,
            Phase.ERROR,
        }
        fresh = SessionState()
        reset = {
            f.name: getattr(fresh, f.name)
            for f in attrs.fields(SessionState)
            if f.name not in {"phase", "seq", "lost_response", "data", "username"}
        }
        expected = attrs.evolve(
            state,
            **reset,
            phase=Phase.AUTH_DUE,
            seq=state.seq + 1,
            username=username,
            lost_response=lost and same_user,
            data=state.data if same_user else (),
        )

        assert apply_call(state, call) == expected


_TALLIES = st.builds(
    _Tally,
    version=st.none() | st.sampled_from(["13.0", "16.0", "CA3.0"]),
    verified=st.booleans(),
    done=st.integers(0, 10**6),
    failed=st.integers(0, 10**6),
    deferred=st.integers(0, 10**6),
    pauses=st.integers(0, 100),
    pausing=st.booleans(),
    message=st.text(),
    reference=st.text(max_size=12),
    interactive=st.booleans(),
    tried_path=st.booleans(),
)


class TestStoredSession:
    """_load_record reads back what _dump_record wrote."""

    @given(session_states, _TALLIES, st.datetimes(timezones=st.just(UTC)))
    def test_round_trip(self, state: SessionState, tally: _Tally, seen: dt.datetime) -> None:
        """Another process (no cache) reads back the same state, tally and time."""
        text = _dump_record(state, tally, seen)
        _PARSED.clear()

        assert _load_record(text) == (state, tally, seen)
        assert json.loads(text)["service"]["seen_at"] == seen.isoformat()

    def test_a_record_with_the_retired_total_still_loads(self) -> None:
        """Records written before 0.1.0 carry a ``total`` the tally no longer has."""
        tally = _Tally(done=2)
        text = _dump_record(SessionState(), tally, dt.datetime(2026, 1, 2, tzinfo=UTC))
        data = json.loads(text)
        data["service"]["total"] = 7
        _PARSED.clear()

        assert _load_record(json.dumps(data))[1] == tally

    def test_unreadable_service_part(self) -> None:
        """A stored session whose service part is not an object cannot be read."""
        text = json.dumps({"core": SessionState().to_dict(), "service": ["ab", "cd"]})

        with pytest.raises(StoreError, match="cannot be read"):
            _load_record(text)


class TestHCP:
    """The HCP reader indexes children once; the service memoizes parses by text."""

    def test_first_child_of_a_tag_wins(self) -> None:
        """A repeated element is read from its first occurrence, as before."""
        text = (
            "<QBXML><QBXMLMsgsRs>"
            '<HostQueryRs statusCode="0"><HostRet><ProductName>One</ProductName>'
            "<ProductName>Two</ProductName><SupportedQBXMLVersion>13.0</SupportedQBXMLVersion>"
            "<SupportedQBXMLVersion>16.0</SupportedQBXMLVersion></HostRet></HostQueryRs>"
            '<PreferencesQueryRs statusCode="0"><PreferencesRet><AccountingPreferences>'
            "<IsUsingClassTracking>true</IsUsingClassTracking>"
            "<IsUsingClassTracking>false</IsUsingClassTracking></AccountingPreferences>"
            "<AccountingPreferences><ClosingDate>2020-01-01</ClosingDate></AccountingPreferences>"
            "</PreferencesRet></PreferencesQueryRs>"
            "</QBXMLMsgsRs></QBXML>"
        )

        hcp = parse_hcp(text)

        assert hcp.host.product_name == "One"
        assert hcp.host.supported_qbxml_versions == ("13.0", "16.0")
        assert hcp.preferences.is_using_class_tracking is True
        assert hcp.preferences.closing_date is None  # only the first group counts
        assert hcp.missing == ("CompanyRet",)

    def test_typed_responses_are_still_read(self) -> None:
        """A typed response inside the HCP document is read (and checked) as before."""
        text = (
            '<QBXML><QBXMLMsgsRs><InvoiceAddRs statusCode="0"><InvoiceRet>'
            "<Subtotal>abc</Subtotal></InvoiceRet></InvoiceAddRs></QBXMLMsgsRs></QBXML>"
        )

        with pytest.raises(QBXMLError, match="Subtotal"):
            parse_hcp(text)

    @given(hcp_responses())
    def test_service_reads_hcp_like_parse_hcp(self, hcp: Any) -> None:
        """The service reads the HCP essentials (see TestLeanReading), never cached."""
        text = build_hcp_response(hcp)

        service = WebConnectorService(store=MemoryStore(), owner_id=uuid.uuid4())
        owner = service.owner_id

        assert service._parse_hcp(text, owner) == parse_hcp_essentials(text, owner)
        assert service._parse_hcp(text, owner) is not service._parse_hcp(text, owner)


class TestRequestsFromTheQueue:
    """load reads back what dump wrote: the same model, the same qbXML."""

    @given(request_models("16.0"))
    def test_same_model_same_bytes(self, model: Any) -> None:
        """load(dump(model)) equals the model and builds the same qbXML."""
        loaded = load(json.loads(json.dumps(dump(model))))

        assert loaded == model
        assert build_request([loaded], version="16.0") == build_request([model], version="16.0")

    def test_values_keep_their_types(self) -> None:
        """Decimals, dates and tuples come out as such."""
        data = {
            "type": "InvoiceAdd",
            "customer_ref": {"full_name": "Acme"},
            "txn_date": "2024-01-31",
            "lines": [{"type": "InvoiceLineAdd", "quantity": "2.50", "amount": 3}],
        }

        model = load(data)

        assert model.txn_date == dt.date(2024, 1, 31)
        assert isinstance(model.lines, tuple)
        assert model.lines[0].quantity == Decimal("2.50")
        assert str(model.lines[0].quantity) == "2.50"
        assert model.lines[0].amount == Decimal(3)


# --- lean reading of what the service uses ----------------------------------------------------

_SUMMARY_TAGS = frozenset(
    {"TxnID", "TxnNumber", "RefNumber", "EditSequence", "TotalAmount", "Subtotal", "SalesTaxTotal"}
)
_BAD_VALUES = ("abc", "NaN", "1_000", "2020-13-45", "maybe")


def _service_view(answer: Any) -> Any:
    """Everything _receive_response, _recovered and _apply read of a parsed response set."""
    return (
        answer.message_set_id,
        answer.message_set_status_code,
        bool(answer.responses),
        [
            (
                r.request_id,
                r.status_code,
                r.status_severity,
                r.status_message,
                r.ok,
                r.is_warning,
                r.retryable,
                _summary_of(r),
                r.error_recovery,
            )
            for r in answer.responses
        ],
    )


def _hcp_view(hcp: Any, owners: list[uuid.UUID]) -> Any:
    """Everything _check_company reads of a parsed HCP response."""
    return (
        hcp.host.supported_qbxml_versions,
        hcp.company.company_name,
        hcp.missing,
        [hcp.file_id(owner) for owner in owners],
    )


def _lean_view(text: str, owners: list[uuid.UUID]) -> Any:
    """_hcp_view of parse_hcp, from parse_hcp_essentials (once per owner)."""
    reads = [parse_hcp_essentials(text, owner) for owner in owners]
    first = reads[0]
    assert all(read[:2] + read[3:] == first[:2] + first[3:] for read in reads)
    return (first.versions, first.company_name, first.missing, [read.file_id for read in reads])


def _lean_outcome(text: str, owners: list[uuid.UUID]) -> tuple[type[Exception] | None, Any]:
    return _outcome(lambda data: _lean_view(data, owners), text)


def _outcome(parse: Any, data: Any) -> tuple[type[Exception] | None, Any]:
    try:
        return None, parse(data)
    except (QBXMLError, XMLParseError) as exc:
        return type(exc), None


def _leaves(root: etree._Element) -> list[etree._Element]:
    return [el for el in root.iter() if isinstance(el.tag, str) and len(el) == 0]


def _is_summary_field(el: etree._Element) -> bool:
    parent = el.getparent()
    if parent is None:
        return False
    if parent.tag == "ErrorRecovery":
        return True
    rs = parent.getparent()
    return (
        rs is not None
        and rs.tag in RET_MODELS
        and parent.tag == RET_MODELS[rs.tag][0]
        and el.tag in _SUMMARY_TAGS
    )


class TestLeanReading:
    """The service reads only what it uses of HCP and qbXML responses, with the same results."""

    @given(response_sets())
    def test_response_summary_equals_the_full_parse(self, answer: Any) -> None:
        """Statuses, txn keys, totals, error recovery and message-set attributes are the same."""
        data = build_response(answer)

        assert _service_view(parse_response_summary(data)) == _service_view(parse_response(data))

    @given(response_sets(), st.data())
    def test_bad_value_in_a_response(self, answer: Any, data: st.DataObject) -> None:
        """
        A bad value fails both readings when the service uses it; elsewhere the
        lean reading records what QuickBooks said, as if the value were fine.
        """
        original = build_response(answer)
        root = etree.fromstring(original)
        leaves = _leaves(root)
        assume(leaves)
        leaf = data.draw(st.sampled_from(leaves))
        leaf.text = data.draw(st.sampled_from(_BAD_VALUES))
        mutated = etree.tostring(root)

        full_error, full = _outcome(parse_response, mutated)
        lean_error, lean = _outcome(parse_response_summary, mutated)

        if full_error is None:
            assert lean_error is None
            assert _service_view(lean) == _service_view(full)
        elif _is_summary_field(leaf):
            assert lean_error is full_error
        else:
            assert lean_error is None
            assert _service_view(lean) == _service_view(parse_response(original))

    @pytest.mark.parametrize(
        "document",
        [
            b"<QBXML><QBXMLMsgsRs><InvoiceAddRs/></QBXMLMsgsRs></QBXML>",
            b'<QBXML><QBXMLMsgsRs><InvoiceAddRs statusCode="x"/></QBXMLMsgsRs></QBXML>',
            b'<QBXML><QBXMLMsgsRs><CustomerAddRs statusCode=""/></QBXMLMsgsRs></QBXML>',
            b'<QBXML><QBXMLMsgsRs messageSetStatusCode="ok"/></QBXML>',
            b"<QBXML><QBXMLMsgsRq/></QBXML>",
            b"<QBXML/>",
            b"<Other/>",
            b"<QBXML><QBXMLMsgsRs>",
            b'<!DOCTYPE QBXML [<!ENTITY a "b">]><QBXML/>',
            b"",
        ],
    )
    def test_malformed_responses(self, document: bytes) -> None:
        """Documents the full parse refuses, the lean one refuses with the same exception type."""
        full_error, _ = _outcome(parse_response, document)
        lean_error, _ = _outcome(parse_response_summary, document)

        assert full_error is not None
        assert lean_error is full_error

    def test_bad_line_amount_does_not_fail_the_job(self) -> None:
        """An unreadable line amount no longer hides the TxnID QuickBooks assigned."""
        document = (
            '<QBXML><QBXMLMsgsRs><InvoiceAddRs requestID="j1" statusCode="0"><InvoiceRet>'
            "<TxnID>1-2</TxnID><TxnNumber>7</TxnNumber><Subtotal>10.00</Subtotal>"
            "<InvoiceLineRet><Amount>abc</Amount></InvoiceLineRet>"
            "</InvoiceRet></InvoiceAddRs></QBXMLMsgsRs></QBXML>"
        )

        with pytest.raises(QBXMLError, match="Amount"):
            parse_response(document)
        summary = _summary_of(parse_response_summary(document).get("j1"))

        assert (summary.txn_id, summary.txn_number, summary.total) == ("1-2", 7, Decimal("10.00"))

    @given(hcp_responses(), st.uuids())
    def test_hcp_essentials_equal_parse_hcp(self, hcp: Any, stranger: uuid.UUID) -> None:
        """Versions, company name, missing parts and the FileID for each owner are the same."""
        text = build_hcp_response(hcp)
        owners = [_guid(ext.owner_id) or stranger for ext in hcp.company.data_ext_rets]
        owners.append(stranger)

        assert _lean_view(text, owners) == _hcp_view(parse_hcp(text), owners)

    @given(hcp_responses(), st.data())
    def test_bad_value_in_the_hcp(self, hcp: Any, data: st.DataObject) -> None:
        """A bad preference or flag no longer stops the session; what is read stays the same."""
        text = build_hcp_response(hcp)
        owners = [_guid(ext.owner_id) or uuid.UUID(int=0) for ext in hcp.company.data_ext_rets]
        root = etree.fromstring(text.encode())
        leaf = data.draw(st.sampled_from(_leaves(root)))
        leaf.text = data.draw(st.sampled_from(_BAD_VALUES))
        mutated = etree.tostring(root, encoding="unicode")

        full_error, full = _outcome(parse_hcp, mutated)
        owners.append(uuid.UUID(int=0))
        lean_error, lean = _lean_outcome(mutated, owners)

        if full_error is None:
            assert lean_error is None
            assert lean == _hcp_view(full, owners)
        else:
            # Only typed values fail parse_hcp, and the service reads none of them.
            assert lean_error is None
            assert lean == _hcp_view(parse_hcp(text), owners)

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "  ",
            QBPOS_TEXT,
            "<QBXML><QBXMLMsgsRs><HostQueryRs/></QBXMLMsgsRs></QBXML>",
            '<QBXML><QBXMLMsgsRs><HostQueryRs statusCode="x"/></QBXMLMsgsRs></QBXML>',
            "<QBXML/>",
            "<Other><QBXMLMsgsRs/></Other>",
            "<QBXML>",
        ],
    )
    def test_malformed_hcp(self, text: str) -> None:
        """What parse_hcp refuses, the essentials refuse with the same exception type."""
        full_error, _ = _outcome(parse_hcp, text)
        lean_error, _ = _lean_outcome(text, [uuid.UUID(int=0)])

        assert full_error is not None
        assert lean_error is full_error

    def test_typed_response_in_the_hcp_is_not_read(self) -> None:
        """A typed response inside the HCP document counts only by its status code."""
        text = (
            '<QBXML><QBXMLMsgsRs><InvoiceAddRs statusCode="0"><InvoiceRet>'
            "<Subtotal>abc</Subtotal></InvoiceRet></InvoiceAddRs></QBXMLMsgsRs></QBXML>"
        )

        assert parse_hcp_essentials(text, uuid.UUID(int=0)).missing == HCP_PARTS

    @given(
        st.uuids(),
        st.uuids(),
        st.sampled_from([str, lambda u: f" {{{u}}} ", lambda u: str(u).upper(), lambda u: u.hex]),
        st.sampled_from(["FileID", "fileid", "FILEID"]),
    )
    def test_stamp_owner_in_any_spelling(
        self, owner: uuid.UUID, file_id: uuid.UUID, spell: Any, name: str
    ) -> None:
        """An OwnerID not written {UPPER} still matches (by GUID), as in parse_hcp."""
        text = (
            '<QBXML><QBXMLMsgsRs><CompanyQueryRs statusCode="0"><CompanyRet>'
            f"<DataExtRet><OwnerID>{spell(owner)}</OwnerID><DataExtName>{name}</DataExtName>"
            f"<DataExtType>STR255TYPE</DataExtType><DataExtValue>{file_id}</DataExtValue>"
            "</DataExtRet></CompanyRet></CompanyQueryRs></QBXMLMsgsRs></QBXML>"
        )
        owners = [owner, uuid.UUID(int=owner.int ^ 1)]

        assert _lean_view(text, owners) == _hcp_view(parse_hcp(text), owners)
        assert parse_hcp_essentials(text, owner).file_id == file_id


class TestNegotiatedVersion:
    """The service writes the highest version QuickBooks supports that it can write."""

    @given(
        st.lists(st.sampled_from(["13.0", "16.0", "2.1", "CA3.0", "UK2.0", "x", "99.0", "14.0"])),
        st.sampled_from(["13.0", "14.0", "16.0"]),
    )
    def test_equals_highest_common_version(self, supported: list[str], ceiling: str) -> None:
        """Asked once or twice, the answer is highest_common_version of the writable ones."""
        service = WebConnectorService(
            store=MemoryStore(), owner_id=uuid.uuid4(), max_qbxml_version=ceiling
        )
        expected = highest_common_version(
            [v for v in supported if v in service._versions], ceiling=ceiling
        )

        assert service._common_version(tuple(supported)) == expected
        assert service._common_version(tuple(supported)) == expected

    def test_follows_a_changed_ceiling(self) -> None:
        """Changing max_qbxml_version after construction is not answered from the cache."""
        service = WebConnectorService(store=MemoryStore(), owner_id=uuid.uuid4())
        supported = ("13.0", "16.0")
        assert service._common_version(supported) == "16.0"

        service.max_qbxml_version = "13.0"

        assert service._common_version(supported) == "13.0"


class TestSummaryPick:
    """A job's summary takes each field from the Ret, else from the ErrorRecovery."""

    @given(
        st.sampled_from([None, "R"]),
        st.sampled_from([None, "E"]),
        st.booleans(),
    )
    def test_equals_the_first_non_none_source(
        self, in_ret: str | None, in_recovery: str | None, has_recovery: bool
    ) -> None:
        """Same answer as the loop over (ret, recovery) it replaced."""

        @attrs.frozen
        class Source:
            txn_id: str | None
            txn_number: int | None = None
            ref_number: str | None = None
            edit_sequence: str | None = None

        @attrs.frozen
        class Response:
            ret: Any
            error_recovery: Any
            status_code: int = 0
            status_severity: str = "Info"
            status_message: str = "Status OK"
            name: str = "InvoiceAddRs"
            raw: str | None = None
            ok: bool = True

        ret = Source(txn_id=in_ret)
        recovery = Source(txn_id=in_recovery) if has_recovery else None
        sources = (ret,) if recovery is None else (ret, recovery)
        expected = next((s.txn_id for s in sources if s.txn_id is not None), None)

        assert _summary_of(Response(ret=ret, error_recovery=recovery)).txn_id == expected
        assert _summary_of(Response(ret=None, error_recovery=recovery)).txn_id == (
            None if recovery is None else recovery.txn_id
        )


class TestMemoryStoreCounts:
    """put_job's journal rolls counts and jobs back exactly as before."""

    def test_rollback_restores_counts_and_job(self) -> None:
        """A status change undone by an exception leaves the job and its counts as they were."""
        store = MemoryStore()
        now = dt.datetime(2024, 1, 1, tzinfo=UTC)
        with store.transaction() as tx:
            job = tx.add_job(
                username="u",
                key=None,
                request="{}",
                request_type="InvoiceAdd",
                min_version="1.0",
                now=now,
            )

        def send_then_fail() -> None:
            with store.transaction() as tx:
                tx.put_job(attrs.evolve(job, status="sent"))
                assert tx.count_jobs("u", "sent") == 1
                assert tx.count_jobs("u", "pending") == 0
                raise RuntimeError

        with pytest.raises(RuntimeError):
            send_then_fail()

        with store.transaction() as tx:
            assert tx.get_job(job.id) == job
            assert tx.count_jobs("u", "pending") == 1
            assert tx.count_jobs("u", "sent") == 0
            assert tx.next_pending("u", limit=5) == (job,)
            assert store._counts.get(("u", "sent"), 0) == 0

    def test_ended_transaction_refuses(self) -> None:
        """Every operation after the block ends still raises StoreError."""
        store = MemoryStore()
        with store.transaction() as tx:
            pass

        with pytest.raises(StoreError, match="has ended"):
            tx.get_session("t")
        with pytest.raises(StoreError, match="has ended"):
            tx.count_jobs("u", "pending")


_NOISE = st.sampled_from(["<?pi x?>", '<x:{tag} xmlns:x="urn:x">n</x:{tag}>', "<Other>o</Other>"])


class TestTagFilteredChildren:
    """iterchildren(tag) picks the children the ``c.tag == tag`` loops picked."""

    @given(
        versions=st.lists(st.sampled_from(["13.0", " 16.0 ", "CA3.0", ""]), max_size=4),
        noise=st.lists(_NOISE, max_size=4),
        name=st.sampled_from(["", "<CompanyName>Acme</CompanyName>"]),
        seed=st.randoms(use_true_random=False),
    )
    def test_hcp_essentials(
        self, versions: list[str], noise: list[str], name: str, seed: Any
    ) -> None:
        """Versions, company name and stamps read with PIs and namespaced look-alikes about."""
        host_parts = [f"<SupportedQBXMLVersion>{v}</SupportedQBXMLVersion>" for v in versions]
        host_parts += [n.format(tag="SupportedQBXMLVersion") for n in noise]
        seed.shuffle(host_parts)
        stamp = (
            "<DataExtRet><OwnerID>{00000000-0000-0000-0000-000000000001}</OwnerID>"
            "<DataExtName>FileID</DataExtName><DataExtType>STR255TYPE</DataExtType>"
            "<DataExtValue>{00000000-0000-0000-0000-00000000000A}</DataExtValue></DataExtRet>"
        )
        company_parts = [name, stamp, *(n.format(tag="DataExtRet") for n in noise)]
        company_parts += [n.format(tag="CompanyName") for n in noise]
        seed.shuffle(company_parts)
        ok = 'statusCode="0" statusSeverity="Info"'
        text = (
            "<QBXML><?pi x?><QBXMLMsgsRs>"
            f"<HostQueryRs {ok}><HostRet>{''.join(host_parts)}</HostRet></HostQueryRs>"
            f"<CompanyQueryRs {ok}><CompanyRet>{''.join(company_parts)}</CompanyRet>"
            "</CompanyQueryRs></QBXMLMsgsRs></QBXML>"
        )
        full = parse_hcp(text)
        owners = [uuid.UUID(int=0), uuid.UUID(int=1)]
        assert _lean_view(text, owners) == _hcp_view(full, owners)

    @given(noise=st.lists(_NOISE, max_size=4), seed=st.randoms(use_true_random=False))
    def test_summary_ret(self, noise: list[str], seed: Any) -> None:
        """A summary Ret reads the same fields with PIs, repeats and look-alikes among them."""
        parts = [
            "<TxnID>1-1</TxnID>",
            "<TxnID>2-2</TxnID>",
            "<RefNumber>7</RefNumber>",
            "<Subtotal>1.50</Subtotal>",
            "<Memo>m</Memo>",
            *(n.format(tag="TxnID") for n in noise),
        ]
        seed.shuffle(parts)
        text = (
            '<QBXML><QBXMLMsgsRs><InvoiceAddRs statusCode="0" statusSeverity="Info">'
            f"<InvoiceRet>{''.join(parts)}</InvoiceRet></InvoiceAddRs></QBXMLMsgsRs></QBXML>"
        )
        lean = parse_response_summary(text).responses[0].ret
        full = parse_response(text).responses[0].ret
        assert lean is not None
        assert full is not None
        for name in ("txn_id", "txn_number", "ref_number", "edit_sequence", "subtotal"):
            assert getattr(lean, name) == getattr(full, name)


def _reference_apply_call(state: SessionState, call: Any) -> SessionState:
    """apply_call as it was: every change through attrs.evolve (so every check runs)."""
    from qbwc.exceptions import RemoteProtocolError
    from qbwc.protocol._events import (
        ConnectionErrorCall,
        ReceiveResponseXMLCall,
        SendRequestXMLCall,
    )
    from qbwc.protocol._state import IN_FLIGHT, TRANSITIONS, _reported, _tickets_match

    target = TRANSITIONS[state.phase].get(type(call))
    if target is None:
        raise RemoteProtocolError("illegal")
    lost = state.lost_response or (
        state.phase in IN_FLIGHT and not isinstance(call, ReceiveResponseXMLCall)
    )
    if isinstance(call, AuthenticateCall):
        return apply_call(state, call)  # held by TestSessionStateEvolve
    changes: dict[str, Any] = {"phase": target, "seq": state.seq + 1}
    ticket = getattr(call, "ticket", None)
    if ticket is not None:
        if not state.ticket:
            changes["ticket"] = ticket
        elif not _tickets_match(state.ticket, ticket):
            raise RemoteProtocolError("ticket")
    changes["lost_response"] = lost
    if isinstance(call, SendRequestXMLCall) and target is Phase.REQUEST_DUE:
        changes.update(
            company_file=call.company_file_name,
            country=call.country,
            qbxml_major=call.major_version,
            qbxml_minor=call.minor_version,
            hcp_received=state.hcp_received or bool(call.hcp_response),
        )
    elif isinstance(call, ConnectionErrorCall):
        changes["connection_error_count"] = state.connection_error_count + 1
        changes["last_error"] = _reported(call.hresult, call.message)
    elif isinstance(call, ReceiveResponseXMLCall) and (call.hresult or call.message):
        changes["last_error"] = _reported(call.hresult, call.message)
    return attrs.evolve(state, **changes)


def _reference_apply_reply(state: SessionState, reply: Any) -> SessionState:
    """apply_reply as it was: every change through attrs.evolve."""
    from qbwc.protocol._events import Authenticated, Busy, NoWork
    from qbwc.protocol._state import TRANSITIONS

    target = TRANSITIONS[state.phase].get(type(reply))
    if target is None:
        raise LocalProtocolError("illegal")
    changes: dict[str, Any] = {"phase": target, "seq": state.seq + 1}
    if isinstance(reply, Authenticated | NoWork | Busy):
        changes["ticket"] = reply.ticket
    elif isinstance(reply, RequestXML):
        changes["request_count"] = state.request_count + 1
    return attrs.evolve(state, **changes)


def _events(kinds: dict[Any, Any]) -> Any:
    return st.sampled_from(sorted(kinds, key=lambda t: t.__name__)).flatmap(lambda t: kinds[t])


class TestStepCopies:
    """apply_call / apply_reply / errored copy only what changes, equal to attrs.evolve."""

    @given(session_states, st.data(), st.booleans())
    def test_apply_call_equals_reference(
        self, state: SessionState, data: st.DataObject, own_ticket: bool
    ) -> None:
        """The same state (or the same refusal) as evolving every change through attrs."""
        import contextlib

        from qbwc.exceptions import RemoteProtocolError
        from tests.protocol_strategies import CALLS

        call = data.draw(_events(CALLS))
        if own_ticket and state.ticket and hasattr(call, "ticket"):
            with contextlib.suppress(ValueError, LocalProtocolError):
                call = attrs.evolve(call, ticket=state.ticket)
        try:
            expected = _reference_apply_call(state, call)
        except RemoteProtocolError:
            with pytest.raises(RemoteProtocolError):
                apply_call(state, call)
            return
        got = apply_call(state, call)
        assert got == expected
        assert got.to_dict() == expected.to_dict()
        assert type(got.phase) is Phase

    @given(session_states, st.data())
    def test_apply_reply_equals_reference(self, state: SessionState, data: st.DataObject) -> None:
        """The same state (or the same refusal) as evolving every change through attrs."""
        from qbwc.protocol._state import apply_reply

        reply = data.draw(_events(REPLIES))
        try:
            expected = _reference_apply_reply(state, reply)
        except LocalProtocolError:
            with pytest.raises(LocalProtocolError):
                apply_reply(state, reply)
            return
        got = apply_reply(state, reply)
        assert got == expected
        assert got.to_dict() == expected.to_dict()

    @given(session_states)
    def test_errored_equals_reference(self, state: SessionState) -> None:
        """errored is attrs.evolve to ERROR with seq one higher."""
        from qbwc.protocol._state import errored

        assert errored(state) == attrs.evolve(state, phase=Phase.ERROR, seq=state.seq + 1)
        assert state.phase is not Phase.ERROR or errored(state).seq == state.seq + 1

    @given(session_states, st.sampled_from([7, None, b"t"]))
    def test_reply_ticket_still_checked(self, state: SessionState, bad: Any) -> None:
        """A ticket that is not a str is refused as __init__ would, even on the fast copy."""
        from qbwc.protocol._state import _checked, _step

        with pytest.raises(ValueError, match=r"SessionState\.ticket"):
            _checked(_step(state, Phase.READY, state.seq + 1), {"ticket": bad})


class TestJobResponseDict:
    """JobResponse.to_dict holds every field, JSON-safe, and reads back."""

    @given(
        st.builds(
            JobResponse,
            status_code=st.integers(0, 9999),
            status_severity=st.sampled_from(["Info", "Warn", "Error"]),
            status_message=st.text(max_size=20),
            txn_id=st.none() | st.text(max_size=10),
            txn_number=st.none() | st.integers(0, 10**6),
            ref_number=st.none() | st.text(max_size=10),
            edit_sequence=st.none() | st.text(max_size=10),
            total=st.none() | st.decimals(allow_nan=False, allow_infinity=False, places=2),
            list_id=st.none() | st.text(max_size=10),
            ret_count=st.none() | st.integers(0, 10**6),
            iterator_id=st.none() | st.text(max_size=10),
            iterator_remaining=st.none() | st.integers(0, 10**6),
            session=st.none() | st.text(max_size=10),
            seen=st.none() | st.integers(0, 10**6),
            last_id=st.none() | st.text(max_size=10),
        )
    )
    def test_every_field(self, response: JobResponse) -> None:
        expected = attrs.asdict(response)
        if response.total is not None:
            expected["total"] = str(response.total)
        assert response.to_dict() == expected
        assert JobResponse.from_dict(json.loads(json.dumps(response.to_dict()))) == response
