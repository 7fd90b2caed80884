"""
The campaign runner ``benchmarks/reliability.py`` at a tiny size, so the tool cannot rot.

Each campaign runs for real (gunicorn processes killed with SIGKILL, hostile
bodies to a live gunicorn, two Web Connectors racing over HTTP) on SQLite, at
a few inputs each, and must count every job done exactly once.  The figures at
full size are in docs/testing.md ("Reliability"); the judge of answers is
checked on the shapes it must refuse to call correct.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.reliability import campaign_kills, campaign_races
from benchmarks.reliability_common import Stores, Tally
from benchmarks.reliability_hostile import campaign_hostile, judge, judge_wsdl

pytest.importorskip("gunicorn")

FAULT = (
    b'<?xml version="1.0" encoding="utf-8"?><soap:Envelope '
    b'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>'
    b"<faultcode>soap:Client</faultcode><faultstring>no</faultstring></soap:Fault>"
    b"</soap:Body></soap:Envelope>"
)
REPLY = (
    b'<?xml version="1.0" encoding="utf-8"?><soap:Envelope '
    b'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    b'<serverVersionResponse xmlns="http://developer.intuit.com/"/></soap:Body></soap:Envelope>'
)


def _clean(tally: Tally) -> None:
    assert (tally.lost, tally.duplicated, tally.bad_answers) == (0, 0, 0), tally.notes
    assert tally.jobs > 0
    assert (
        tally.done
        + tally.unconfirmed
        + sum(n for k, n in tally.other.items() if k.startswith("failed "))
        == tally.jobs
    )


@pytest.fixture
def stores(tmp_path: Path) -> Stores:
    return Stores(tmp_path)


def test_kills(stores: Stores) -> None:
    """Three kill -9s of a gunicorn during syncs: every invoice created once."""
    tally = campaign_kills(stores, "sqlite", kills=3, seed=1, window=0.3)
    assert tally.inputs == 3
    _clean(tally)


def test_hostile(stores: Stores) -> None:
    """Twenty hostile inputs during real syncs: each a fault or a correct reply."""
    tally = campaign_hostile(stores, "sqlite", inputs=20, seed=1)
    assert tally.inputs == 20
    assert tally.other["fault"] > 0
    _clean(tally)


def test_races(stores: Stores) -> None:
    """Ten interleavings of two Web Connectors for one account: every invoice created once."""
    tally = campaign_races(stores, "sqlite", rounds=10, connectors=2, seed=1)
    assert tally.inputs == 10
    assert tally.other["calls"] > 20
    _clean(tally)


@pytest.mark.parametrize(
    ("status", "body", "expect", "verdict"),
    [
        (500, FAULT, "fault", "fault"),
        (413, FAULT, "fault", "fault"),
        (200, REPLY, "any", "reply"),
        (500, FAULT, "any", "fault"),
        (200, REPLY, "fault", "BAD"),
        (200, FAULT, "any", "BAD"),
        (500, REPLY, "any", "BAD"),
        (500, b"<html><body>Internal Server Error</body></html>", "any", "BAD"),
        (500, b"Traceback (most recent call last):\n  File", "any", "BAD"),
        (500, b"Internal Server Error", "any", "BAD"),
        (0, b"", "any", "BAD"),
        (200, b"<x/>", "any", "BAD"),
    ],
)
def test_judge(status: int, body: bytes, expect: str, verdict: str) -> None:
    """The judge calls an HTML page, a traceback, a bare 500 or a wrongly accepted input bad."""
    assert judge(status, body, expect, "name").startswith(verdict)


@pytest.mark.parametrize(
    ("location", "good"),
    [
        ("https://localhost/qbwc", True),
        ("http://billing.example.com:8080/qbwc", True),
        ("http://[::1]:80/qbwc", True),
        ('http://x"><import location="http://evil/qbwc', False),
        ("http://evil.example.com x/qbwc", False),
    ],
)
def test_judge_wsdl(location: str, good: bool) -> None:
    """A WSDL passes only when it names one endpoint, a plain URL."""
    body = (
        '<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
        'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"><wsdl:service><wsdl:port>'
        f'<soap:address location="{location.replace(chr(34), "&quot;")}"/>'
        "</wsdl:port></wsdl:service></wsdl:definitions>"
    ).encode()
    assert judge_wsdl(200, body).startswith("wsdl") is good
