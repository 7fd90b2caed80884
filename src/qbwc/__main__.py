"""``python -m qbwc``."""

from __future__ import annotations

import sys

from qbwc.cli import main

sys.exit(main())
