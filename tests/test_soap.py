"""The SOAP 1.1 codec and the WSDL: round trips, real captures, schema validity, garbage in."""

from __future__ import annotations

import contextlib
import copy
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from qbwc import ConfigurationError, LocalProtocolError, RemoteProtocolError
from qbwc._xml import INTUIT_NS, SOAP11_ENV_NS, SOAP12_ENV_NS, escape_text
from qbwc.protocol import (
    AuthenticateCall,
    Authenticated,
    Busy,
    ClientVersionCall,
    ClientVersionOK,
    ClientVersionWarning,
    CloseConnectionCall,
    Done,
    Failed,
    GetInteractiveURLCall,
    GetLastErrorCall,
    Goodbye,
    InteractiveRejectedCall,
    InvalidUserReply,
    LastErrorReply,
    NoRequest,
    NoWork,
    Phase,
    Progress,
    ReceiveResponseXMLCall,
    RequestXML,
    SendRequestXMLCall,
    ServerVersion,
    ServerVersionCall,
    Session,
    TryCompanyFile,
)
from qbwc.protocol._events import CALL_TYPES, REPLY_TYPES
from qbwc.protocol._soap import (
    OPERATIONS,
    SOAP_ACTION,
    decode_call,
    decode_reply,
    encode_call,
    encode_fault,
    encode_reply,
    wsdl,
)
from qbwc.protocol._state import TRANSITIONS
from tests.protocol_strategies import CALLS, REPLIES, calls
from tests.reference import reference_files, require_reference

ROOT = Path(__file__).resolve().parents[1]
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>'
SESSION = "soap/consolibyte-2008-session/extracted/"
TICKET_1 = "c94c84b3d59fe7a1603b765dd734e481"
TICKET_2 = "ea0bf596246b623664adb465cc8662a2"
COMPANY = r"C:\KPALMER\QBW\Test Company.QBW"


def envelope(inner: str, env_ns: str = SOAP11_ENV_NS, header: str = "") -> bytes:
    """A request envelope around *inner* (the Body's content)."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{env_ns}">'
        f"{header}<soap:Body>{inner}</soap:Body></soap:Envelope>"
    ).encode()


def op(name: str, params: str = "", ns: str = INTUIT_NS) -> bytes:
    return envelope(f'<{name} xmlns="{ns}">{params}</{name}>')


def ref_text(relative: str) -> str:
    return require_reference().joinpath(relative).read_bytes().decode("utf-8")


def schema_of(wsdl_root: etree._Element) -> etree.XMLSchema:
    """The XML Schema inside a WSDL's types, compiled."""
    element = wsdl_root.find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
    assert element is not None
    return etree.XMLSchema(etree.fromstring(etree.tostring(element)))


@cache
def schemas() -> dict[str, tuple[etree.XMLSchema, frozenset[str]]]:
    """Our WSDL's schema and each reference WSDL's: (schema, element names it declares)."""
    roots = {"qbwc": etree.parse(str(ROOT / "schemas" / "qbwc.wsdl")).getroot()}
    reference = require_reference()
    for path in sorted((reference / "wsdl").glob("*.wsdl")):
        roots[path.stem] = etree.parse(str(path)).getroot()
    out = {}
    for name, root in roots.items():
        declared = frozenset(
            e.get("name", "") for e in root.iterfind(f".//{{{XSD_NS}}}schema/{{{XSD_NS}}}element")
        )
        out[name] = (schema_of(root), declared)
    return out


def payload(body: bytes) -> etree._Element:
    """The one element in the Body, as a root of its own."""
    root = etree.fromstring(body)
    element = root.find(f"{{{SOAP11_ENV_NS}}}Body")
    assert element is not None
    return copy.deepcopy(element[0])


def assert_valid(body: bytes, *, require: tuple[str, ...] = ("qbwc",)) -> int:
    """*body*'s payload validates against every schema that declares it; return how many."""
    element = payload(body)
    local = etree.QName(element).localname
    checked = 0
    for name, (schema, declared) in schemas().items():
        if local not in declared:
            assert name not in require, f"{name} does not declare {local}"
            continue
        assert schema.validate(element), (name, schema.error_log)
        checked += 1
    return checked


class TestRoundTrips:
    """Every call and reply type, each with its own examples."""

    @pytest.mark.parametrize("call_type", CALL_TYPES, ids=lambda t: t.__name__)
    @given(data=st.data())
    def test_calls(self, call_type: type[Any], data: st.DataObject) -> None:
        """decode_call(encode_call(c)) == c, and the body validates against every WSDL."""
        call = data.draw(CALLS[call_type])
        body = encode_call(call)

        assert call == decode_call(body)
        assert_valid(body)

    @pytest.mark.parametrize("reply_type", REPLY_TYPES, ids=lambda t: t.__name__)
    @given(data=st.data())
    def test_replies(self, reply_type: type[Any], data: st.DataObject) -> None:
        """decode_reply(encode_reply(r)) == r, and the body validates against every WSDL."""
        reply = data.draw(REPLIES[reply_type])
        body = encode_reply(reply)

        assert reply == decode_reply(reply.operation, body)
        assert_valid(body)

    @given(call=calls)
    def test_sessions_decode_what_the_double_encodes(self, call: Any) -> None:
        """Session.receive_data accepts what encode_call writes (or refuses it by the table)."""
        body = encode_call(call)
        if type(call) in TRANSITIONS[Phase.NEW]:
            assert call == Session().receive_data(body)
        else:
            with pytest.raises(RemoteProtocolError, match="not allowed now"):
                Session().receive_data(body)


class TestRealSession:
    """The real 2008 session: QBWC 2.0.0.116 against QuickBooks Pro 2006."""

    @pytest.mark.parametrize("relative", reference_files(SESSION + "*_request_*.xml"))
    def test_every_request_decodes(self, relative: str) -> None:
        """Each request the Web Connector sent decodes to the call it names."""
        body = require_reference().joinpath(relative).read_bytes()
        call = decode_call(body)

        assert relative.rsplit("_", 1)[1].removesuffix(".xml") == call.operation

    def test_values(self) -> None:
        """The decoded calls carry the right values, the embedded qbXML byte for byte."""

        def decoded(name: str) -> Any:
            return decode_call(require_reference().joinpath(SESSION + name).read_bytes())

        hcp = ref_text("qbxml/extracted/consolibyte2008-hcp-response.xml")
        customer_add_rs = ref_text("qbxml/extracted/consolibyte2008-CustomerAddRs.xml")
        expected = {
            "01_request_serverVersion.xml": ServerVersionCall(),
            "03_request_clientVersion.xml": ClientVersionCall(version="2.0.0.116"),
            "05_request_authenticate.xml": AuthenticateCall(username="api", password="password"),
            "07_request_sendRequestXML.xml": SendRequestXMLCall(
                ticket=TICKET_1,
                hcp_response=hcp,
                company_file_name=COMPANY,
                country="US",
                major_version=5,
                minor_version=0,
            ),
            "09_request_getLastError.xml": GetLastErrorCall(ticket=TICKET_1),
            "11_request_closeConnection.xml": CloseConnectionCall(ticket=TICKET_1),
            "21_request_receiveResponseXML.xml": ReceiveResponseXMLCall(
                ticket=TICKET_2, response=customer_add_rs, hresult="", message=""
            ),
            "23_request_sendRequestXML.xml": SendRequestXMLCall(
                ticket=TICKET_2,
                hcp_response="",
                company_file_name=COMPANY,
                country="US",
                major_version=5,
                minor_version=0,
            ),
        }
        for name, call in expected.items():
            assert decoded(name) == call, name
        assert hcp.startswith('<?xml version="1.0" ?>\n<QBXML>')
        assert "<ProductName>QuickBooks Pro 2006</ProductName>" in hcp

    def test_our_answers_validate(self) -> None:
        """Our replies to that session validate against every WSDL that declares them."""
        customer_add_rq = ref_text("qbxml/extracted/consolibyte2008-CustomerAddRq.xml")
        answers = [
            ServerVersion(version="qbwc 0.1.0"),
            ClientVersionOK(),
            Authenticated(ticket=TICKET_2),
            RequestXML(qbxml=customer_add_rq),
            Progress(percent=0),
            NoRequest(),
            LastErrorReply(message="No more work (ref QBWC-7F3K2Q)"),
            Goodbye(message="Complete!"),
        ]
        for answer in answers:
            body = encode_reply(answer)

            checked = assert_valid(
                body, require=("qbwc", "consolibyte-QBWebConnectorSvc")
            )
            assert checked >= 2, answer
            assert answer == decode_reply(answer.operation, body)

    @pytest.mark.parametrize("relative", reference_files(SESSION + "*_response_*.xml"))
    def test_the_php_servers_answers_decode(self, relative: str) -> None:
        """The PHP server's responses in that session decode as the Web Connector read them."""
        operation = relative.rsplit("_", 1)[1].removesuffix("Response.xml")
        reply = decode_reply(operation, require_reference().joinpath(relative).read_bytes())

        assert operation == reply.operation  # type: ignore[union-attr]

    def test_the_php_qbxml_request(self) -> None:
        """The CustomerAddRq the PHP server sent comes back as the very text QuickBooks got."""
        body = require_reference().joinpath(SESSION + "20_response_sendRequestXMLResponse.xml")
        reply = decode_reply("sendRequestXML", body.read_bytes())

        assert RequestXML(qbxml=ref_text("qbxml/extracted/consolibyte2008-CustomerAddRq.xml")) == (
            reply
        )


RAW_RESPONSES = {
    "soap/flowlink/invoice_add_rs.xml": "qbxml/extracted/flowlink-invoice_add_rs.xml",
    "soap/flowlink/item_inventory_query_rs_raw.xml": (
        "qbxml/extracted/flowlink-item_inventory_query_rs_raw.xml"
    ),
    "soap/flowlink/receive_payment_add_rs.xml": (
        "qbxml/extracted/flowlink-receive_payment_add_rs.xml"
    ),
    "soap/flowlink/sales_order_add_rs_raw.xml": (
        "qbxml/extracted/flowlink-sales_order_add_rs_raw.xml"
    ),
    "soap/extracted/consolibyte-soap_xml_test-receiveResponseXML-3100.xml": (
        "qbxml/extracted/consolibyte-ItemServiceAddRs-3100.xml"
    ),
}


class TestRealResponses:
    @pytest.mark.parametrize("relative", sorted(RAW_RESPONSES))
    def test_raw_captures_decode(self, relative: str) -> None:
        """Raw receiveResponseXML bodies (<hresult />, escaped qbXML) decode to the exact text."""
        call = decode_call(require_reference().joinpath(relative).read_bytes())

        assert isinstance(call, ReceiveResponseXMLCall)
        assert ref_text(RAW_RESPONSES[relative]) == call.response
        assert (call.hresult, call.message) == ("", "")

    def test_nested_qbxml_is_refused(self) -> None:
        """The hand-reformatted capture nests qbXML as elements: refused, naming why."""
        body = require_reference().joinpath(
            "soap/flowlink/sales_order_add_rs_invalid_record_ref.xml"
        )

        with pytest.raises(RemoteProtocolError, match=r"response: expected text.*escaped text"):
            decode_call(body.read_bytes())


class TestTolerance:
    """What real Web Connectors and toolkits send, accepted."""

    def test_parameter_names_in_any_case(self) -> None:
        """strCompanyFilename (the qbwc gem's spelling) and unqualified parameters work."""
        body = op(
            "sendRequestXML",
            "<ticket>t</ticket><strHCPResponse/><strCompanyFilename>F.QBW</strCompanyFilename>"
            '<QBXMLCOUNTRY xmlns="">CA</QBXMLCOUNTRY>'
            "<qbXMLMajorVers> 13 </qbXMLMajorVers><qbXMLMinorVers>+0</qbXMLMinorVers>",
        )

        call = decode_call(body)
        assert SendRequestXMLCall(
            ticket="t",
            hcp_response="",
            company_file_name="F.QBW",
            country="CA",
            major_version=13,
            minor_version=0,
        ) == call

    def test_absent_and_nil_optional_strings_are_empty(self) -> None:
        """.NET omits null strings (minOccurs=0); xsi:nil reads as empty too."""
        body = op(
            "receiveResponseXML",
            '<ticket>t</ticket><hresult xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
            ' xsi:nil="true"/>',
        )

        assert ReceiveResponseXMLCall(ticket="t", response="", hresult="", message="") == (
            decode_call(body)
        )

    @pytest.mark.parametrize(
        "params", ["", "<strVersion>2.1</strVersion>", "<ticket>t</ticket>", "<x>anything</x>"]
    )
    def test_server_version_with_or_without_children(self, params: str) -> None:
        """serverVersion comes bare, with strVersion, or with a ticket ([PG] p74)."""
        assert ServerVersionCall() == decode_call(op("serverVersion", params))

    def test_wcticket_or_ticket(self) -> None:
        """The interactive calls name it wcTicket; ticket is accepted as well."""
        assert GetInteractiveURLCall(ticket="t", session_id="s") == decode_call(
            op("getInteractiveURL", "<wcTicket>t</wcTicket><sessionID>s</sessionID>")
        )
        assert InteractiveRejectedCall(ticket="t", reason="") == decode_call(
            op("interactiveRejected", "<ticket>t</ticket>")
        )

    def test_cdata_bom_header_whitespace(self) -> None:
        """CDATA qbXML, a UTF-8 BOM, an optional Header and pretty-printing are fine."""
        body = (
            b"\xef\xbb\xbf"
            + envelope(
                f'\n  <receiveResponseXML xmlns="{INTUIT_NS}">\n'
                "    <ticket>t</ticket>\n    <response><![CDATA[<QBXML>&</QBXML>]]></response>\n"
                "  </receiveResponseXML>\n",
                header='<soap:Header><x:Trace xmlns:x="urn:x">1</x:Trace></soap:Header>',
            )
        )

        call = decode_call(body)
        assert isinstance(call, ReceiveResponseXMLCall)
        assert call.response == "<QBXML>&</QBXML>"

    def test_password_is_not_in_repr(self) -> None:
        """The password never shows in logs of the call."""
        params = "<strUserName>u</strUserName><strPassword>s3cret</strPassword>"
        call = decode_call(op("authenticate", params))

        assert "s3cret" not in repr(call)
        assert call.password == "s3cret"  # type: ignore[union-attr]


class TestRefusals:
    """Bad input is a RemoteProtocolError naming what is wrong."""

    def test_soap12_is_version_mismatch(self) -> None:
        """A SOAP 1.2 envelope gets the VersionMismatch fault code."""
        body = envelope(f'<serverVersion xmlns="{INTUIT_NS}"/>', env_ns=SOAP12_ENV_NS)

        with pytest.raises(RemoteProtocolError, match=r"SOAP 1\.2") as info:
            decode_call(body)
        assert info.value.fault_code == "soap:VersionMismatch"

    def test_must_understand_header(self) -> None:
        """A header we must understand but do not gets the MustUnderstand fault code."""
        header = (
            '<soap:Header><x:Security xmlns:x="urn:x" soap:mustUnderstand="1"/></soap:Header>'
        )
        body = envelope(f'<serverVersion xmlns="{INTUIT_NS}"/>', header=header)

        with pytest.raises(RemoteProtocolError, match="Security") as info:
            decode_call(body)
        assert info.value.fault_code == "soap:MustUnderstand"

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (op("deleteEverything"), "unknown operation 'deleteEverything'"),
            (op("authenticate", ns="urn:wrong"), "authenticate: namespace 'urn:wrong'"),
            (op("getLastError"), r"getLastError.ticket: is missing \(required\)"),
            (op("authenticate", "<strUserName>u</strUserName>"), "strPassword: is missing"),
            (
                op(
                    "closeConnection",
                    '<ticket xmlns:i="http://www.w3.org/2001/XMLSchema-instance" i:nil="true"/>',
                ),
                "ticket: is nil",
            ),
            (op("getLastError", "<ticket>a</ticket><ticket>b</ticket>"), "ticket: given twice"),
            (op("getLastError", "<ticket>a</ticket><evil>1</evil>"), "unexpected parameter 'evil'"),
            (
                op("getLastError", '<x:ticket xmlns:x="urn:x">a</x:ticket>'),
                "unexpected parameter",
            ),
            (op("getLastError", "junk<ticket>a</ticket>"), "unexpected text 'junk'"),
            (op("getLastError", "<?pi x?><ticket>a</ticket>"), "unexpected markup"),
            (envelope("<getLastError><ticket>a</ticket></getLastError>"), "namespace None"),
            (
                op(
                    "sendRequestXML",
                    "<ticket>t</ticket><qbXMLMajorVers>thirteen</qbXMLMajorVers>"
                    "<qbXMLMinorVers>0</qbXMLMinorVers>",
                ),
                "qbXMLMajorVers: 'thirteen' is not an integer",
            ),
            (
                op(
                    "sendRequestXML",
                    "<ticket>t</ticket><qbXMLMajorVers>99999999999</qbXMLMajorVers>"
                    "<qbXMLMinorVers>0</qbXMLMinorVers>",
                ),
                "out of range",
            ),
            (
                op(
                    "sendRequestXML",
                    "<ticket>t</ticket><qbXMLMajorVers>-1</qbXMLMajorVers>"
                    "<qbXMLMinorVers>0</qbXMLMinorVers>",
                ),
                "major_version",
            ),
            (
                op("sendRequestXML", "<ticket>t</ticket><qbXMLMinorVers>0</qbXMLMinorVers>"),
                "qbXMLMajorVers: is missing",
            ),
            (
                op("receiveResponseXML", "<ticket>t</ticket><response><QBXML/></response>"),
                "nested XML",
            ),
            (envelope(""), "holds 0 elements"),
            (envelope(f'<a xmlns="{INTUIT_NS}"/><b/>'), "holds 2 elements"),
            (b'<soap:Envelope xmlns:soap="' + SOAP11_ENV_NS.encode() + b'"/>', "no SOAP 1.1 Body"),
            (
                b'<soap:Envelope xmlns:soap="' + SOAP11_ENV_NS.encode() + b'">'
                b"<soap:Body/><soap:Body/></soap:Envelope>",
                "two Body",
            ),
            (b"<authenticate/>", "not a SOAP Envelope"),
            (b"", "empty"),
            (b"not xml at all", "not well-formed"),
            (envelope("<unclosed>"), "not well-formed"),
        ],
    )
    def test_bad_bodies(self, body: bytes, message: str) -> None:
        """Each defect gets its own clear message."""
        with pytest.raises(RemoteProtocolError, match=message):
            decode_call(body)

    @pytest.mark.parametrize(
        ("doctype", "reference"),
        [
            (
                '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
                '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]>',
                "&lol3;",
            ),
            ('<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;"),
            ('<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>', "u"),
            ('<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd">', "u"),
            ('<!DOCTYPE x [<!ENTITY e "expanded">]>', "&e;"),
        ],
        ids=["billion-laughs", "xxe", "parameter-entity", "external-dtd", "internal-entity"],
    )
    def test_dtds_are_refused(self, doctype: str, reference: str) -> None:
        """No DTD, no entity, no network: any DOCTYPE is refused."""
        body = (
            f'<?xml version="1.0"?>{doctype}<soap:Envelope xmlns:soap="{SOAP11_ENV_NS}">'
            f'<soap:Body><authenticate xmlns="{INTUIT_NS}"><strUserName>{reference}'
            "</strUserName><strPassword>p</strPassword></authenticate></soap:Body></soap:Envelope>"
        ).encode()

        with pytest.raises(RemoteProtocolError, match="a DOCTYPE is not allowed"):
            decode_call(body)

    @pytest.mark.parametrize(
        ("markup", "message"),
        [
            ("<e/>" * 300, "SOAP request: more than 256 elements; refused before parsing"),
            (
                "<e " + " ".join(f"a{i}=''" for i in range(257)) + "/>",
                "SOAP request: more than 256 attributes; refused before parsing",
            ),
            (
                "<e " + " ".join(f"xmlns:n{i}='u'" for i in range(65)) + "/>",
                "SOAP request: more than 64 namespace declarations; refused before parsing",
            ),
        ],
        ids=["elements", "attributes", "namespaces"],
    )
    def test_markup_budget(self, markup: str, message: str) -> None:
        """More markup than a call can hold: a soap:Client error naming the limit."""
        body = (
            f'<soap:Envelope xmlns:soap="{SOAP11_ENV_NS}"><soap:Body>'
            f'<authenticate xmlns="{INTUIT_NS}"><strUserName>u</strUserName>'
            f"<strPassword>p</strPassword></authenticate>{markup}</soap:Body></soap:Envelope>"
        ).encode()
        with pytest.raises(RemoteProtocolError, match=re.escape(message)) as info:
            decode_call(body)
        assert info.value.fault_code == "soap:Client"

    def test_markup_in_qbxml_text_is_not_counted(self) -> None:
        """qbXML travels as text: its markup, escaped or in CDATA, is not the envelope's."""
        qbxml = "<QBXML><QBXMLMsgsRs>" + '<R a="1" b="2"/>' * 400 + "</QBXMLMsgsRs></QBXML>"
        call = ReceiveResponseXMLCall(ticket="t", response=qbxml, hresult="", message="")
        body = encode_call(call)
        assert decode_call(body).response == qbxml  # type: ignore[union-attr]
        cdata = body.replace(escape_text(qbxml).encode(), f"<![CDATA[{qbxml}]]>".encode())
        assert cdata != body
        assert decode_call(cdata).response == qbxml  # type: ignore[union-attr]

    def test_size_bound(self) -> None:
        """A body over max_bytes is refused before parsing."""
        body = encode_call(GetLastErrorCall(ticket="t" * 1000))

        with pytest.raises(RemoteProtocolError, match="at most 500"):
            decode_call(body, max_bytes=500)
        assert GetLastErrorCall(ticket="t" * 1000) == decode_call(body, max_bytes=len(body))


class TestGarbage:
    """h11's fuzz invariant: a call or RemoteProtocolError, never anything else."""

    @given(body=st.binary(max_size=500))
    def test_random_bytes(self, body: bytes) -> None:
        """Random bytes never escape as another exception."""
        with contextlib.suppress(RemoteProtocolError):
            decode_call(body)

    @given(
        index=st.integers(0, 40),
        cut=st.integers(0, 10_000),
        length=st.integers(0, 50),
        insert=st.binary(max_size=20),
        mode=st.sampled_from(["truncate", "delete", "insert", "flip"]),
    )
    def test_mutated_real_envelopes(
        self, index: int, cut: int, length: int, insert: bytes, mode: str
    ) -> None:
        """Truncated, cut, spliced or bit-flipped real requests never escape otherwise."""
        bodies = mutation_sources()
        body = bodies[index % len(bodies)]
        at = cut % (len(body) + 1)
        if mode == "truncate":
            mutated = body[:at]
        elif mode == "delete":
            mutated = body[:at] + body[at + length :]
        elif mode == "insert":
            mutated = body[:at] + insert + body[at:]
        else:
            mutated = body[:at] + bytes([body[at] ^ (1 << (length % 8))]) + body[at + 1 :] if (
                at < len(body)
            ) else body
        try:
            call = decode_call(mutated)
        except RemoteProtocolError:
            return
        assert call.operation in OPERATIONS

    def test_own_parameters_cover_every_operation(self) -> None:
        """The table below names every operation's parameters."""
        assert set(OWN_PARAMETERS) == set(OPERATIONS)

    @pytest.mark.parametrize("operation", OPERATIONS)
    @given(text=st.text(max_size=200))
    def test_random_text_in_every_parameter(self, operation: str, text: str) -> None:
        """Any text in each of an operation's own parameters decodes to that very text."""
        parameters = OWN_PARAMETERS[operation]
        values = {wire: f"{text}{index}" for index, wire in enumerate(parameters)}
        params = "".join(f"<{wire}>{xml_escape(value)}</{wire}>" for wire, value in values.items())
        if operation == "serverVersion":  # its children are read and ignored
            escaped = xml_escape(text)
            params = f"<strVersion>{escaped}</strVersion><ticket>{escaped}</ticket>"
        body = op(operation, params + INT_PARAMETERS.get(operation, ""))
        if _NOT_XML.search(text):
            with pytest.raises(RemoteProtocolError):
                decode_call(body)
            return

        call = decode_call(body)

        assert call.operation == operation
        assert {field: getattr(call, field) for field in parameters.values()} == {
            field: values[wire] for wire, field in parameters.items()
        }
        if operation == "serverVersion":
            assert call == ServerVersionCall()


# Each operation's own parameters, as the Web Connector names them, and the field each fills.
OWN_PARAMETERS: dict[str, dict[str, str]] = {
    "serverVersion": {},  # takes any children and keeps none (see TestTolerance)
    "clientVersion": {"strVersion": "version"},
    "authenticate": {"strUserName": "username", "strPassword": "password"},
    "sendRequestXML": {
        "ticket": "ticket",
        "strHCPResponse": "hcp_response",
        "strCompanyFileName": "company_file_name",
        "qbXMLCountry": "country",
    },
    "receiveResponseXML": {
        "ticket": "ticket",
        "response": "response",
        "hresult": "hresult",
        "message": "message",
    },
    "connectionError": {"ticket": "ticket", "hresult": "hresult", "message": "message"},
    "getLastError": {"ticket": "ticket"},
    "closeConnection": {"ticket": "ticket"},
    "getInteractiveURL": {"wcTicket": "ticket", "sessionID": "session_id"},
    "interactiveDone": {"wcTicket": "ticket"},
    "interactiveRejected": {"wcTicket": "ticket", "reason": "reason"},
}
INT_PARAMETERS = {
    "sendRequestXML": "<qbXMLMajorVers>13</qbXMLMajorVers><qbXMLMinorVers>0</qbXMLMinorVers>"
}
# Characters XML 1.0 cannot carry, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_escape(text: str) -> str:
    """Text as element content: markup escaped, CR as a reference (a bare CR would read as LF)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("\r", "&#13;")


@cache
def mutation_sources() -> list[bytes]:
    reference = require_reference()
    paths = sorted((reference / SESSION).glob("*_request_*.xml"))
    paths += sorted((reference / "soap" / "flowlink").glob("*.xml"))
    return [p.read_bytes() for p in paths]


class TestEncoding:
    def test_declaration_first(self) -> None:
        """The response starts with the XML declaration: no BOM, no whitespace (QBWC1042)."""
        body = encode_reply(Done())

        assert body.startswith(DECLARATION + b"<soap:Envelope")

    def test_authenticate_keeps_empty_slots(self) -> None:
        """ArrayOfString keeps <string></string>, and an empty postpone slot before min-run."""
        body = encode_reply(Authenticated(ticket="t", min_run_every_seconds=300))

        assert (
            b"<authenticateResult><string>t</string><string></string><string></string>"
            b"<string>300</string></authenticateResult>"
        ) in body

    @pytest.mark.parametrize(
        ("reply", "strings"),
        [
            (Authenticated(ticket="t", company_file=COMPANY), ["t", COMPANY]),
            (Authenticated(ticket="t", postpone_seconds=0), ["t", "", "0"]),
            (
                NoWork(ticket="t", postpone_seconds=60, min_run_every_seconds=600),
                ["t", "none", "60", "600"],
            ),
            (InvalidUserReply(), ["", "nvu"]),
            (Busy(ticket="t", postpone_seconds=30), ["t", "busy", "30"]),
        ],
    )
    def test_authenticate_slots(self, reply: Any, strings: list[str]) -> None:
        """[ticket, status, postpone?, min-run?] as [PG] p62–63 describe."""
        result = payload(encode_reply(reply))[0]

        assert strings == [s.text or "" for s in result]

    def test_progress_is_an_int(self) -> None:
        """receiveResponseXML answers with xsd:int text."""
        assert b"<receiveResponseXMLResult>-101</receiveResponseXMLResult>" in encode_reply(
            Failed(code=-101)
        )

    def test_qbxml_travels_escaped(self) -> None:
        """qbXML is one escaped string, never nested elements ([PG] p41)."""
        body = encode_reply(RequestXML(qbxml='<?qbxml version="13.0"?><QBXML>A & B ]]></QBXML>'))

        escaped = b'&lt;?qbxml version="13.0"?&gt;&lt;QBXML&gt;A &amp; B ]]&gt;&lt;/QBXML&gt;'
        assert escaped in body
        assert len(payload(body)[0]) == 0

    def test_special_strings(self) -> None:
        """The special answers are spelled as the Web Connector expects."""
        cases = [
            (ClientVersionWarning(message="old"), b">W:old<"),
            (TryCompanyFile(path=""), b"<connectionErrorResult></connectionErrorResult>"),
            (NoRequest(), b"<sendRequestXMLResult></sendRequestXMLResult>"),
        ]
        for reply, expected in cases:
            assert expected in encode_reply(reply)

    def test_fault(self) -> None:
        """A SOAP 1.1 fault with a prefixed code; illegal characters are escaped, not fatal."""
        body = encode_fault("Client", "bad ticket \x00 <here>")
        root = etree.fromstring(body)
        fault = root.find(f"{{{SOAP11_ENV_NS}}}Body/{{{SOAP11_ENV_NS}}}Fault")

        assert body.startswith(DECLARATION)
        assert fault is not None
        assert fault.findtext("faultcode") == "soap:Client"
        assert fault.findtext("faultstring") == "bad ticket \\x00 <here>"

    def test_fault_decodes_as_remote_error(self) -> None:
        """The client side reads a fault as RemoteProtocolError with the fault's code."""
        with pytest.raises(RemoteProtocolError, match="SOAP fault soap:Server: oops") as info:
            decode_reply("authenticate", encode_fault("soap:Server", "oops"))
        assert info.value.fault_code == "soap:Server"

    @pytest.mark.parametrize(
        ("reply", "message"),
        [
            (lambda: Progress(percent=100), "Progress.percent: 100 is not in 0..99"),
            (lambda: Progress(percent=True), "expected int, got bool"),
            (lambda: Failed(code=0), "Failed.code"),
            (lambda: LastErrorReply(message="noop"), "would be read as"),
            (lambda: RequestXML(qbxml=""), "RequestXML.qbxml"),
            (lambda: TryCompanyFile(path="DONE"), "giving up"),
            (lambda: Authenticated(ticket=""), "must not be empty"),
            (lambda: Authenticated(ticket="t", company_file="None"), "authenticate status"),
            (lambda: Goodbye(message="a\x00b"), "U\\+0000 at index 1"),
            (lambda: NoWork(ticket="t", postpone_seconds=-5), "postpone_seconds"),
            (lambda: ClientVersionCall(version=5), "ClientVersionCall.version: expected str"),
        ],
    )
    def test_illegal_replies_cannot_be_built(self, reply: Any, message: str) -> None:
        """A reply the Web Connector would misread raises LocalProtocolError naming the field."""
        with pytest.raises(LocalProtocolError, match=message):
            reply()


class TestDecodeReply:
    def test_unknown_client_version_syntax_is_text(self) -> None:
        """clientVersion text without W:/E:/O: is returned as is (QBWC1046 territory)."""
        body = encode_reply(ClientVersionOK()).replace(
            b"<clientVersionResult></clientVersionResult>",
            b"<clientVersionResult>hello</clientVersionResult>",
        )

        assert decode_reply("clientVersion", body) == "hello"

    def test_progress_above_100_is_text(self) -> None:
        """An int above 100 has no meaning: returned as text."""
        body = encode_reply(Done()).replace(b">100<", b">150<")

        assert decode_reply("receiveResponseXML", body) == "150"

    def test_wrong_response_element(self) -> None:
        """A response for another operation is refused."""
        with pytest.raises(RemoteProtocolError, match="expected <authenticateResponse>"):
            decode_reply("authenticate", encode_reply(Done()))

    def test_short_authenticate(self) -> None:
        """authenticate needs at least ticket and status."""
        body = encode_reply(InvalidUserReply()).replace(b"<string></string>", b"")

        with pytest.raises(RemoteProtocolError, match="1 strings, expected 2 to 4"):
            decode_reply("authenticate", body)

    @pytest.mark.parametrize(
        ("strings", "message"),
        [
            (b"<string>t</string><string></string><string>-5</string>", "seconds is negative"),
            (b"<string>t</string><string></string><string>soon</string>", "not an integer"),
            (b"<string></string><string></string>", "must not be empty"),
            (b"<string></string><string>busy</string>", "Busy.ticket"),
        ],
    )
    def test_bad_authenticate_slots(self, strings: bytes, message: str) -> None:
        """Slots the Web Connector could not use are refused, naming the slot or field."""
        body = encode_reply(InvalidUserReply()).replace(
            b"<string></string><string>nvu</string>", strings
        )

        with pytest.raises(RemoteProtocolError, match=message):
            decode_reply("authenticate", body)

    def test_unknown_operation_is_a_value_error(self) -> None:
        """The operation argument is the caller's: a wrong one is a ValueError."""
        with pytest.raises(ValueError, match="unknown operation"):
            decode_reply("dance", encode_reply(Done()))


class TestWSDL:
    def test_operations_and_actions(self) -> None:
        """11 operations, each with soapAction http://developer.intuit.com/<op>, SOAP 1.1."""
        root = etree.parse(str(ROOT / "schemas" / "qbwc.wsdl")).getroot()
        port_ops = [
            o.get("name") for o in root.iterfind(f"{{{WSDL_NS}}}portType/{{{WSDL_NS}}}operation")
        ]
        binding = root.find(f"{{{WSDL_NS}}}binding")
        assert binding is not None
        actions = {
            o.get("name"): o.find(f"{{{WSDL_SOAP_NS}}}operation").get("soapAction")  # type: ignore[union-attr]
            for o in binding.iterfind(f"{{{WSDL_NS}}}operation")
        }
        soap_binding = binding.find(f"{{{WSDL_SOAP_NS}}}binding")

        assert list(OPERATIONS) == port_ops
        assert dict(SOAP_ACTION) == actions
        assert root.get("targetNamespace") == INTUIT_NS
        assert soap_binding is not None
        assert (
            soap_binding.get("style"),
            soap_binding.get("transport"),
        ) == ("document", "http://schemas.xmlsoap.org/soap/http")
        assert {"literal"} == {b.get("use") for b in binding.iter(f"{{{WSDL_SOAP_NS}}}body")}

    def test_operations_match_the_events(self) -> None:
        """Every call class and reply class names one of the 11 operations."""
        assert list(OPERATIONS) == [t.operation for t in CALL_TYPES]
        assert set(OPERATIONS) == {t.operation for t in REPLY_TYPES}
        assert all(SOAP_ACTION[o] == INTUIT_NS + o for o in OPERATIONS)

    def test_address_is_filled_in_escaped(self) -> None:
        """wsdl(address) sets the endpoint, escaped, and keeps the rest."""
        body = wsdl("https://example.com/qbwc?a=1&b=<2>")
        root = etree.fromstring(body)
        address = root.find(f".//{{{WSDL_SOAP_NS}}}address")

        assert body.startswith(DECLARATION)
        assert b"a=1&amp;b=&lt;2&gt;" in body
        assert address is not None
        assert address.get("location") == "https://example.com/qbwc?a=1&b=<2>"
        assert len(root.findall(f"{{{WSDL_NS}}}portType/{{{WSDL_NS}}}operation")) == 11
        assert "https://example.com/other" in wsdl("https://example.com/other").decode()

    @pytest.mark.parametrize("address", ["", "ftp://x/y", "https://a b/", "/relative", "https://x/\x01"])
    def test_bad_address(self, address: str) -> None:
        """A WSDL address must be an absolute http(s) URL."""
        with pytest.raises(ConfigurationError, match="address"):
            wsdl(address)
