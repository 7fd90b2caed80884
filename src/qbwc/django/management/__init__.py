"""Django's management commands of the qbwc app (``manage.py qbwc_*``)."""

from __future__ import annotations

__all__: list[str] = []
