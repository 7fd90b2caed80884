"""
Test doubles and Hypothesis strategies for qbwc users and contributors.

``qbwc.testing.strategies`` needs Hypothesis (a test dependency); the doubles
need nothing beyond qbwc itself.  Re-exports use ``import X as X``.
"""

from __future__ import annotations

# --- the Web Connector double (service side) ---

# --- the QuickBooks double ---
