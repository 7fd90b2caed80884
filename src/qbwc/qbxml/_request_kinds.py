"""
Which request element a request model travels in, the fields qbXML writes beside its
aggregate, and the version its request type appeared in: the hand-written InvoiceAdd
and EstimateAdd, and every model of the generated vocabulary (docs/qbxml-reference.md).
"""

from __future__ import annotations

from typing import Final

from qbwc.qbxml._requests import ADD_MODELS, RQ_LEVEL_FIELDS
from qbwc.qbxml._types import Version, vocabulary

__all__ = ["request_element", "request_since", "rq_level_fields"]

_GENERATED: Final = "qbwc.qbxml._models."


def request_element(cls: type) -> tuple[str, bool] | None:
    """
    ``(request element, whole)`` of a request model class, or None for anything else.

    *whole* is true for a request without an inner aggregate (``CustomerQuery``):
    the model is the ``*Rq`` element itself, its attributes (``iterator``...) included.
    """
    tag = ADD_MODELS.get(cls)
    if tag is not None:
        return tag, False
    if not cls.__module__.startswith(_GENERATED):
        return None
    tables = vocabulary()
    name = cls.__name__
    rq = tables.REQUESTS.get(name)
    if rq is None or tables.MODELS.get(name) != cls.__module__:
        return None
    return rq, name not in tables.RQ_LEVEL


def request_since(cls: type) -> Version:
    """The first qbXML version of the request type *cls*."""
    if not cls.__module__.startswith(_GENERATED):
        return (1, 0)
    since: Version = vocabulary().REQUEST_SINCE.get(cls.__name__, (1, 0))
    return since


def rq_level_fields(cls: type) -> frozenset[str]:
    """The fields of a request model that qbXML writes beside its aggregate."""
    if cls in ADD_MODELS:
        return RQ_LEVEL_FIELDS
    if not cls.__module__.startswith(_GENERATED):
        return frozenset()
    return frozenset(vocabulary().RQ_LEVEL.get(cls.__name__, ()))
