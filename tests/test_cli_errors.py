"""
Every ``qbwc`` subcommand, with every kind of bad input that applies to it.

The subcommands come from walking the argparse tree, so a new one is covered
without editing this file (a new required argument needs a value in ``_VALUES``;
the walk says so).  Each run asserts: no traceback, the exit code of the table
in docs/service.md ("Command line": 1 for an error, 2 for usage), one line on
stderr for an error, and that a command which does not set a database up did
not create one.
"""

from __future__ import annotations

import argparse
import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qbwc.cli import build_parser, main

#: Commands that set a database up (create the SQLite file, record the OwnerID).
CREATES_DB = frozenset({"serve", "account add"})

KINDS = (
    "missing db",
    "db is a folder",
    "db in a missing folder",
    "not a database",
    "unreachable dsn",
    "bad port",
    "port in use",
    "missing file",
    "bad JSON",
    "unknown user",
    "unknown job id",
    "unwritable output",
)

INVOICE = {
    "type": "InvoiceAdd",
    "customer_ref": {"full_name": "Acme Corp"},
    "lines": [{"type": "InvoiceLineAdd", "desc": "Consulting", "amount": "150.00"}],
}


def _leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield " ".join(path), parser
        return
    seen: set[int] = set()
    for name, child in subs[0].choices.items():
        if id(child) in seen:  # an alias ("passwd" for "password")
            continue
        seen.add(id(child))
        yield from _leaves(child, (*path, name))


LEAVES = dict(_leaves(build_parser()))


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {o: a for a in parser._actions for o in a.option_strings}


def _positionals(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in parser._actions
        if not a.option_strings and not isinstance(a, argparse._SubParsersAction)
    ]


class _Rig:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.good_db = tmp_path / "good.sqlite"
        self.json = tmp_path / "invoice.json"
        self.json.write_text(json.dumps(INVOICE))
        self.query = tmp_path / "query.json"
        self.query.write_text(json.dumps({"type": "CustomerQuery"}))

    def value(self, command: str, dest: str, kind: str) -> list[str]:
        """The value(s) of argument *dest* of *command* for a run of *kind*."""
        if dest in ("file", "files"):
            if kind == "missing file":
                return [str(self.tmp / "missing.json")]
            if kind == "bad JSON":
                bad = self.tmp / "bad.json"
                bad.write_text("{not json")
                return [str(bad)]
            return [str(self.query if command == "query" else self.json)]
        if dest in ("user", "old"):
            return ["nobody" if kind == "unknown user" else "kristy"]
        if dest == "new":
            return ["kristy.new"]
        if "id" in dest or "job" in dest:
            return ["999999" if kind == "unknown job id" else "1"]
        pytest.fail(f"qbwc {command}: no test value for the argument {dest!r}: add one")


def _argv(rig: _Rig, command: str, parser: argparse.ArgumentParser, kind: str) -> list[str] | None:
    """The command line for *kind*, or None when *kind* does not apply to *command*."""
    options = _options(parser)
    argv = command.split()
    for action in _positionals(parser):
        argv += rig.value(command, action.dest, kind)
    required = [a for a in parser._actions if a.option_strings and a.required]
    for action in required:
        if action.dest == "user":
            argv += [action.option_strings[0], *rig.value(command, "user", kind)]
        elif action.dest == "url":
            argv += [action.option_strings[0], "https://books.example.com/qbwc"]
        elif action.dest == "support_url":
            argv += [action.option_strings[0], "https://books.example.com/help"]
        elif action.dest == "app_name":
            argv += [action.option_strings[0], "Acme Billing"]
        elif action.dest == "older_than":
            argv += [action.option_strings[0], "90d"]
        else:
            pytest.fail(f"qbwc {command}: no test value for {action.option_strings[0]}: add one")
    if "--password-stdin" in options:
        argv.append("--password-stdin")
    db = {
        "missing db": rig.tmp / "wrong-name.sqlite",
        "db is a folder": rig.tmp,
        "db in a missing folder": rig.tmp / "no-such-folder" / "qbwc.sqlite",
        "not a database": rig.tmp / "notes.txt",
    }.get(kind)
    if kind == "not a database":
        (rig.tmp / "notes.txt").write_text("not a database\n" * 100)
    if not _applies(command, parser, kind):
        return None
    if db is not None:
        argv += ["--db", str(db)]
    elif "--db" in options and kind != "unreachable dsn":
        argv += ["--db", str(rig.good_db)]
    if kind == "unreachable dsn":
        argv += ["--dsn", "postgresql://qbwc@127.0.0.1:1/nowhere"]
    if kind == "bad port":
        argv += ["--port", "99999"]
    if kind == "unwritable output":
        argv += ["-o", str(rig.tmp / "no-such-folder" / "out.xml")]
    return argv


def _applies(command: str, parser: argparse.ArgumentParser, kind: str) -> bool:
    options = _options(parser)
    dests = {a.dest for a in _positionals(parser)}
    required = [a for a in parser._actions if a.option_strings and a.required]
    has_user = "user" in dests or "old" in dests or any(a.dest == "user" for a in required)
    has_job = any("id" in d or "job" in d for d in dests)
    return {
        "missing db": "--db" in options and command not in CREATES_DB,
        "db is a folder": "--db" in options,
        "db in a missing folder": "--db" in options,
        "not a database": "--db" in options,
        "unreachable dsn": "--dsn" in options,
        "bad port": "--port" in options,
        "port in use": "--port" in options,
        "missing file": bool(dests & {"file", "files"}),
        "bad JSON": bool(dests & {"file", "files"}),
        "unknown user": has_user and "--db" in options and command != "account add",
        "unknown job id": has_job and "--db" in options,
        "unwritable output": "--output" in options,
    }[kind]


_EXPECTED = {"bad port": 2}
#: What the one line says (what is wrong, and what to do where the kind has a fix).
_SAYS = {
    "missing db": ("no database at", "qbwc account add USER"),
    "db is a folder": ("is a folder", "name the database file"),
    "db in a missing folder": ("does not exist", "create it"),
    "not a database": ("not a SQLite database", "check the path (--db)"),
    "unreachable dsn": ("cannot connect", "check --dsn"),
    "bad port": ("99999 is not a port",),
    "port in use": ("is in use", "choose another --port"),
    "missing file": ("cannot read",),
    "bad JSON": ("JSON",),
    "unknown user": ("no account 'nobody'", "qbwc account list"),
    "unwritable output": ("cannot write",),
}


@pytest.mark.parametrize(
    ("command", "kind"),
    [(c, k) for c in sorted(LEAVES) for k in KINDS if _applies(c, LEAVES[c], k)],
)
def test_bad_input_is_one_line_never_a_traceback(
    command: str,
    kind: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rig = _Rig(tmp_path)
    monkeypatch.delenv("QBWC_DSN", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("pw\n"))
    assert main(["account", "add", "kristy", "--password-stdin", "--db", str(rig.good_db)]) == 0
    capsys.readouterr()
    argv = _argv(rig, command, LEAVES[command], kind)
    assert argv is not None
    monkeypatch.setattr("sys.stdin", io.StringIO("pw\n"))
    busy = socket.socket()
    if kind == "port in use":
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        argv += ["--port", str(busy.getsockname()[1])]
    before = set(tmp_path.rglob("*"))
    try:
        code: Any = main(argv)
    except SystemExit as exc:
        code = exc.code
    finally:
        busy.close()
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    expected = _EXPECTED.get(kind, 1)
    if command == "jobs" and kind == "unknown user":
        expected = 0  # a filter that matches nothing: "no jobs"
    assert code == expected, (argv, out, err)
    if code != 0:
        said = " ".join((out + err).split())
        says = _SAYS.get(kind, ())
        if kind == "bad JSON" and command == "validate":
            says = ("not well-formed XML",)  # validate reads qbXML and .QWC files
        for words in says:
            assert words in said, (argv, words, said)
    if code == 1 and err:
        assert err.count("\n") == 1, err
        assert err.startswith(f"qbwc {command.split(maxsplit=1)[0]}: "), err
    if command not in CREATES_DB or kind != "missing db":
        created = {p for p in set(tmp_path.rglob("*")) - before if p.suffix != ".json"}
        assert not created, f"qbwc {command} created {sorted(created)}"


def test_every_command_meets_some_bad_input(tmp_path: Path) -> None:
    """The walk reaches every subcommand, and each that reads input gets at least one kind."""
    assert {"serve", "account add", "account password", "account qwc", "enqueue", "jobs"} <= set(
        LEAVES
    ) or {"jobs list"} <= set(LEAVES)
    for command, parser in LEAVES.items():
        kinds = [k for k in KINDS if _applies(command, parser, k)]
        assert kinds or command in ("demo", "db sql"), command


def test_unexpected_error_is_one_line_with_a_support_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug (any exception qbwc did not mean to raise) is one line that says to report it."""
    import qbwc.cli._qwc

    def broken(args: object) -> int:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(qbwc.cli._qwc, "_run", broken)
    argv = ["qwc", "--app-name", "A", "--url", "https://a.example.com/q"]
    argv += ["--support-url", "https://a.example.com/", "--user", "u"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unexpected error: ZeroDivisionError: division by zero" in err
    assert "QBWC_DEBUG=1" in err
    monkeypatch.setenv("QBWC_DEBUG", "1")
    assert main(argv) == 1
    assert "Traceback" in capsys.readouterr().err  # only when asked for


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from qbwc import __version__

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"qbwc {__version__}\n"
