"""Shared test configuration: Hypothesis profiles and the reference fixture."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.reference import require_reference

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
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def reference() -> Path:
    """The ``../shared/reference`` folder (skip, or fail under CI, when absent)."""
    return require_reference()
