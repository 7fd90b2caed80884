"""
``qbwc demo``: one command, real HTTP on localhost, exit code 0 when it behaved as designed.

Each test runs the real command (``qbwc.cli.main``), which starts the service
on a temporary SQLite store behind the standard library's WSGI server and
runs the Web Connector double against FakeQuickBooks over HTTP.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from qbwc.cli import _demo, main

REFERENCE = re.compile(r"QBWC-[2-9A-HJ-NP-Z]{6}")


# Bounded work instead of a time limit (the time is in benchmarks/bench_demo.py): at most
# four updates (the new-user-email-or-computer scenario runs four), each with the versions,
# authenticate, closeConnection, and a send and a receive for each of the six documents at most.
MAX_UPDATES = 4
MAX_CALLS_PER_UPDATE = 4 + 2 * 6


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["demo", *args])
    out = capsys.readouterr().out
    updates = len(re.findall(r"^Web Connector update \d+ ", out, re.MULTILINE))
    calls = len(re.findall(r"^  -> ", out, re.MULTILINE))
    assert updates <= MAX_UPDATES, out
    assert calls <= updates * MAX_CALLS_PER_UPDATE, out
    return code, out


class TestDemo:
    def test_main_run(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The main run creates four documents, shows the 3140 failure with its reference."""
        code, out = run(capsys)
        assert code == 0
        assert "Everything behaved as designed." in out
        assert re.search(r"Service\s+http://127\.0\.0\.1:\d+/qbwc", out)
        assert ".sqlite  (SQLite)" in out
        # Progress as it goes, call by call.
        for text in ("-> serverVersion", "-> authenticate", "-> sendRequestXML + company data",
                     "<- 20%", "<- 100% (done)", "-> closeConnection"):  # fmt: skip
            assert text in out
        # The table: TxnIDs for what was created, the failure with its reference.
        table = out.split("\nResult\n")[1].split("\n\n")[0].splitlines()[1:]
        rows = {line.split()[0]: line for line in table}
        assert len(rows) == 6
        for key in ("estimate-2041", "invoice-1187", "invoice-1188", "invoice-1190"):
            assert re.search(r"done\s+[0-9A-F]+-\d+", rows[key]), rows[key]
        assert "3140" in rows["invoice-1189"]
        reference = REFERENCE.search(rows["invoice-1189"])
        assert reference is not None
        assert 'There is an invalid reference to QuickBooks Customer "Pinecrest HOA"' in out
        assert f"Support finds in the log: {reference.group()} job failed" in out
        # The character outside Latin-1 is refused at enqueue, with the rule.
        assert "refused  estimate-2042" in out
        assert "U+0141 (LATIN CAPITAL LETTER L WITH STROKE): outside" in out
        assert "ISO-8859-1" in out
        assert "Connection Closed: 4 done, 1 failed." in out

    def test_password_changed(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The old password gets "Invalid password for username" and a reference; the new works."""
        code, out = run(capsys, "--scenario", "password-changed")
        assert code == 0
        nvu = re.search(r'"nvu": wrong username or password \((QBWC-\w{6})\)', out)
        assert nvu is not None
        assert "Invalid password for username" in out
        assert f"run the update again. ({nvu.group(1)})" in " ".join(out.split())
        assert out.index("Invalid password") < out.index("types the new password")
        assert re.search(r"invoice-1187 .* done", out)

    def test_different_company_file(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The wrong file: nothing sent, the message names both files, Disconnect, a reference."""
        code, out = run(capsys, "--scenario", "different-company-file")
        assert code == 0
        assert "Nothing was sent." in out
        assert '"Summit Ridge Construction (test copy)"' in out
        assert 'choose "Disconnect" in Summit Ridge Billing' in out
        assert REFERENCE.search(out)
        assert "it holds 0 transactions" in out
        assert re.search(r"invoice-1187 .* done", out)

    def test_new_user_email_or_computer(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Same QWC on a laptop works; a second account gets QBWC1039; a rename goes on."""
        code, out = run(capsys, "--scenario", "new-user-email-or-computer")
        assert code == 0
        assert "Everything behaved as designed." in out
        laptop = out.split("from the laptop")[1]
        assert "authenticate office@summit-ridge.example     <- ticket issued" in laptop
        assert "invoice-1187: created" in laptop
        assert "QBWC1039: Unique OwnerID/FileID pair value required" in out
        renamed = out.split("the new email\n")[1]
        assert "authenticate books@summit-ridge.example      <- ticket issued" in renamed
        assert "invoice-1188: created" in renamed
        assert re.search(r"invoice-1188 .* done", out)

    def test_reference_quoted(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Each reference the user quotes (failed job, Web Connector text) finds its log line."""
        code, out = run(capsys, "--scenario", "reference-quoted")
        assert code == 0
        greps = re.findall(r"Support runs: grep (QBWC-\w{6}) app.log\n\s+(\S+) (.*)", out)
        assert [(ref == again) for ref, again, _ in greps] == [True, True]
        (job_ref, _, job_line), (wc_ref, _, wc_line) = greps
        assert job_line.startswith("job failed (job='2' key='invoice-1189'")
        assert f"invoice-1189 failed ({job_ref})" in out
        assert wc_line.startswith("could not connect to QuickBooks")
        assert f"Could not start QuickBooks.) ({wc_ref})" in " ".join(out.split())

    def test_lost_response(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A lost response is recovered by asking QuickBooks: the invoice exists once."""
        code, out = run(capsys, "--scenario", "lost-response")
        assert code == 0
        assert "the service still has it as 'sent'" in out
        assert "status query: lost set" in out
        assert "clear QuickBooks' stored answer" in out
        assert "QuickBooks holds invoice #1187 1 time(s)." in out

    def test_two_way(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Linkages, a Mod by link, pulls, actuals per job, Disconnect, the pulls restored."""
        code = main(["demo", "--scenario", "two-way"])
        out = capsys.readouterr().out
        assert code == 0, out
        assert "Everything behaved as designed." in out
        # Bounded: five updates, each at most the versions, authenticate, closeConnection and
        # a send and a receive per round (four Adds, then one pull).
        updates = len(re.findall(r"^Web Connector update \d+ ", out, re.MULTILINE))
        assert updates == 5
        assert len(re.findall(r"^  -> ", out, re.MULTILINE)) <= updates * (4 + 2 * 5)
        # The linkages, each with QuickBooks' identity.
        table = out.split("QuickBooks' identities\n")[1].split("\n\n")[0].splitlines()[1:]
        links = {row.split()[0]: row.split()[1:3] for row in table}
        assert {key: kind for key, (kind, _) in links.items()} == {
            "client-4": "Customer",
            "code-0610": "ItemService",
            "invoice-1042": "Invoice",
            "project-17": "Customer",
        }
        assert "Dune Co:Roof Replacement" in table[-1]
        # The Mod by link changed the invoice; the pull brought back what the desk booked.
        assert "(invoice-1042-v2: changed)" in out
        pulled = re.findall(r"on_pulled received: (.*)", out)
        assert sorted(pulled[0].split(", ")) == ["1 ReceivePayment", "3 Bill"]
        assert pulled[1].startswith("nothing.")

        def actuals(after: str) -> dict[str, tuple[str, str]]:
            rows = out.split(after)[1].split("(pulled from")[0].splitlines()[2:]
            block = [row for row in rows if row.strip()]
            return {" ".join(r.split()[:-2]): (r.split()[-2], r.split()[-1]) for r in block}

        assert actuals("fed by on_pulled)") == {
            "Dune Co:Roof Replacement": ("5,425.50", "2,000.00"),
            "Miller Residence:Kitchen Remodel": ("612.25", "0.00"),
        }
        # Disconnect: the linkages go; the pulls start again in the new file, and only its own.
        assert re.search(r"4 linkages, 2 pull cursors and \d+ delivered marks removed", out)
        assert "Linkages now\n  (no linkages)" in out
        assert "invoice-v3: failed, unlinked" in out
        assert actuals("from scratch in the new file") == {
            "Dune Co:Roof Replacement": ("980.00", "750.00"),
        }
        assert '(pulled from "Summit Ridge Construction 2027")' in out

    def test_exit_code_1_when_something_misbehaves(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When an expectation fails, the demo says what and exits 1."""

        def broken(rig: object, checks: _demo._Checks) -> None:
            checks.expect(False, "the invoice was created twice")

        monkeypatch.setitem(_demo._RUNNERS, "lost-response", broken)
        code, out = run(capsys, "--scenario", "lost-response")
        assert code == 1
        assert "The demo did NOT behave as designed:" in out
        assert "- the invoice was created twice" in out

    def test_unknown_scenario(self, capsys: pytest.CaptureFixture[str]) -> None:
        """An unknown --scenario is a usage error naming the choices."""
        with pytest.raises(SystemExit) as exited:
            main(["demo", "--scenario", "flood"])
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert "password-changed" in err
        assert "lost-response" in err
        with pytest.raises(ValueError, match="scenario='flood'"):
            _demo.run_demo("flood")

    def test_as_a_command(self) -> None:
        """``python -m qbwc demo`` works from a shell: exit 0, no traceback, no log noise."""
        done = subprocess.run(
            [sys.executable, "-m", "qbwc", "demo"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "Everything behaved as designed." in done.stdout
        assert done.stderr == ""
