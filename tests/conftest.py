"""Shared test configuration: Hypothesis profiles and the reference fixture."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from tests.reference import ABSENT, require_reference

# "ci" keeps the whole suite to a few minutes on 2 cores; "dev" is the local
# default; "thorough" is for a long run before a release
# (HYPOTHESIS_PROFILE=thorough pytest).
settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    print_blob=True,
)
settings.register_profile(
    "dev",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=2000, deadline=None)
# "smoke" runs each property a few times and never shrinks: for tests about the
# suite itself (tests/test_fresh_clone.py), not about the code.
settings.register_profile(
    "smoke",
    max_examples=3,
    phases=[Phase.explicit, Phase.generate],
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def reference() -> Path:
    """The ``../shared/reference`` folder (skip, or fail under CI, when absent)."""
    return require_reference()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """
    A test parametrized with the ``<reference absent>`` placeholder skips (fails under CI)
    before its body runs, so the body never works on the placeholder as if it were a path.
    """
    callspec = getattr(item, "callspec", None)
    if callspec is not None and any(
        isinstance(value, str) and value == ABSENT for value in callspec.params.values()
    ):
        require_reference()
