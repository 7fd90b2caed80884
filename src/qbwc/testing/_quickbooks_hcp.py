"""
``FakeQuickBooks`` describing its company file: the HCP response (HostQueryRs,
CompanyQueryRs, PreferencesQueryRs) and the GUIDs of the Web Connector's
DataExt stamps (docs/protocol.md, "The company-file stamp"; ``docs/testing.md``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Final

from qbwc.qbxml._hcp import CompanyInfo, HCPResponse, HostInfo
from qbwc.qbxml._hcp import Preferences as HCPPreferences
from qbwc.qbxml._responses import DataExtRet
from qbwc.qbxml._types import format_guid
from qbwc.testing._quickbooks_state import Company
from qbwc.testing._response_build import build_hcp_response

#: Seconds from 0001-01-01 (.NET ticks' epoch) to 1970-01-01.
_DOTNET_EPOCH_OFFSET: Final = 62_135_596_800


def guid(value: uuid.UUID | str) -> str:
    """The braced upper-case form QuickBooks stores GUIDs in."""
    if isinstance(value, str):
        value = uuid.UUID(value)
    return format_guid(value)


def hcp_document(
    company: Company,
    owner_id: uuid.UUID,
    *,
    now: Callable[[], dt.datetime],
    machine_name: str,
    product_name: str,
    product_version: tuple[int, int],
    country: str,
    supported: tuple[str, ...],
) -> str:
    """The strHCPResponse for *company*, with *owner_id*'s FileID and AppLock DataExts."""
    owner = guid(owner_id)
    stamps = company.data_ext.get(owner, {})
    data_ext: list[DataExtRet] = []
    if "FileID" in stamps:
        # The Web Connector locks the file for its session: "LOCKED:<machine>:<.NET ticks>".
        ticks = (int(now().timestamp()) + _DOTNET_EPOCH_OFFSET) * 10_000_000
        data_ext.append(
            DataExtRet(
                owner_id=owner,
                data_ext_name="AppLock",
                data_ext_type="STR255TYPE",
                data_ext_value=f"LOCKED:{machine_name}:{ticks}",
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
            product_name=product_name,
            major_version=str(product_version[0]),
            minor_version=str(product_version[1]),
            country=country,
            supported_qbxml_versions=supported,
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
