"""parse_hcp, the company-file check, version negotiation, build_hcp_response."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbwc.exceptions import QBXMLError, XMLParseError
from qbwc.qbxml import (
    CompanyInfo,
    DataExtRet,
    HCPResponse,
    HostInfo,
    Preferences,
    Ref,
    file_id_stamp,
    highest_common_version,
    parse_hcp,
)
from qbwc.qbxml._types import parse_version
from qbwc.testing import build_hcp_response
from qbwc.testing.strategies import hcp_responses

SAMPLE = "qbxml/extracted/consolibyte2008-hcp-response.xml"
OWNER = uuid.UUID("68b5925b-4347-4784-e58d-35a2d190962f")
FILE_ID = uuid.UUID("ee032e95-47f7-2564-096f-2d4545fcb021")


@pytest.fixture
def sample(reference: Path) -> HCPResponse:
    """The real HCP response of QuickBooks Pro 2006 through Web Connector 2.0."""
    return parse_hcp((reference / SAMPLE).read_text(encoding="utf-8"))


class TestRealSample:
    def test_host(self, sample: HCPResponse) -> None:
        """HostRet: product, product version, country, supported qbXML versions, mode."""
        assert (
            HostInfo(
                product_name="QuickBooks Pro 2006",
                major_version="16",
                minor_version="0",
                country="US",
                supported_qbxml_versions=("1.0", "1.1", "2.0", "2.1", "3.0", "4.0", "4.1", "5.0"),
                is_automatic_login=False,
                qb_file_mode="SingleUser",
            )
            == sample.host
        )

    def test_company(self, sample: HCPResponse) -> None:
        """CompanyRet: names and the Web Connector's private DataExts (AppLock, FileID)."""
        assert sample.company.company_name == "Test Company"
        assert sample.company.legal_company_name == "Test Company"
        assert sample.company.is_sample_company is False
        assert [d.data_ext_name for d in sample.company.data_ext_rets] == ["AppLock", "FileID"]
        assert sample.company.data_ext_rets[0].data_ext_value == (
            "LOCKED:ACCOUNTING:633508623553265188"
        )

    def test_preferences(self, sample: HCPResponse) -> None:
        """PreferencesRet: the flags that matter for estimates and invoices; absent ones None."""
        assert (
            Preferences(
                is_using_class_tracking=False,
                closing_date=None,
                is_using_estimates=True,
                is_using_progress_invoicing=True,
                is_multicurrency_on=None,
                is_using_price_levels=True,
                is_automatic_login_allowed=False,
                is_personal_data_access_allowed=False,
            )
            == sample.preferences
        )
        assert sample.complete
        assert sample.missing == ()

    def test_file_id(self, sample: HCPResponse) -> None:
        """The FileID stamped under our OwnerID."""
        assert sample.file_id(OWNER) == FILE_ID

    @pytest.mark.parametrize(
        "stored",
        [
            "{68b5925b-4347-4784-e58d-35a2d190962f}",
            "{68B5925B-4347-4784-E58D-35A2D190962F}",
            "68b5925b-4347-4784-e58d-35a2d190962f",
            " {68B5925B-4347-4784-E58D-35A2D190962F} ",
        ],
    )
    def test_file_id_owner_spelling(self, stored: str) -> None:
        """OwnerIDs compare as GUIDs: case, braces and surrounding blanks do not matter."""
        stamp = DataExtRet(
            owner_id=stored,
            data_ext_name="FileID",
            data_ext_type="STR255TYPE",
            data_ext_value="{EE032E95-47F7-2564-096F-2D4545FCB021}",
        )

        assert HCPResponse(company=CompanyInfo(data_ext_rets=[stamp])).file_id(OWNER) == FILE_ID

    def test_file_id_value_not_a_guid(self) -> None:
        """A FileID value that is not a GUID counts as no stamp."""
        stamp = DataExtRet(owner_id=str(OWNER), data_ext_name="FileID", data_ext_value="not-a-guid")

        assert HCPResponse(company=CompanyInfo(data_ext_rets=[stamp])).file_id(OWNER) is None

    def test_file_id_of_another_owner(self, sample: HCPResponse) -> None:
        """Another application's OwnerID has no stamp here: None (AppLock is never a FileID)."""
        assert sample.file_id(uuid.UUID(int=1)) is None

    def test_version(self, sample: HCPResponse) -> None:
        """QuickBooks 2006 speaks up to qbXML 5.0."""
        assert highest_common_version(sample.host.supported_qbxml_versions) == "5.0"

    def test_not_well_formed_sample(self, reference: Path) -> None:
        """The qbwc gem's stored HCP fixture is NOT well-formed (a typo ``<yzer/DataExtType>``
        in its first DataExtRet): it must be an XMLParseError, not a crash or a guess."""
        text = reference / "qbxml/extracted/qbwc-gem-hcp-response-qbpro2014-NOT-WELL-FORMED.xml"
        with pytest.raises(XMLParseError, match="strHCPResponse: not well-formed XML"):
            parse_hcp(text.read_text(encoding="utf-8"))


class TestRefusals:
    def test_qbpos(self) -> None:
        """Point of Sale's fixed text is a clear QBXMLError (qbwc speaks QuickBooks Desktop)."""
        with pytest.raises(QBXMLError, match="Point of Sale"):
            parse_hcp("HOSTQUERY/COMPANYQUERY/PREFQUERY is currently not supported in QBPOS.")

    @pytest.mark.parametrize("text", ["", "   \n"])
    def test_empty(self, text: str) -> None:
        """An empty strHCPResponse (every call after the first) is refused with the reason."""
        with pytest.raises(QBXMLError, match="only sends it on the first sendRequestXML"):
            parse_hcp(text)

    def test_not_qbxml(self) -> None:
        """Another XML document is refused."""
        with pytest.raises(QBXMLError, match="not a qbXML response"):
            parse_hcp("<html><body/></html>")

    def test_bad_flag(self) -> None:
        """A flag that is not a boolean names its path."""
        doc = build_hcp_response(HCPResponse(host=HostInfo(is_automatic_login=True)))
        with pytest.raises(QBXMLError, match="IsAutomaticLogin: 'maybe' is not a boolean"):
            parse_hcp(doc.replace(">true<", ">maybe<"))


class TestMissingParts:
    def test_failed_company_query(self) -> None:
        """A CompanyQueryRs with an error status leaves the company empty and says so."""
        hcp = HCPResponse(company=CompanyInfo(company_name="Acme"), missing=["CompanyRet"])
        text = build_hcp_response(hcp)

        parsed = parse_hcp(text)

        assert 'CompanyQueryRs requestID="1" statusCode="1000"' in text
        assert parsed.company == CompanyInfo()
        assert parsed.missing == ("CompanyRet",)
        assert not parsed.complete
        assert parsed.file_id(OWNER) is None

    def test_missing_refuses_unknown_parts(self) -> None:
        """missing only names the three Ret elements."""
        with pytest.raises(ValueError, match="'ItemRet' is not one of"):
            HCPResponse(missing=["ItemRet"])


class TestHighestCommonVersion:
    @pytest.mark.parametrize(
        ("supported", "ceiling", "expected"),
        [
            (["1.0", "2.0", "13.0", "16.0"], "16.0", "16.0"),
            (["1.0", "2.0", "13.0", "16.0"], "13.0", "13.0"),
            (["2.1", "10.0", "9.0"], "16.0", "10.0"),  # numeric, not string, order
            (["CA2.0", "CA3.0"], "16.0", "CA3.0"),  # prefixed only when nothing plain
            (["CA3.0", "2.0"], "16.0", "2.0"),
            (["UK3.0", "CA2.0", " 4.1 "], "16.0", "4.1"),
            (["17.0"], "16.0", None),
            ([], "16.0", None),
            (["garbage", "", "v13"], "16.0", None),
        ],
    )
    def test_table(self, supported: list[str], ceiling: str, expected: str | None) -> None:
        """The highest usable version, verbatim."""
        assert highest_common_version(supported, ceiling=ceiling) == expected

    def test_bad_ceiling(self) -> None:
        """A ceiling that is not MAJOR.MINOR is a ValueError."""
        with pytest.raises(ValueError, match=r"expected MAJOR\.MINOR"):
            highest_common_version(["13.0"], ceiling="latest")

    @given(
        st.lists(st.tuples(st.integers(1, 20), st.integers(0, 9))),
        st.tuples(st.integers(1, 20), st.integers(0, 9)),
    )
    def test_property(self, versions: list[tuple[int, int]], ceiling: tuple[int, int]) -> None:
        """The answer is one of the inputs, not above the ceiling, and the highest such."""
        supported = [f"{a}.{b}" for a, b in versions]
        result = highest_common_version(supported, ceiling=f"{ceiling[0]}.{ceiling[1]}")

        fitting = [v for v in versions if v <= ceiling]
        if not fitting:
            assert result is None
        else:
            assert result is not None
            assert parse_version(result) == max(fitting)


class TestBuildHCP:
    @given(hcp_responses())
    def test_round_trip(self, hcp: HCPResponse) -> None:
        """parse_hcp(build_hcp_response(x)) == x."""
        assert parse_hcp(build_hcp_response(hcp)) == hcp

    @given(st.uuids(), st.uuids(), st.uuids())
    def test_file_id_stamp(self, owner: uuid.UUID, file_id: uuid.UUID, other: uuid.UUID) -> None:
        """A stamp written by a test double is found under its owner only."""
        lock = DataExtRet(
            owner_id="{" + str(owner) + "}",
            data_ext_name="AppLock",
            data_ext_type="STR255TYPE",
            data_ext_value="LOCKED:PC:1",
        )
        hcp = HCPResponse(company=CompanyInfo(data_ext_rets=[lock, file_id_stamp(owner, file_id)]))

        parsed = parse_hcp(build_hcp_response(hcp))

        assert parsed.file_id(owner) == file_id
        if other != owner:
            assert parsed.file_id(other) is None

    def test_preference_groups(self) -> None:
        """Known preferences are written in schema order and read back."""
        prefs = Preferences(
            is_using_class_tracking=True,
            closing_date=dt.date(2023, 12, 31),
            is_multicurrency_on=True,
            home_currency_ref=Ref(full_name="US Dollar"),
        )

        text = build_hcp_response(HCPResponse(preferences=prefs))

        assert "<ClosingDate>2023-12-31</ClosingDate>" in text
        assert text.index("<AccountingPreferences>") < text.index("<MultiCurrencyPreferences>")
        assert parse_hcp(text).preferences == prefs

    def test_refuses_other_values(self) -> None:
        """Only an HCPResponse can be written."""
        with pytest.raises(QBXMLError, match="expected an HCPResponse"):
            build_hcp_response("<QBXML/>")  # type: ignore[arg-type]
