"""Test doubles and Hypothesis strategies for qbwc users and contributors."""

from __future__ import annotations
