"""The generated qbXML models (tools/gen_qbxml.py → src/qbwc/qbxml/_models/)."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import attrs
import pytest

from qbwc.qbxml import _models
from qbwc.qbxml._types import QBXML_KEY, Kind, specs
from tests.reference import require_reference

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "src" / "qbwc" / "qbxml" / "_models"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_qbxml", ROOT / "tools" / "gen_qbxml.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_generated_modules_are_what_the_generator_writes() -> None:
    """Regenerating from Intuit's schema gives the checked-in files, byte for byte."""
    files = _generator().generate(require_reference())

    on_disk = {p.name: p.read_text() for p in GENERATED.glob("*.py")}
    assert sorted(on_disk) == sorted(files)
    for name, text in files.items():
        assert on_disk[name] == text, f"{name} is out of date: run python tools/gen_qbxml.py"


def test_generated_files_say_do_not_edit() -> None:
    for path in GENERATED.glob("*.py"):
        head = "".join(path.read_text().splitlines(keepends=True)[:8])
        assert "do not edit" in head, path.name


@pytest.mark.parametrize("family", _models.FAMILIES)
def test_every_family_module_defines_frozen_models_with_specs(family: str) -> None:
    module = importlib.import_module(f"qbwc.qbxml._models.{family}")

    names = [n for n, where in _models.MODELS.items() if where == module.__name__]
    assert sorted(module.__all__) == sorted(names)
    for name in names:
        cls = getattr(module, name)
        assert attrs.has(cls)
        assert cls.__doc__
        fields = attrs.fields(cls)
        for f in fields:
            assert f.name == "unknown" or QBXML_KEY in f.metadata, (name, f.name)
        for _, spec in specs(cls):
            if spec.kind is Kind.AGG:
                assert spec.model, (name, spec.tag)


def test_the_vocabulary_counts() -> None:
    """Every desktop request of qbXML 16.0 has a model; the counts are the closing note's."""
    kinds = {"Add": 0, "Mod": 0, "Query": 0}
    for rq in _models.REQUESTS.values():
        for suffix in kinds:
            if rq.endswith(f"{suffix}Rq"):
                kinds[suffix] += 1
    assert len(_models.REQUESTS) == 260
    assert kinds == {"Add": 80, "Mod": 65, "Query": 106}
    assert len(_models.RESPONSES) == 260
    for name in ("CustomerAdd", "CustomerMod", "CustomerQuery", "ListDel", "TxnDel", "TxnVoid"):
        assert name in _models.REQUESTS
    for rets in _models.RESPONSES.values():
        for ret in rets:
            assert ret in _models.MODELS


def test_importing_qbwc_loads_no_family_module() -> None:
    code = (
        "import sys, qbwc, qbwc.qbxml; "
        "print([m for m in sys.modules if m.startswith('qbwc.qbxml._models.')])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
