"""
Packaging and release: the extras fit their users, the workflows run what the README says,
and ``python -m build`` makes an sdist and a wheel that ``twine check --strict`` passes.

The build runs offline with ``--no-isolation``: the build backend (hatchling) comes
from the ``[dev]`` extra instead of a fresh download.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import qbwc
from tests.postgres import ENV as POSTGRES_ENV

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]
WORKFLOWS = ROOT / ".github" / "workflows"
# Modules of this checkout that tests import (not distributions).
LOCAL = {
    "qbwc", "tests", "benchmarks", "tools", "gen_qbxml", "release_check", "billing", "billing_site",
    "mkdocs_api", "griffe_qbwc",
}  # fmt: skip


def _imported_modules(paths: list[Path]) -> set[str]:
    """The top-level modules the files at *paths* import, less the standard library's."""
    found: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {
        name
        for name in found
        if name not in sys.stdlib_module_names and name not in LOCAL and name != "__future__"
    }


def _distribution(module: str) -> str:
    """The (canonical) name of the installed distribution that provides *module*."""
    names = importlib.metadata.packages_distributions().get(module)
    assert names, f"no installed distribution provides {module!r}"
    return canonicalize_name(names[0])


def _requirements(extras: tuple[str, ...]) -> set[str]:
    """Canonical names this project requires with *extras* (following its own extras)."""
    names: set[str] = set()
    pending = [*PROJECT["dependencies"]]
    pending += [line for extra in extras for line in EXTRAS[extra]]
    seen: set[str] = set()
    while pending:
        requirement = Requirement(pending.pop())
        name = canonicalize_name(requirement.name)
        if name == canonicalize_name(PROJECT["name"]):
            for extra in requirement.extras - seen:
                seen.add(extra)
                pending += EXTRAS[extra]
            continue
        names.add(name)
    return names


def _closure(names: set[str]) -> set[str]:
    """*names* and everything their installed distributions require, recursively."""
    found: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(canonicalize_name(requirement.name))
    return found


def _readme_test_command() -> str:
    """The README's command that installs the project and runs the test suite."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line for line in readme.splitlines() if line.rstrip().endswith("&& pytest")]
    assert len(commands) == 1, commands
    return commands[0].strip()


def _workflow(name: str) -> dict[Any, Any]:
    loaded = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), name
    return loaded


def _triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key ``on`` as True.
    triggers = workflow.get("on", workflow.get(True))
    assert isinstance(triggers, dict), triggers
    return triggers


def _runs(job: dict[str, Any]) -> list[str]:
    return [str(step["run"]).strip() for step in job.get("steps", []) if "run" in step]


# --- the extras ---


def test_test_extra_is_what_qbwc_testing_imports() -> None:
    """``[test]``: exactly the third-party imports of qbwc.testing beyond the runtime's."""
    modules = _imported_modules(sorted((ROOT / "src" / "qbwc" / "testing").rglob("*.py")))
    needed = {_distribution(module) for module in modules} - _requirements(())
    assert needed == {canonicalize_name(Requirement(line).name) for line in EXTRAS["test"]}
    assert needed == {"hypothesis"}


def test_postgres_extra_is_psycopg() -> None:
    assert _requirements(("postgres",)) - _requirements(()) == {"psycopg", "psycopg-pool"}


def test_dev_extra_covers_the_suite() -> None:
    """Every distribution the tests import or run (``python -m X``) comes with ``[dev]``."""
    paths = sorted((ROOT / "tests").rglob("*.py"))
    modules = _imported_modules(paths)
    for path in paths:
        modules.update(re.findall(r'"-m",\s*"(\w+)"', path.read_text(encoding="utf-8")))
    modules -= {*LOCAL, "immediate"}  # pg_ctl's "-m immediate" is no module
    modules |= {"build", "twine"}  # run by this file
    provided = _closure(_requirements(("dev",)))
    missing = sorted({_distribution(module) for module in modules} - provided)
    assert missing == []
    assert "hatchling" in provided  # python -m build --no-isolation needs the backend


def test_dev_includes_test_and_postgres() -> None:
    assert _requirements(("test", "postgres")) <= _requirements(("dev",))


# --- the README's command, .ci/run and the workflows ---


def test_readme_and_ci_run_install_dev() -> None:
    """The README's test command installs ``[dev]``; .ci/run runs that same command."""
    command = _readme_test_command()
    assert 'pip install -e ".[dev]"' in command
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci.replace("pip install -q ", "pip install ") == command


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_workflows_parse(name: str) -> None:
    """Each workflow is YAML with triggers and jobs; each action is pinned to a version."""
    workflow = _workflow(name)
    assert _triggers(workflow)
    jobs = workflow["jobs"]
    assert jobs
    for job in jobs.values():
        assert "runs-on" in job or "uses" in job
        for step in job.get("steps", []):
            assert ("run" in step) != ("uses" in step), step
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@[\w./-]+", step["uses"]), step


def test_workflow_names() -> None:
    assert sorted(p.name for p in WORKFLOWS.iterdir()) == ["release.yml", "tests.yml"]


def test_tests_workflow() -> None:
    """Python 3.11 to 3.13, a PostgreSQL service the suite finds, the README's command."""
    workflow = _workflow("tests.yml")
    assert "workflow_call" in _triggers(workflow)
    (job,) = workflow["jobs"].values()
    versions = job["strategy"]["matrix"]["python-version"]
    classifiers = [
        c.rsplit(" ", 1)[1]
        for c in PROJECT["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    assert versions == classifiers == ["3.11", "3.12", "3.13"]
    assert PROJECT["requires-python"] == f">={versions[0]}"

    postgres = job["services"]["postgres"]
    assert postgres["image"].startswith("postgres:")
    dsn = dict(item.split("=", 1) for item in job["env"][POSTGRES_ENV].split())
    assert f"{dsn['port']}:5432" in postgres["ports"]
    assert dsn["user"] == postgres["env"]["POSTGRES_USER"]
    assert dsn["password"] == postgres["env"]["POSTGRES_PASSWORD"]
    assert dsn["dbname"] == postgres["env"]["POSTGRES_DB"]
    assert "--health-cmd" in postgres["options"]
    assert "QBWC_REFERENCE_DIR" in job["env"]

    assert _readme_test_command() in _runs(job)


def test_release_workflow() -> None:
    """Build and ``twine check --strict`` always; on a ``v*`` tag, tests then trusted publishing."""
    workflow = _workflow("release.yml")
    assert _triggers(workflow)["push"]["tags"] == ["v*"]
    jobs = workflow["jobs"]
    assert jobs["tests"]["uses"] == "./.github/workflows/tests.yml"

    runs = _runs(jobs["build"])
    assert "python -m build" in runs
    assert "python -m twine check --strict dist/*" in runs
    assert any(run.startswith("python tools/release_check.py") for run in runs)

    publish = jobs["publish"]
    assert publish["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert sorted(publish["needs"]) == ["build", "tests"]
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    assert publish["environment"]["url"].endswith(f"/{PROJECT['name']}")
    uses = [step.get("uses", "") for step in publish["steps"]]
    assert "pypa/gh-action-pypi-publish@release/v1" in uses
    # Trusted publishing: no password or token handed to the action.
    assert all("with" not in step for step in publish["steps"] if "pypi-publish" in step["uses"])


# --- tools/release_check.py ---


def _release_problems(tmp_path: Path, tag: str, changelog: str) -> list[str]:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import release_check
    finally:
        sys.path.remove(str(ROOT / "tools"))
    (tmp_path / "pyproject.toml").write_text('[project]\nversion = "1.2.3"\n', encoding="utf-8")
    (tmp_path / "CHANGELOG.md").write_text(changelog, encoding="utf-8")
    problems: list[str] = release_check.problems(tag, tmp_path)
    return problems


@pytest.mark.parametrize(
    ("tag", "changelog", "expected"),
    [
        ("v1.2.3", "# Changelog\n\n## [1.2.3] - 2026-12-06\n\n- x\n", []),
        ("v1.2.4", "## [1.2.3] - 2026-12-06\n", ["tag 'v1.2.4' is not v1.2.3"]),
        ("1.2.3", "## [1.2.3] - 2026-12-06\n", ["tag '1.2.3' is not v1.2.3"]),
        ("v1.2.3", "## [Unreleased]\n", ["no '## [1.2.3] - YYYY-MM-DD' section"]),
        ("v1.2.3", "## [1.2.3]\n", ["no '## [1.2.3] - YYYY-MM-DD' section"]),
        ("v1.2.3", "## [1.2.3] - 2026-13-40\n", ["'2026-13-40' is not a date"]),
    ],
)
def test_release_check(tmp_path: Path, tag: str, changelog: str, expected: list[str]) -> None:
    """A tag is released only when it names the version and the CHANGELOG dates it."""
    problems = _release_problems(tmp_path, tag, changelog)
    assert len(problems) == len(expected), problems
    for problem, text in zip(problems, expected, strict=True):
        assert text in problem


def test_release_check_cli() -> None:
    """The command line: exit 1 and the reason (this checkout's CHANGELOG is not dated yet)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "release_check.py"), "v0.0.0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "release: tag 'v0.0.0' is not v" in done.stderr


# --- the build ---


def _run(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_build_and_twine_check(tmp_path: Path) -> None:
    """``python -m build`` (offline) makes an sdist and a wheel; ``twine check --strict`` passes."""
    out = tmp_path / "dist"
    _run("build", "--no-isolation", "--outdir", str(out), str(ROOT), cwd=tmp_path)
    version = PROJECT["version"]
    sdist = out / f"qbwc_toolkit-{version}.tar.gz"
    wheel = out / f"qbwc_toolkit-{version}-py3-none-any.whl"
    assert sorted(out.iterdir()) == [wheel, sdist]
    checked = _run("twine", "check", "--strict", str(sdist), str(wheel), cwd=tmp_path)
    assert checked.count("PASSED") == 2, checked

    # The sdist is the source a packager can test: the package, tests, docs, tools.
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    top = f"qbwc_toolkit-{version}"
    for needed in (
        "pyproject.toml",
        "mkdocs.yml",
        "README.md",
        "CHANGELOG.md",
        "LICENSE",
        "src/qbwc/__init__.py",
        "src/qbwc/py.typed",
        "schemas/qbwc.wsdl",
        "tests/conftest.py",
        "tests/test_packaging.py",
        "docs/index.md",
        "docs/examples/django/manage.py",
        "tools/gen_qbxml.py",
        "tools/release_check.py",
        "benchmarks/bench_service.py",
    ):
        assert needed in names, (top, needed)
    assert not [n for n in names if "__pycache__" in n or n.startswith((".venv/", ".git/"))]

    # The wheel: the package and its schemas; one version, from pyproject.toml.
    with zipfile.ZipFile(wheel) as archive:
        wheel_names = set(archive.namelist())
        metadata = archive.read(f"qbwc_toolkit-{version}.dist-info/METADATA").decode()
    assert "qbwc/py.typed" in wheel_names
    assert "qbwc/schemas/qbwc.wsdl" in wheel_names
    assert f"qbwc_toolkit-{version}.dist-info/licenses/LICENSE" in wheel_names
    assert not [n for n in wheel_names if n.startswith(("tests/", "docs/"))]
    assert f"\nVersion: {version}\n" in metadata
    assert "\nProvides-Extra: dev\n" in metadata
    assert qbwc.__version__ == version


def test_releasing_page_names_every_extra_and_the_commands() -> None:
    """docs/releasing.md lists each extra and the commands the workflows run."""
    page = (ROOT / "docs" / "releasing.md").read_text(encoding="utf-8")
    assert sorted(re.findall(r"^\| `\[(\w+)\]` \|", page, re.MULTILINE)) == sorted(EXTRAS)
    assert 'pip install -e ".[dev]" && pytest' in page
    assert "twine check --strict" in page
    assert "python tools/release_check.py" in page
