"""The .QWC file: writing, reading, the rules, the schema, the helpers and ``qbwc qwc``."""

from __future__ import annotations

import uuid
from datetime import timedelta
from functools import cache
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from qbwc._resources import schema_path
from qbwc.cli import main
from qbwc.exceptions import ConfigurationError, XMLParseError
from qbwc.qwc import (
    MAX_SCHEDULER_MINUTES,
    MAX_SCHEDULER_SECONDS,
    AuthFlags,
    PersonalDataPref,
    QBType,
    QWCConfig,
    Scheduler,
    Style,
    UnattendedModePref,
    download_headers,
    file_id_for,
    new_file_id,
    new_owner_id,
    problems,
    rotate,
)
from qbwc.testing._qwc_strategies import qwc_configs, texts
from tests.reference import reference_files, reference_path

DATA = Path(__file__).parent / "data" / "qwc"
OWNER = uuid.UUID("6B29FC40-CA47-4067-B31D-00DD010662DA")
FILE = uuid.UUID("0F8FAD5B-D9CB-469F-A165-70867728950E")


def make(**changes: object) -> QWCConfig:
    """A valid config, with *changes*."""
    values: dict[str, object] = {
        "app_name": "Acme Invoices",
        "app_url": "https://qb.acme.example/qbwc",
        "app_support": "https://acme.example/support",
        "user_name": "acme",
        "owner_id": OWNER,
        "file_id": FILE,
        "app_description": "Sends Acme's invoices to QuickBooks",
    }
    values.update(changes)
    return QWCConfig(**values)  # type: ignore[arg-type]


def rule_of(**changes: object) -> str:
    """The message of the ConfigurationError that *changes* cause."""
    with pytest.raises(ConfigurationError) as info:
        make(**changes)
    return str(info.value)


def file_with(*elements: str, drop: tuple[str, ...] = ()) -> bytes:
    """A valid .QWC with *elements* added (raw XML) and the tags in *drop* left out."""
    base = {
        "AppName": "<AppName>Acme</AppName>",
        "AppID": "<AppID></AppID>",
        "AppURL": "<AppURL>https://qb.acme.example/qbwc</AppURL>",
        "AppDescription": "<AppDescription>Invoices</AppDescription>",
        "AppSupport": "<AppSupport>https://acme.example/help</AppSupport>",
        "UserName": "<UserName>acme</UserName>",
        "OwnerID": f"<OwnerID>{{{OWNER}}}</OwnerID>",
        "FileID": f"<FileID>{{{FILE}}}</FileID>",
        "QBType": "<QBType>QBFS</QBType>",
    }
    added = {element.split(">")[0].lstrip("<").split()[0] for element in elements}
    body = [xml for tag, xml in base.items() if tag not in drop and tag not in added]
    return (
        "<?xml version='1.0'?>\n<QBWCXML>\n" + "\n".join([*body, *elements]) + "\n</QBWCXML>"
    ).encode()


@cache
def xsd() -> etree.XMLSchema:
    """Our schema, loaded once."""
    return etree.XMLSchema(etree.parse(str(schema_path("qwc.xsd"))))


def xsd_errors(data: bytes) -> list[str]:
    """What our schema says about *data* (empty when valid)."""
    schema = xsd()
    schema.validate(etree.fromstring(data))
    return [error.message for error in schema.error_log]


# --- golden files: written once by our generator, checked byte for byte ----------------

GOLDEN: dict[str, QWCConfig] = {
    "minimal.qwc": QWCConfig(
        app_name="Acme Invoices",
        app_url="https://qb.acme.example/qbwc",
        app_support="https://acme.example/support",
        user_name="acme",
        owner_id=OWNER,
        file_id=FILE,
        is_read_only=None,
        personal_data_pref=None,
        unattended_mode_pref=None,
        style=None,
    ),
    "defaults.qwc": make(scheduler=timedelta(minutes=15)),
    "every-element.qwc": QWCConfig(
        app_name="Acme Invoices (2025 books)",
        app_id="acme-qbwc",
        app_url="https://qb.acme.example:8443/qbwc?tenant=acme",
        app_description="Sends Acme's invoices and estimates to QuickBooks",
        app_support="https://www.acme.example/support?topic=quickbooks&lang=en",
        app_display_name="Acme",
        app_unique_name="acme-invoices-2025",
        cert_url="https://certs.acme.example/qbwc.cer",
        user_name="acme-books@example.com",
        owner_id=OWNER,
        file_id=FILE,
        qb_type=QBType.QBFS,
        scheduler=Scheduler(seconds=90),
        is_read_only=False,
        personal_data_pref=PersonalDataPref.OPTIONAL,
        unattended_mode_pref=UnattendedModePref.REQUIRED,
        style=Style.DOCUMENT,
        auth_flags=AuthFlags.PRO | AuthFlags.PREMIER | AuthFlags.ENTERPRISE,
        notify=True,
    ),
    "escaping.qwc": make(
        app_name='Smith & Sons <"Café">',
        app_description="Müller & Søn's <invoices> — ready ✓ 😀",
        user_name="o'brien&co",
    ),
    "localhost.qwc": make(
        app_url="http://localhost:8080/qbwc",
        app_support="http://localhost:8080/support",
        scheduler=Scheduler(minutes=1),
    ),
}


class TestGolden:
    """The committed golden files are exactly what the generator writes."""

    @pytest.mark.parametrize("name", sorted(GOLDEN))
    def test_bytes(self, name: str) -> None:
        """to_xml() produces the golden file byte for byte."""
        assert (DATA / name).read_bytes() == GOLDEN[name].to_xml()

    @pytest.mark.parametrize("name", sorted(GOLDEN))
    def test_reads_back(self, name: str) -> None:
        """The golden file reads back into the config that wrote it, with no problem."""
        data = (DATA / name).read_bytes()

        assert GOLDEN[name] == QWCConfig.from_xml(data)
        assert problems(data) == []

    @pytest.mark.parametrize("name", sorted(GOLDEN))
    def test_validates_against_schema(self, name: str) -> None:
        """Every golden file is valid against schemas/qwc.xsd."""
        assert xsd_errors((DATA / name).read_bytes()) == []

    def test_shape(self) -> None:
        """The declaration, two-space indentation, braces, upper-case GUIDs, a final newline."""
        lines = GOLDEN["defaults.qwc"].to_xml().decode("ascii").splitlines(keepends=True)

        assert lines[0] == '<?xml version="1.0"?>\n'
        assert lines[1] == "<QBWCXML>\n"
        assert lines[2] == "  <AppName>Acme Invoices</AppName>\n"
        assert "  <OwnerID>{6B29FC40-CA47-4067-B31D-00DD010662DA}</OwnerID>\n" in lines
        assert lines[-1] == "</QBWCXML>\n"

    def test_sample_order(self) -> None:
        """Elements come in Intuit's sample order, the optional ones after QBType."""
        root = etree.fromstring(GOLDEN["every-element.qwc"].to_xml())

        assert [child.tag for child in root] == [
            "AppName", "AppID", "AppURL", "AppDescription", "AppSupport", "AppDisplayName",
            "AppUniqueName", "CertURL", "UserName", "OwnerID", "FileID", "QBType", "Scheduler",
            "IsReadOnly", "PersonalDataPref", "UnattendedModePref", "Style", "AuthFlags", "Notify",
        ]  # fmt: skip


class TestEscaping:
    """Values are escaped by lxml, never by string formatting, and come back unchanged."""

    def test_ampersand_angle_brackets_and_quotes(self) -> None:
        """&, < and > are escaped in text; quotes need no escaping there."""
        data = GOLDEN["escaping.qwc"].to_xml()

        assert b'<AppName>Smith &amp; Sons &lt;"Caf&#233;"&gt;</AppName>' in data
        assert b"<UserName>o'brien&amp;co</UserName>" in data

    def test_non_ascii_becomes_character_references(self) -> None:
        """The file is pure ASCII: other characters, astral ones too, are one &#N; each."""
        data = GOLDEN["escaping.qwc"].to_xml()

        data.decode("ascii")
        assert (
            b"<AppDescription>M&#252;ller &amp; S&#248;n's &lt;invoices&gt; &#8212; ready "
            b"&#10003; &#128512;</AppDescription>"
        ) in data

    def test_url_query_ampersand(self) -> None:
        """An & in a URL's query string is escaped and read back as &."""
        config = make(app_url="https://qb.acme.example/qbwc?a=1&b=2")

        assert b"<AppURL>https://qb.acme.example/qbwc?a=1&amp;b=2</AppURL>" in config.to_xml()
        assert QWCConfig.from_xml(config.to_xml()).app_url == "https://qb.acme.example/qbwc?a=1&b=2"

    @given(description=texts(max_size=200, allow_empty=True))
    def test_any_text_round_trips(self, description: str) -> None:
        """Any legal AppDescription comes back exactly."""
        config = make(app_description=description)

        assert description == QWCConfig.from_xml(config.to_xml()).app_description


class TestRoundTrip:
    """config → XML → config, for every config the strategies draw."""

    @given(config=qwc_configs())
    def test_round_trip(self, config: QWCConfig) -> None:
        """Reading what we wrote gives the same config."""
        assert config == QWCConfig.from_xml(config.to_xml())

    @given(config=qwc_configs())
    def test_deterministic(self, config: QWCConfig) -> None:
        """The same config gives the same bytes, also after a round trip."""
        data = config.to_xml()

        assert data == config.to_xml()
        assert data == attrs.evolve(config).to_xml()
        assert data == QWCConfig.from_xml(data).to_xml()

    @given(config=qwc_configs())
    def test_valid_and_clean(self, config: QWCConfig) -> None:
        """What we write is ASCII, valid against our schema, and has no problem."""
        data = config.to_xml()

        data.decode("ascii")
        assert xsd_errors(data) == []
        assert problems(data) == []

    @given(config=qwc_configs(), order=st.randoms(use_true_random=False))
    def test_any_element_order(self, config: QWCConfig, order: object) -> None:
        """Element order does not matter when reading (Programmer's Guide p. 39)."""
        root = etree.fromstring(config.to_xml())
        children = list(root)
        order.shuffle(children)  # type: ignore[attr-defined]
        root[:] = children

        assert config == QWCConfig.from_xml(etree.tostring(root))


class TestReading:
    """from_xml reads any real file's encoding and layout."""

    def test_single_quoted_declaration_and_utf8(self) -> None:
        """<?xml version='1.0' encoding='UTF-8'?> and raw UTF-8 text are read."""
        data = file_with("<AppDescription>Café</AppDescription>").replace(
            b"<?xml version='1.0'?>", b"<?xml version='1.0' encoding='UTF-8'?>"
        )

        assert QWCConfig.from_xml(data).app_description == "Café"

    def test_bom(self) -> None:
        """A UTF-8 byte order mark is fine."""
        assert QWCConfig.from_xml(b"\xef\xbb\xbf" + file_with()).app_name == "Acme"

    def test_utf16(self) -> None:
        """A UTF-16 file with a BOM (Notepad's 'Unicode') is read."""
        text = (
            file_with()
            .decode()
            .replace("<?xml version='1.0'?>", '<?xml version="1.0" encoding="UTF-16"?>')
        )

        assert QWCConfig.from_xml(text.encode("utf-16")).app_name == "Acme"

    def test_windows_1252(self) -> None:
        """A declared legacy encoding is honoured."""
        text = file_with("<AppDescription>Café</AppDescription>").decode()
        text = text.replace(
            "<?xml version='1.0'?>", '<?xml version="1.0" encoding="windows-1252"?>'
        )

        assert QWCConfig.from_xml(text.encode("cp1252")).app_description == "Café"

    def test_tabs_crlf_no_trailing_newline_no_declaration(self) -> None:
        """Tabs, CRLF line ends, no final newline and no declaration are all fine."""
        data = file_with().replace(b"\n", b"\r\n\t").split(b"?>", 1)[1].strip()

        assert QWCConfig.from_xml(data).user_name == "acme"

    def test_str(self) -> None:
        """A str (already decoded) is accepted too."""
        assert QWCConfig.from_xml(file_with().decode()).user_name == "acme"

    def test_absent_optional_elements_stay_absent(self) -> None:
        """An optional element the file leaves out reads as None, and is not written back."""
        config = QWCConfig.from_xml(file_with())

        assert (
            config.is_read_only, config.personal_data_pref, config.style, config.scheduler,
        ) == (None, None, None, None)  # fmt: skip
        assert b"IsReadOnly" not in config.to_xml()

    def test_lower_case_guid(self) -> None:
        """Lower-case GUIDs are read; we write them upper case."""
        data = file_with("<OwnerID>{6b29fc40-ca47-4067-b31d-00dd010662da}</OwnerID>")
        config = QWCConfig.from_xml(data)

        assert config.owner_id == OWNER
        assert b"{6B29FC40-CA47-4067-B31D-00DD010662DA}" in config.to_xml()

    def test_case_insensitive_booleans(self) -> None:
        """True/FALSE are read, as the Web Connector (.NET) reads them."""
        config = QWCConfig.from_xml(
            file_with("<IsReadOnly>True</IsReadOnly>", "<Notify>FALSE</Notify>")
        )

        assert (config.is_read_only, config.notify) == (True, False)

    def test_auth_flags(self) -> None:
        """AuthFlags are read as hex in either case, leading zeros allowed."""
        config = QWCConfig.from_xml(file_with("<AuthFlags>0X0e</AuthFlags>"))

        assert config.auth_flags == AuthFlags.PRO | AuthFlags.PREMIER | AuthFlags.ENTERPRISE
        assert b"<AuthFlags>0xE</AuthFlags>" in config.to_xml()

    def test_scheduler_in_seconds(self) -> None:
        """RunEveryNSeconds reads as seconds."""
        data = file_with("<Scheduler><RunEveryNSeconds>45</RunEveryNSeconds></Scheduler>")

        assert Scheduler(seconds=45) == QWCConfig.from_xml(data).scheduler

    def test_comments_and_processing_instructions_are_ignored(self) -> None:
        """Comments and processing instructions inside the root are skipped."""
        data = file_with("<!-- issued 2025-01-01 --><?generator qbwc?>")

        assert QWCConfig.from_xml(data).app_name == "Acme"


class TestReferenceFiles:
    """Every real .QWC in the reference folder."""

    @pytest.mark.parametrize("name", reference_files("qwc/*.qwc"))
    def test_parses_strictly(self, name: str) -> None:
        """It parses under the strict rules, has no problem and validates against our schema.

        All ten real files follow the documented rules (the one with AppURL on
        secure.domain.com and AppSupport on www.domain.com shares the domain).
        """
        data = reference_path(name).read_bytes()
        config = QWCConfig.from_xml(data)

        assert problems(data) == []
        assert xsd_errors(data) == []
        assert config == QWCConfig.from_xml(config.to_xml())

    @pytest.mark.parametrize("name", reference_files("qwc/*.qwc"))
    def test_same_values_as_lxml_sees(self, name: str) -> None:
        """Every element's text is what a plain lxml parse sees (nothing dropped or altered)."""
        data = reference_path(name).read_bytes()
        root = etree.fromstring(data)
        ours = etree.fromstring(QWCConfig.from_xml(data).to_xml())

        for child in root:
            if child.tag == "Scheduler":
                assert [(c.tag, c.text) for c in child] == [
                    (c.tag, c.text) for c in ours.find("Scheduler")
                ]  # type: ignore[union-attr]
            elif child.tag in ("OwnerID", "FileID"):
                assert (child.text or "").upper() == ours.findtext(child.tag)
            else:
                assert (child.text or "") == ours.findtext(child.tag)

    def test_known_values(self) -> None:
        """Spot checks: the indented file with a single-quoted declaration, and Intuit's sample."""
        bill_ash = QWCConfig.from_xml(reference_path("qwc/bill-ash-example.qwc").read_bytes())
        intuit = QWCConfig.from_xml(reference_path("qwc/intuit-HTTPSWebService.qwc").read_bytes())

        assert Scheduler(minutes=60) == bill_ash.scheduler
        assert uuid.UUID("417eb939-4ee9-40da-8e8a-d1269aaa2eb3") == bill_ash.owner_id
        assert AuthFlags(0xF) == intuit.auth_flags
        assert intuit.style == Style.DOCUMENT
        assert (
            intuit.app_support
            == "http://MTVL04A200337.corp.intuit.net/WCWebService/WCWebService.asmx?wsdl"
        )


# Real-world files that break the Web Connector's rules (seen in forum posts and
# toolkits' samples): they must still be readable with strict=False.
HTTP_LAN = file_with(
    "<AppURL>http://devbox/qbwc</AppURL>", "<AppSupport>http://devbox/help</AppSupport>"
)
OTHER_HOST = file_with("<AppSupport>https://support.other.example/help</AppSupport>")


# One damage per row: the element's new content (raw XML), or None to leave it out.
DAMAGES: list[tuple[str, str | None]] = [
    ("AppName", ""),
    ("AppName", "Acme\\Billing"),
    ("AppName", "x" * 256),
    ("AppName", "Acme\x7f"),
    ("AppName", "<b>Acme</b>"),
    ("AppName", None),
    ("AppID", "x" * 256),
    ("AppID", None),
    ("AppURL", ""),
    ("AppURL", "ftp://qb.acme.example/qbwc"),
    ("AppURL", "https://qb.acme.example/a b"),
    ("AppURL", "https://kim:secret@qb.acme.example/qbwc"),
    ("AppURL", "https://qb.acme.example/qbwc?password=x"),
    ("AppURL", "https://" + "x" * 2048),
    ("AppURL", None),
    ("AppDescription", "x" * 4096),
    ("AppDescription", None),
    ("AppSupport", ""),
    ("AppSupport", "support"),
    ("AppSupport", None),
    ("AppDisplayName", "x" * 256),
    ("AppUniqueName", "Acme\x85"),
    ("CertURL", ""),
    ("CertURL", "ftp://cert.example/c"),
    ("UserName", ""),
    ("UserName", "x" * 256),
    ("UserName", None),
    ("OwnerID", "none"),
    ("OwnerID", ""),
    ("OwnerID", "{00000000-0000-0000-0000-000000000000}"),
    ("OwnerID", None),
    ("FileID", "{0F8FAD5B-D9CB-469F-A165}"),
    ("FileID", None),
    ("QBType", "QBXX"),
    ("QBType", ""),
    ("QBType", None),
    ("Scheduler", ""),
    ("Scheduler", "<RunEveryNMinutes>0</RunEveryNMinutes>"),
    ("Scheduler", "<RunEveryNMinutes>soon</RunEveryNMinutes>"),
    ("Scheduler", "<RunEveryNSeconds>99999999</RunEveryNSeconds>"),
    ("Scheduler", "15"),
    ("IsReadOnly", "maybe"),
    ("PersonalDataPref", "pdpAlways"),
    ("UnattendedModePref", ""),
    ("Style", "SOAP"),
    ("AuthFlags", "0x10"),
    ("AuthFlags", "all"),
    ("Notify", "yes"),
]
FIELD_OF = {
    "AppName": "app_name",
    "AppID": "app_id",
    "AppURL": "app_url",
    "AppDescription": "app_description",
    "AppSupport": "app_support",
    "AppDisplayName": "app_display_name",
    "AppUniqueName": "app_unique_name",
    "CertURL": "cert_url",
    "UserName": "user_name",
    "OwnerID": "owner_id",
    "FileID": "file_id",
    "QBType": "qb_type",
    "Scheduler": "scheduler",
    "IsReadOnly": "is_read_only",
    "PersonalDataPref": "personal_data_pref",
    "UnattendedModePref": "unattended_mode_pref",
    "Style": "style",
    "AuthFlags": "auth_flags",
    "Notify": "notify",
}
#: The elements whose value is text (kept as read, even when it breaks a rule).
TEXT_TAGS = frozenset(
    ("AppName", "AppID", "AppURL", "AppDescription", "AppSupport", "AppDisplayName",
     "AppUniqueName", "CertURL", "UserName")
)  # fmt: skip


def damaged(data: bytes, tag: str, damage: str | None) -> bytes:
    """*data* with element *tag* given the raw content *damage*, or left out (None)."""
    root = etree.fromstring(data)
    element = root.find(tag)
    if element is None:
        element = etree.SubElement(root, tag)
    if damage is None:
        root.remove(element)
    else:
        for child in list(element):
            element.remove(child)
        inner = etree.fromstring(f"<w>{damage}</w>")
        element.text = inner.text
        element.extend(list(inner))
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


class TestLenient:
    """strict=False reads files the Web Connector would refuse, but not unrepresentable ones."""

    def test_http_to_a_lan_machine(self) -> None:
        """http to a LAN machine name breaks QBWC1010 but reads leniently and round-trips."""
        with pytest.raises(ConfigurationError, match="QBWC1010"):
            QWCConfig.from_xml(HTTP_LAN)
        config = QWCConfig.from_xml(HTTP_LAN, strict=False)

        assert config.app_url == "http://devbox/qbwc"
        assert config.strict is False
        assert config == QWCConfig.from_xml(config.to_xml(), strict=False)
        assert any("pattern" in error for error in xsd_errors(HTTP_LAN))

    def test_support_on_another_host(self) -> None:
        """AppSupport on another domain breaks QBWC1000 but reads leniently."""
        with pytest.raises(ConfigurationError, match="QBWC1000"):
            QWCConfig.from_xml(OTHER_HOST)

        assert (
            QWCConfig.from_xml(OTHER_HOST, strict=False).app_support
            == "https://support.other.example/help"
        )

    def test_lenient_fills_defaulted_required_elements(self) -> None:
        """Missing AppID, AppDescription and QBType take the defaults when lenient."""
        config = QWCConfig.from_xml(
            file_with(drop=("AppID", "AppDescription", "QBType")), strict=False
        )

        assert (config.app_id, config.app_description, config.qb_type) == ("", "", QBType.QBFS)

    def test_empty_app_support_reads_leniently(self) -> None:
        """An empty <AppSupport> is read as it is, listed, and cannot be written until fixed."""
        data = file_with("<AppSupport></AppSupport>")
        with pytest.raises(ConfigurationError, match="AppSupport is required"):
            QWCConfig.from_xml(data)

        config = QWCConfig.from_xml(data, strict=False)

        assert config.app_support == ""
        assert config.app_name == "Acme"
        assert config.problems == ("AppSupport is required and must not be empty",)
        assert list(config.problems) == problems(data)
        with pytest.raises(ConfigurationError, match="AppSupport is required") as info:
            config.to_xml()
        assert info.value.field == "app_support"
        fixed = attrs.evolve(config, app_support="https://acme.example/help")
        assert b"<AppSupport>https://acme.example/help</AppSupport>" in fixed.to_xml()
        assert fixed.problems == ()

    def test_missing_and_unreadable_values_take_placeholders(self) -> None:
        """A missing AppURL and a bad GUID are listed; the values are "" and the nil GUID."""
        data = file_with("<OwnerID>none</OwnerID>", drop=("AppURL",))

        config = QWCConfig.from_xml(data, strict=False)

        assert (config.app_url, config.owner_id, config.file_id) == ("", uuid.UUID(int=0), FILE)
        assert config.problems == (
            "OwnerID must be a GUID in braces, like {6B29FC40-CA47-1067-B31D-00DD010662DA}; "
            "got 'none'",
            "AppURL is missing: every .QWC needs it (the Web Connector refuses the file "
            "with QBWC1039)",
        )
        with pytest.raises(ConfigurationError, match="OwnerID must be a GUID"):
            config.to_xml()
        # A changed copy is checked afresh: the placeholders never slip into a file.
        with pytest.raises(ConfigurationError, match="AppURL is required"):
            attrs.evolve(config, owner_id=OWNER)
        with pytest.raises(ConfigurationError, match="nil GUID"):
            attrs.evolve(config, app_url="https://qb.acme.example/qbwc")

    def test_nil_guid_is_refused(self) -> None:
        """The nil GUID identifies nothing: refused as OwnerID or FileID."""
        assert "OwnerID must not be the nil GUID" in rule_of(owner_id=uuid.UUID(int=0))
        assert "qbwc.qwc.new_file_id()" in rule_of(file_id=uuid.UUID(int=0))

    def test_only_a_document_that_is_no_qwc_raises(self) -> None:
        """Lenient reading raises for XML that is not a QWC document, and only then."""
        with pytest.raises(ConfigurationError, match="root element must be <QBWCXML>"):
            QWCConfig.from_xml(b"<Other><AppName>x</AppName></Other>", strict=False)
        with pytest.raises(XMLParseError):
            QWCConfig.from_xml(b"<QBWCXML><AppName>x</QBWCXML>", strict=False)

    def test_a_clean_file_has_no_problems(self) -> None:
        """A file that breaks no rule reads leniently with an empty problem list."""
        assert QWCConfig.from_xml(make().to_xml(), strict=False).problems == ()
        assert make().problems == ()

    @pytest.mark.parametrize(
        ("tag", "damage"), DAMAGES, ids=[f"{tag}-{i}" for i, (tag, _) in enumerate(DAMAGES)]
    )
    @settings(max_examples=max(3, settings.default.max_examples // 10))  # 48 rows
    @given(config=qwc_configs())
    def test_one_damaged_field_reads_leniently(
        self, tag: str, damage: str | None, config: QWCConfig
    ) -> None:
        """A strict-valid file with one element damaged: strict raises; lenient lists it."""
        data = damaged(config.to_xml(), tag, damage)
        with pytest.raises(ConfigurationError):
            QWCConfig.from_xml(data)

        lenient = QWCConfig.from_xml(data, strict=False)

        assert any(tag in problem for problem in lenient.problems), lenient.problems
        assert list(lenient.problems) == problems(data)
        field = FIELD_OF[tag]
        for attribute in attrs.fields(QWCConfig):
            if attribute.init and attribute.name not in (field, "strict"):
                assert getattr(lenient, attribute.name) == getattr(config, attribute.name)
        if damage is not None and not damage.startswith("<") and tag in TEXT_TAGS:
            assert getattr(lenient, field) == damage.strip()

    def test_lenient_duplicates_and_unknowns(self) -> None:
        """Leniently, the first of two elements wins and unknown elements are ignored."""
        data = file_with(
            "<AppName>First</AppName>", "<AppName>Second</AppName>", "<Colour>red</Colour>"
        )
        config = QWCConfig.from_xml(data, strict=False)

        assert config.app_name == "First"

    def test_lenient_padding_is_trimmed(self) -> None:
        """Whitespace around a value is dropped when lenient."""
        data = file_with("<UserName>\n   acme\n</UserName>")

        assert QWCConfig.from_xml(data, strict=False).user_name == "acme"

    def test_constructor_lenient(self) -> None:
        """QWCConfig(..., strict=False) builds a LAN test file; strict is not part of equality."""
        config = make(app_url="http://devbox/qbwc", app_support="http://devbox/help", strict=False)

        assert b"<AppURL>http://devbox/qbwc</AppURL>" in config.to_xml()
        assert config == attrs.evolve(config, strict=False)

    def test_evolve_keeps_strictness(self) -> None:
        """attrs.evolve of a lenient config stays lenient."""
        config = make(app_url="http://devbox/qbwc", app_support="http://devbox/help", strict=False)

        assert attrs.evolve(config, app_name="b").app_name == "b"


class TestConstructorRules:
    """Every rule, with the exact message a user sees."""

    def test_https_unless_localhost(self) -> None:
        """AppURL over http to anything but localhost: QBWC1010."""
        assert rule_of(app_url="http://qb.acme.example/qbwc") == (
            "app_url: AppURL must be https unless the host is localhost (the Web Connector "
            "refuses it with QBWC1010); got 'http://qb.acme.example/qbwc'"
        )

    def test_localhost_may_use_http(self) -> None:
        """http://localhost is allowed, in any letter case."""
        assert (
            make(app_url="http://LOCALHOST/qbwc", app_support="http://localhost/help").app_url
            == "http://LOCALHOST/qbwc"
        )

    @pytest.mark.parametrize(
        "url",
        [
            "https://10.0.0.5/qbwc",
            "https://[::1]/qbwc",
            "https://10.1/qbwc",
            "https://3232235777/x",
        ],
    )
    def test_app_url_not_an_ip(self, url: str) -> None:
        """An IP address in AppURL, in any notation Windows reads: QBWC1001."""
        assert (
            "app_url: AppURL must use a host name, not an IP address (the Web Connector "
            f"refuses it with QBWC1001); got {url!r}"
        ) == rule_of(app_url=url)

    def test_app_support_not_an_ip(self) -> None:
        """An IP address in AppSupport: QBWC1002."""
        assert rule_of(app_support="https://192.168.1.20/help") == (
            "app_support: AppSupport must use a host name, not an IP address (the Web "
            "Connector refuses it with QBWC1002); got 'https://192.168.1.20/help'"
        )

    def test_same_domain(self) -> None:
        """AppSupport on another domain: QBWC1000."""
        assert rule_of(app_support="https://help.other.example/") == (
            "app_support: AppSupport must be on the same domain as AppURL (the Web Connector "
            "refuses it with QBWC1000); got 'help.other.example' for AppSupport and "
            "'qb.acme.example' for AppURL"
        )

    @pytest.mark.parametrize(
        ("app_url", "app_support"),
        [
            ("https://qb.acme.example/x", "http://www.acme.example/help"),
            ("https://acme.example/x", "https://help.acme.example/"),
            ("https://a.b.acme.example/x", "https://ACME.example./"),
            ("https://devbox/x", "http://devbox/help"),
        ],
    )
    def test_same_domain_accepts(self, app_url: str, app_support: str) -> None:
        """Sibling subdomains, a parent domain, case, trailing dots and one machine name pass."""
        assert app_url == make(app_url=app_url, app_support=app_support).app_url

    def test_machine_name_matches_only_itself(self) -> None:
        """A LAN machine name is its own domain."""
        assert "QBWC1000" in rule_of(
            app_url="https://devbox/x", app_support="https://devbox.acme.example/"
        )

    def test_no_credentials_in_urls(self) -> None:
        """user:password@ in a URL is refused: the Web Connector asks for the password."""
        assert rule_of(app_url="https://acme:secret@qb.acme.example/qbwc") == (
            "app_url: AppURL must not carry a user name or password (user:password@host): the "
            "Web Connector asks the user for the password and stores it encrypted"
        )

    def test_no_password_in_query(self) -> None:
        """?password=... in a URL is refused."""
        assert rule_of(app_support="https://acme.example/help?user=a&Password=b") == (
            "app_support: AppSupport must not carry a password in its query string: the Web "
            "Connector asks the user for the password and stores it encrypted"
        )

    @pytest.mark.parametrize(
        "url",
        [
            "ftp://acme.example/x",
            "qb.acme.example/qbwc",
            "https:///x",
            "https://acme.example:99999/",
        ],
    )
    def test_absolute_http_url(self, url: str) -> None:
        """Only absolute http(s) URLs with a host and a valid port."""
        assert (
            "app_url: AppURL must be an absolute http or https URL, like "
            f"https://example.com/qbwc; got {url!r}"
        ) == rule_of(app_url=url)

    def test_no_spaces_in_urls(self) -> None:
        """Spaces must be percent-encoded."""
        assert rule_of(app_url="https://qb.acme.example/my service") == (
            "app_url: AppURL must not contain spaces (percent-encode them as %20); got "
            "'https://qb.acme.example/my service'"
        )

    @pytest.mark.parametrize(
        ("field", "tag"),
        [
            ("app_name", "AppName"),
            ("user_name", "UserName"),
            ("app_url", "AppURL"),
            ("app_support", "AppSupport"),
        ],
    )
    def test_required_not_empty(self, field: str, tag: str) -> None:
        """AppName, UserName, AppURL and AppSupport must not be empty."""
        assert f"{field}: {tag} is required and must not be empty" == rule_of(**{field: ""})

    def test_required_not_none(self) -> None:
        """None is no value for a required element."""
        assert rule_of(qb_type=None) == "qb_type: QBType is required"

    @pytest.mark.parametrize("char", ["\n", "\t", "\x00", "\x7f", "\x85"])
    def test_no_control_characters(self, char: str) -> None:
        """Control characters, tab and line breaks included, are refused."""
        assert (
            f"app_description: AppDescription contains a control character (U+{ord(char):04X} "
            "at position 5); remove it"
        ) == rule_of(app_description=f"Acme{char}invoices")

    def test_control_character_in_url(self) -> None:
        """...in URLs too."""
        assert "AppSupport contains a control character (U+000A at position 26)" in rule_of(
            app_support="https://acme.example/help\n"
        )

    def test_name_length(self) -> None:
        """AppName is at most 255 characters: it names a registry key."""
        assert rule_of(app_name="x" * 256) == (
            "app_name: AppName is 256 characters; at most 255 (it names the application's "
            "Windows registry key)"
        )
        assert len(make(app_name="x" * 255).app_name) == 255

    @pytest.mark.parametrize(
        ("field", "tag"),
        [
            ("user_name", "UserName"),
            ("app_id", "AppID"),
            ("app_display_name", "AppDisplayName"),
            ("app_unique_name", "AppUniqueName"),
        ],
    )
    def test_other_name_lengths(self, field: str, tag: str) -> None:
        """UserName, AppID, AppDisplayName and AppUniqueName are at most 255 characters."""
        assert f"{field}: {tag} is 300 characters; at most 255" == rule_of(**{field: "x" * 300})

    def test_description_length(self) -> None:
        """AppDescription is at most 4,095 characters (80 is only advice)."""
        assert (
            rule_of(app_description="x" * 4096)
            == "app_description: AppDescription is 4,096 characters; at most 4,095"
        )

    def test_url_length(self) -> None:
        """URLs are at most 2,048 characters."""
        url = "https://qb.acme.example/" + "x" * 2030

        assert rule_of(app_url=url) == "app_url: AppURL is 2,054 characters; at most 2,048"

    def test_no_backslash_in_app_name(self) -> None:
        """A backslash in AppName would split its registry key."""
        assert rule_of(app_name="Acme\\Invoices") == (
            "app_name: AppName must not contain a backslash: it names the application's "
            "Windows registry key"
        )

    def test_no_surrounding_whitespace(self) -> None:
        """Whitespace around a name is refused (UserName ' acme' would never log in)."""
        assert rule_of(user_name=" acme") == (
            "user_name: UserName starts or ends with whitespace; remove it (the Web "
            "Connector keeps it as part of the value)"
        )
        assert make(user_name=" acme", strict=False).user_name == " acme"

    def test_guid_strings(self) -> None:
        """GUIDs are accepted as UUIDs or strings, with or without braces."""
        config = make(owner_id="{6b29fc40-ca47-4067-b31d-00dd010662da}", file_id=str(FILE))

        assert (config.owner_id, config.file_id) == (OWNER, FILE)

    def test_bad_guid(self) -> None:
        """Anything else is refused, naming the element."""
        assert rule_of(owner_id="not-a-guid") == (
            "owner_id: OwnerID must be a GUID like {6B29FC40-CA47-1067-B31D-00DD010662DA}; "
            "got 'not-a-guid'"
        )
        assert "file_id: FileID must be a GUID" in rule_of(file_id=12)

    def test_types(self) -> None:
        """Wrong types are refused with the element and the expected type."""
        assert rule_of(app_name=5) == "app_name: AppName must be a str; got int"
        assert rule_of(qb_type="QBFS") == "qb_type: QBType must be a QBType member; got 'QBFS'"
        assert (
            rule_of(is_read_only="no") == "is_read_only: IsReadOnly must be True or False; got 'no'"
        )
        assert rule_of(auth_flags=6) == "auth_flags: AuthFlags must be an AuthFlags value; got 6"
        assert rule_of(scheduler=5) == "scheduler: Scheduler interval must be a timedelta; got int"

    def test_auth_flags_range(self) -> None:
        """AuthFlags above 0xF: QBWC1034."""
        assert rule_of(auth_flags=AuthFlags(0x10)) == (
            "auth_flags: AuthFlags must be 0x0 to 0xF (the Web Connector refuses other values "
            "with QBWC1034); got 0x10"
        )

    def test_error_is_a_value_error(self) -> None:
        """ConfigurationError is a ValueError with .field and .rule."""
        with pytest.raises(ValueError, match="AppURL") as info:
            make(app_url="http://qb.acme.example/")

        assert info.value.field == "app_url"  # type: ignore[attr-defined]
        assert info.value.rule.startswith("AppURL must be https")  # type: ignore[attr-defined]


class TestScheduler:
    """Scheduler: one interval, in bounds, from a timedelta or text."""

    @pytest.mark.parametrize(
        ("interval", "expected"),
        [
            (timedelta(minutes=15), Scheduler(minutes=15)),
            (timedelta(hours=1), Scheduler(minutes=60)),
            (timedelta(seconds=90), Scheduler(seconds=90)),
            (timedelta(seconds=30), Scheduler(seconds=30)),
            ("15m", Scheduler(minutes=15)),
            ("30s", Scheduler(seconds=30)),
            ("120s", Scheduler(minutes=2)),
            ("1h", Scheduler(minutes=60)),
            (" 2 h ", Scheduler(minutes=120)),
        ],
    )
    def test_every(self, interval: timedelta | str, expected: Scheduler) -> None:
        """Whole minutes become RunEveryNMinutes, anything else RunEveryNSeconds."""
        assert expected == Scheduler.every(interval)

    def test_config_accepts_a_timedelta(self) -> None:
        """QWCConfig(scheduler=timedelta(...)) converts."""
        assert timedelta(minutes=30) == make(scheduler=timedelta(minutes=30)).scheduler.interval  # type: ignore[union-attr]

    def test_bounds(self) -> None:
        """1 to 35,791 minutes, 1 to 2,147,483 seconds (the timer's 24.8 days)."""
        with pytest.raises(ConfigurationError) as low:
            Scheduler(minutes=0)
        with pytest.raises(ConfigurationError) as high:
            Scheduler(seconds=MAX_SCHEDULER_SECONDS + 1)

        assert (
            str(low.value)
            == "scheduler: Scheduler/RunEveryNMinutes must be from 1 to 35,791 minutes; got 0"
        )
        assert str(high.value) == (
            "scheduler: Scheduler/RunEveryNSeconds must be from 1 to 2,147,483 seconds (the Web "
            "Connector's timer cannot count past 24 days); got 2,147,484"
        )
        assert Scheduler(minutes=MAX_SCHEDULER_MINUTES).minutes == MAX_SCHEDULER_MINUTES

    def test_exactly_one(self) -> None:
        """Neither or both is refused."""
        message = (
            "scheduler: Scheduler needs exactly one of minutes (RunEveryNMinutes) or seconds "
            "(RunEveryNSeconds)"
        )
        for kwargs in ({}, {"minutes": 1, "seconds": 1}):
            with pytest.raises(ConfigurationError) as info:
                Scheduler(**kwargs)
            assert message == str(info.value)

    def test_whole_numbers(self) -> None:
        """Booleans, floats and fractions of a second are refused."""
        with pytest.raises(ConfigurationError, match="must be a whole number; got True"):
            Scheduler(minutes=True)
        with pytest.raises(ConfigurationError, match="must be whole seconds"):
            Scheduler.every(timedelta(seconds=1.5))
        with pytest.raises(ConfigurationError, match="must be from 1"):
            Scheduler.every(timedelta(0))

    def test_bad_text(self) -> None:
        """Text that is not a number and a unit is refused with an example."""
        with pytest.raises(ConfigurationError) as info:
            Scheduler.every("every 15")

        assert str(info.value) == (
            "scheduler: Scheduler interval 'every 15' is not a number with a unit: use s, m or "
            "h, like 30s, 15m or 1h"
        )


class TestFileProblems:
    """problems() lists every problem in a file; strict from_xml raises the first."""

    def test_good_file(self) -> None:
        """A good file has no problem."""
        assert problems(file_with()) == []

    def test_missing_required_elements(self) -> None:
        """Each missing required element is named, with QBWC1039."""
        assert problems(file_with(drop=("UserName", "QBType"))) == [
            "UserName is missing: every .QWC needs it (the Web Connector refuses the file with "
            "QBWC1039)",
            "QBType is missing: every .QWC needs it (the Web Connector refuses the file with "
            "QBWC1039)",
        ]

    def test_every_problem_not_just_the_first(self) -> None:
        """Several problems are all reported, each naming its element."""
        data = file_with(
            "<AppURL>http://10.0.0.5/qbwc</AppURL>",
            "<OwnerID>{abc}</OwnerID>",
            "<QBType>qbfs</QBType>",
            "<AppUrl>https://x.example/</AppUrl>",
        )

        assert problems(data) == [
            "OwnerID must be a GUID in braces, like {6B29FC40-CA47-1067-B31D-00DD010662DA}; got "
            "'{abc}'",
            "QBType must be one of QBFS, QBPOS; got 'qbfs' (names are case-sensitive: QBFS)",
            "<AppUrl> is not a QWC element (did you mean <AppURL>? Names are case-sensitive); the "
            "Web Connector ignores it",
            "AppURL must be https unless the host is localhost (the Web Connector refuses it with "
            "QBWC1010); got 'http://10.0.0.5/qbwc'",
            "AppURL must use a host name, not an IP address (the Web Connector refuses it with "
            "QBWC1001); got 'http://10.0.0.5/qbwc'",
        ]

    def test_from_xml_raises_the_first_and_counts_the_rest(self) -> None:
        """Strict from_xml raises the first problem and says how many more there are."""
        data = file_with("<AppURL>http://10.0.0.5/qbwc</AppURL>")

        with pytest.raises(ConfigurationError) as info:
            QWCConfig.from_xml(data)

        assert info.value.field == "app_url"
        assert str(info.value).endswith("(and 1 more; qbwc.qwc.problems() lists them all)")

    def test_password_element(self) -> None:
        """A password element is a problem: the Web Connector stores the password itself."""
        assert problems(file_with("<Password>hunter2</Password>")) == [
            "<Password>: a .QWC never holds a password; the Web Connector asks the user for it "
            "and stores it encrypted: remove the element"
        ]

    def test_unknown_and_misspelled(self) -> None:
        """Unknown elements are named, with a suggestion when one is close."""
        assert problems(
            file_with("<PersonalDataPrefs>pdpOptional</PersonalDataPrefs>", "<Colour>red</Colour>")
        ) == [
            "<PersonalDataPrefs> is not a QWC element (did you mean <PersonalDataPref>?); the Web "
            "Connector ignores it",
            "<Colour> is not a QWC element; the Web Connector ignores it",
        ]

    def test_duplicate(self) -> None:
        """An element that appears twice is named once."""
        assert problems(
            file_with("<AppName>A</AppName>", "<AppName>B</AppName>", "<AppName>C</AppName>")
        ) == ["AppName appears more than once; keep one (this reads the first)"]

    def test_padding(self) -> None:
        """Whitespace around a value is a problem."""
        assert problems(file_with("<AppURL>\n  https://qb.acme.example/qbwc\n</AppURL>")) == [
            "AppURL has spaces or line breaks around its value; remove them (the Web Connector "
            "may keep them)"
        ]

    def test_bare_guid(self) -> None:
        """A GUID without braces is a problem (read leniently)."""
        data = file_with(f"<FileID>{FILE}</FileID>")

        assert problems(data) == [
            "FileID must be in braces, like {6B29FC40-CA47-1067-B31D-00DD010662DA}"
        ]
        assert QWCConfig.from_xml(data, strict=False).file_id == FILE

    def test_bad_values(self) -> None:
        """Booleans, enumerations, AuthFlags: each bad value is named with what is allowed."""
        data = file_with(
            "<IsReadOnly>yes</IsReadOnly>",
            "<Style>document</Style>",
            "<UnattendedModePref>always</UnattendedModePref>",
            "<AuthFlags>15</AuthFlags>",
            "<Notify>1</Notify>",
        )

        assert problems(data) == [
            "IsReadOnly must be true or false; got 'yes'",
            "Style must be one of Document, DocWrapped, RPC; got 'document' (names are "
            "case-sensitive: Document)",
            "UnattendedModePref must be one of umpRequired, umpOptional; got 'always'",
            "AuthFlags must be a hex value from 0x0 to 0xF (the Web Connector refuses others with "
            "QBWC1034); got '15'",
            "Notify must be true or false; got '1'",
        ]

    def test_notify_lenient(self) -> None:
        """Leniently, a Notify that is not 'true' is off, as in the Web Connector."""
        assert False is QWCConfig.from_xml(file_with("<Notify>yes</Notify>"), strict=False).notify

    def test_scheduler_problems(self) -> None:
        """Both intervals, an empty Scheduler, an unknown child, a non-number, out of bounds."""
        assert problems(
            file_with(
                "<Scheduler><RunEveryNSeconds>30</RunEveryNSeconds><RunEveryNMinutes>5</RunEveryNMinutes></Scheduler>"
            )
        ) == [
            "Scheduler has more than one interval; the Web Connector uses only the first "
            "(<RunEveryNSeconds>): keep one"
        ]
        assert problems(file_with("<Scheduler/>")) == [
            "Scheduler is empty: put RunEveryNMinutes or RunEveryNSeconds in it, or leave it out"
        ]
        assert problems(file_with("<Scheduler><RunEveryNHours>1</RunEveryNHours></Scheduler>")) == [
            "Scheduler has an unknown element <RunEveryNHours>; use RunEveryNMinutes or "
            "RunEveryNSeconds",
            "Scheduler is empty: put RunEveryNMinutes or RunEveryNSeconds in it, or leave it out",
        ]
        assert problems(
            file_with("<Scheduler><RunEveryNMinutes>1.5</RunEveryNMinutes></Scheduler>")
        ) == ["Scheduler/RunEveryNMinutes must be a whole number; got '1.5'"]
        assert problems(
            file_with("<Scheduler><RunEveryNMinutes>0</RunEveryNMinutes></Scheduler>")
        ) == ["Scheduler/RunEveryNMinutes must be from 1 to 35,791 minutes; got 0"]

    def test_scheduler_first_wins_leniently(self) -> None:
        """With both intervals, the first is read (as the Web Connector does)."""
        data = file_with(
            "<Scheduler><RunEveryNSeconds>30</RunEveryNSeconds><RunEveryNMinutes>5</RunEveryNMinutes></Scheduler>"
        )

        assert Scheduler(seconds=30) == QWCConfig.from_xml(data, strict=False).scheduler

    def test_element_with_children(self) -> None:
        """A text element holding elements is a problem."""
        assert problems(file_with("<AppName><b>Acme</b></AppName>")) == [
            "AppName must hold text, not elements"
        ]

    def test_wrong_root(self) -> None:
        """The root must be QBWCXML."""
        assert problems(b"<QBXML/>") == ["the root element must be <QBWCXML>; got <QBXML>"]

    def test_not_xml(self) -> None:
        """Not well-formed XML is one problem; from_xml raises XMLParseError."""
        assert problems(b"<QBWCXML") == [
            "QWC file: not well-formed XML (Couldn't find end of Start Tag QBWCXML line 1, line "
            "1, column 9)"
        ]
        with pytest.raises(XMLParseError, match="QWC file: not well-formed"):
            QWCConfig.from_xml(b"<QBWCXML")

    def test_no_doctype_or_entities(self) -> None:
        """A DOCTYPE (entity expansion) is refused before anything is read."""
        bomb = (
            b'<?xml version="1.0"?><!DOCTYPE QBWCXML [<!ENTITY a "aaaa">]>'
            b"<QBWCXML><AppName>&a;</AppName></QBWCXML>"
        )

        with pytest.raises(XMLParseError, match="DOCTYPE"):
            QWCConfig.from_xml(bomb)
        assert problems(bomb) == [
            "QWC file: a DOCTYPE is not allowed (no DTDs or entity declarations)"
        ]

    def test_size_limit(self) -> None:
        """A file over 64 KiB is not a .QWC."""
        with pytest.raises(XMLParseError, match="QWC file: 65,600 bytes, at most 65,536"):
            QWCConfig.from_xml(b" " * 65_600)

    def test_empty(self) -> None:
        """An empty file is one problem."""
        assert problems(b"") == ["QWC file: empty"]


class TestAdvice:
    """Advisory findings never raise; advice() lists them."""

    def test_good_config_has_none(self) -> None:
        """A good config has no advice."""
        assert make().advice() == []

    def test_each_advisory(self) -> None:
        """Each advisory, with its message."""
        config = make(
            app_name="Acme Ŝhop",
            app_description="",
            owner_id="{57F3B9B1-86F1-4fcc-B1EE-566DE1813D20}",
            qb_type=QBType.QBPOS,
            auth_flags=AuthFlags.PRO,
            scheduler=Scheduler(seconds=30),
            app_url="http://localhost/qbwc",
            app_support="http://localhost/help",
        )

        assert config.advice() == [
            "AppDescription is empty: QuickBooks' authorisation dialog and the Web Connector show "
            "nothing under the application's name",
            "OwnerID is a GUID from a published sample, shared by every copy of it: generate your "
            "own (qbwc.qwc.new_owner_id() / new_file_id())",
            "AppName has characters outside Latin-1, which QuickBooks cannot store: its "
            "Integrated Applications list may show them as '?'",
            "AuthFlags only applies to QBType QBFS (QuickBooks Desktop)",
            "Scheduler runs more often than once a minute ('Real Time' in the Web Connector): "
            "every run opens QuickBooks",
            "AppURL uses http: fine on localhost for development; a file for customers needs https",
        ]

    def test_long_description(self) -> None:
        """More than 80 characters of AppDescription is advice, not an error."""
        assert make(app_description="x" * 81).advice() == [
            "AppDescription is 81 characters; Intuit recommends at most 80"
        ]


class TestWorkflows:
    """The helpers for the reconfiguration cases (docs/qwc.md, "When something changes")."""

    def test_new_ids_are_random(self) -> None:
        """new_owner_id and new_file_id give fresh random (version 4) UUIDs."""
        ids = {new_owner_id() for _ in range(5)} | {new_file_id() for _ in range(5)}

        assert len(ids) == 10
        assert {4} == {value.version for value in ids}

    def test_file_id_for_is_deterministic(self) -> None:
        """The same owner, account and company file give the same FileID, as str or UUID."""
        assert file_id_for(OWNER, account="acme", company_file="main") == file_id_for(
            "{6B29FC40-CA47-4067-B31D-00DD010662DA}", account="acme", company_file="main"
        )

    def test_file_id_for_differs(self) -> None:
        """Another company file, account or owner gives another FileID."""
        ids = {
            file_id_for(OWNER, account="acme", company_file="main"),
            file_id_for(OWNER, account="acme", company_file="2026"),
            file_id_for(OWNER, account="acme2", company_file="main"),
            file_id_for(FILE, account="acme", company_file="main"),
            file_id_for(OWNER, account="acme\x1fmain"),
        }

        assert len(ids) == 5

    def test_reissue_gives_the_same_bytes(self) -> None:
        """Re-issuing the file for the same account and company file gives the same bytes."""

        def issue() -> bytes:
            file_id = file_id_for(OWNER, account="acme", company_file="main")
            return make(file_id=file_id, scheduler=timedelta(minutes=30)).to_xml()

        assert issue() == issue()

    def test_rotate(self) -> None:
        """rotate() changes both IDs and nothing else."""
        config = make(scheduler=Scheduler(minutes=5))
        rotated = rotate(config)

        assert rotated.owner_id != OWNER
        assert rotated.file_id != FILE
        assert config == attrs.evolve(rotated, owner_id=OWNER, file_id=FILE)

    def test_rotate_with_given_ids(self) -> None:
        """rotate() takes the new pair when given (e.g. derived or stored ones)."""
        new = uuid.UUID(int=7)

        assert (new, FILE) == (
            rotate(config := make(), owner_id=new, file_id=FILE).owner_id,
            config.file_id,
        )

    def test_rotate_refuses_the_same_pair(self) -> None:
        """rotate() with the pair the file already has is a mistake."""
        with pytest.raises(ConfigurationError) as info:
            rotate(make(), owner_id=OWNER, file_id=FILE)

        assert (
            str(info.value)
            == "owner_id: rotate() needs a new OwnerID/FileID pair; this is the pair the file "
            "already has"
        )


class TestDownloadHeaders:
    """download_headers: a download named after AppName, safe in a header."""

    def test_headers(self) -> None:
        """The content type, an attachment named after AppName, no sniffing, no caching."""
        assert download_headers(make()) == {
            "Content-Type": "application/x-qwc",
            "Content-Disposition": 'attachment; filename="Acme Invoices.qwc"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        }

    def test_non_ascii_name(self) -> None:
        """A non-ASCII AppName gets an ASCII fallback and an RFC 5987 filename*."""
        headers = download_headers(make(app_name="Café & Co"))

        assert headers["Content-Disposition"] == (
            "attachment; filename=\"Cafe & Co.qwc\"; filename*=UTF-8''Caf%C3%A9%20%26%20Co.qwc"
        )

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ('a"b\r\nSet-Cookie: x=1', 'attachment; filename="a_b Set-Cookie_ x=1.qwc"'),
            ("../../etc/passwd", 'attachment; filename="_.._etc_passwd.qwc"'),
            ("CON", 'attachment; filename="_CON.qwc"'),
            ("acme.QWC", 'attachment; filename="acme.qwc"'),
            (" . ", 'attachment; filename="qbwc.qwc"'),
        ],
    )
    def test_unsafe_names(self, name: str, expected: str) -> None:
        """Quotes, line breaks, path separators and Windows device names are neutralised."""
        assert expected == download_headers(make(), filename=name)["Content-Disposition"]

    @given(name=st.text(max_size=300))
    def test_any_name_is_safe(self, name: str) -> None:
        """For any name, every header value is printable ASCII and the file name ends .qwc."""
        headers = download_headers(make(), filename=name)
        disposition = headers["Content-Disposition"]

        for value in headers.values():
            assert value.isascii()
            assert value.isprintable()
        assert disposition.split('filename="', 1)[1].split('"', 1)[0].endswith(".qwc")
        assert disposition.count('"') == 2


class TestSchema:
    """schemas/qwc.xsd refuses what the rules refuse, where XML Schema can say it."""

    @pytest.mark.parametrize(
        "element",
        [
            "<AppURL>http://qb.acme.example/qbwc</AppURL>",
            "<AppURL>https://10.0.0.5/qbwc</AppURL>",
            "<AppURL>https://[::1]/qbwc</AppURL>",
            "<AppURL>https://a:b@qb.acme.example/qbwc</AppURL>",
            "<AppSupport>https://192.168.1.2/</AppSupport>",
            "<OwnerID>6B29FC40-CA47-4067-B31D-00DD010662DA</OwnerID>",
            "<QBType>qbfs</QBType>",
            "<AuthFlags>0x10</AuthFlags>",
            "<IsReadOnly>yes</IsReadOnly>",
            "<AppName>a\\b</AppName>",
            "<UserName> acme</UserName>",
            "<Scheduler><RunEveryNMinutes>0</RunEveryNMinutes></Scheduler>",
            "<Scheduler><RunEveryNMinutes>1</RunEveryNMinutes><RunEveryNSeconds>1</RunEveryNSeconds></Scheduler>",
            "<Colour>red</Colour>",
        ],
    )
    def test_refuses(self, element: str) -> None:
        """A file with this element is invalid, and problems() agrees."""
        data = file_with(element)

        assert xsd_errors(data)
        assert problems(data)

    def test_refuses_missing_and_duplicate(self) -> None:
        """A missing required element, or one that appears twice, is invalid."""
        assert xsd_errors(file_with(drop=("FileID",)))
        assert xsd_errors(file_with("<AppName>A</AppName>", "<AppName>B</AppName>"))

    def test_what_only_code_checks(self) -> None:
        """The schema cannot compare domains: only problems() catches QBWC1000."""
        assert xsd_errors(OTHER_HOST) == []
        assert len(problems(OTHER_HOST)) == 1


class TestCommandLine:
    """``qbwc qwc``."""

    ARGS = (
        "qwc", "--app-name", "Acme Invoices", "--url", "https://qb.acme.example/qbwc",
        "--support-url", "https://acme.example/support", "--user", "acme",
    )  # fmt: skip

    def test_writes_to_stdout(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The file goes to stdout; the generated OwnerID and FileID, with advice, to stderr."""
        assert main([*self.ARGS, "--every", "15m", "--description", "Invoices"]) == 0
        out, err = capsys.readouterr()
        config = QWCConfig.from_xml(out.encode())

        assert Scheduler(minutes=15) == config.scheduler
        assert (
            f"qbwc qwc: generated OwnerID {{{str(config.owner_id).upper()}}}: keep it and pass it "
            "as --owner-id for every file of this application (one OwnerID per application)" in err
        )
        assert (
            f"generated FileID {{{str(config.file_id).upper()}}}: store it with this account" in err
        )

    def test_writes_a_file(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """-o FILE writes the file; with both IDs given nothing is generated."""
        target = tmp_path / "acme.qwc"

        assert (
            main(
                [
                    *self.ARGS,
                    "--owner-id",
                    str(OWNER),
                    "--file-id",
                    f"{{{FILE}}}",
                    "--description",
                    "x",
                    "-o",
                    str(target),
                ]
            )
            == 0
        )
        config = QWCConfig.from_xml(target.read_bytes())
        out, err = capsys.readouterr()

        assert (config.owner_id, config.file_id) == (OWNER, FILE)
        assert (out, err) == ("", "")

    def test_company_is_deterministic(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--company derives the FileID, so the same arguments write the same bytes."""
        args = [*self.ARGS, "--owner-id", str(OWNER), "--company", "main", "--description", "x"]
        assert main(args) == 0
        first = capsys.readouterr().out
        assert main(args) == 0

        assert first == capsys.readouterr().out
        assert (
            file_id_for(OWNER, account="acme", company_file="main")
            == QWCConfig.from_xml(first.encode()).file_id
        )

    def test_options(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The optional flags reach the file."""
        assert main([
            *self.ARGS, "--read-only", "--unattended", "--qb-type", "QBPOS", "--app-id", "A1",
            "--unique-name", "acme-1", "--display-name", "Acme", "--description", "x",
        ]) == 0  # fmt: skip
        config = QWCConfig.from_xml(capsys.readouterr().out.encode())

        assert (
            config.is_read_only, config.unattended_mode_pref, config.qb_type, config.app_id,
            config.app_unique_name, config.app_display_name,
        ) == (True, UnattendedModePref.REQUIRED, QBType.QBPOS, "A1", "acme-1", "Acme")  # fmt: skip

    @pytest.mark.parametrize(
        ("extra", "message"),
        [
            (
                ("--url", "http://qb.acme.example/qbwc"),
                "qbwc qwc: app_url: AppURL must be https unless the host is localhost (the Web "
                "Connector refuses it with QBWC1010); got 'http://qb.acme.example/qbwc'\n",
            ),
            (
                ("--every", "fortnightly"),
                "qbwc qwc: scheduler: Scheduler interval 'fortnightly' is not a number with a "
                "unit: use s, m or h, like 30s, 15m or 1h\n",
            ),
            (
                ("--owner-id", "nope"),
                "qbwc qwc: owner_id: OwnerID must be a GUID like "
                "{6B29FC40-CA47-1067-B31D-00DD010662DA}; got 'nope'\n",
            ),
            (
                ("--support-url", "https://help.elsewhere.example/"),
                "qbwc qwc: app_support: AppSupport must be on the same domain as AppURL (the Web "
                "Connector refuses it with QBWC1000); got 'help.elsewhere.example' for AppSupport "
                "and 'qb.acme.example' for AppURL\n",
            ),
        ],
    )
    def test_bad_arguments(
        self, extra: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A broken rule exits 1 with the rule, prints nothing else and writes no file."""
        assert main([*self.ARGS, *extra]) == 1
        out, err = capsys.readouterr()

        assert ("", message) == (out, err)

    def test_lenient(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--lenient writes a LAN test file the Web Connector rules would refuse."""
        assert main([
            *self.ARGS, "--url", "http://devbox/qbwc", "--support-url", "http://devbox/help",
            "--lenient", "--description", "x",
        ]) == 0  # fmt: skip

        assert (
            QWCConfig.from_xml(capsys.readouterr().out.encode(), strict=False).app_url
            == "http://devbox/qbwc"
        )

    def test_unwritable_output(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """An output path that cannot be written exits 1 with a message, no traceback."""
        target = tmp_path / "missing" / "acme.qwc"

        assert (
            main([*self.ARGS, "--owner-id", str(OWNER), "--file-id", str(FILE), "-o", str(target)])
            == 1
        )
        assert (
            f"qbwc qwc: cannot write {target}: No such file or directory\n"
            == capsys.readouterr().err
        )

    def test_missing_argument(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A missing required option is a usage error (exit 2)."""
        with pytest.raises(SystemExit) as info:
            main(["qwc", "--app-name", "Acme"])

        assert info.value.code == 2
        assert (
            "the following arguments are required: --url, --support-url, --user"
            in capsys.readouterr().err
        )
