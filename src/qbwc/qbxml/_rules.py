"""
The wording the qbXML builder's checks share: a field's path, a type rule, the error.

Private to the builder (``_build``, ``_text``, ``_numbers``).
"""

from __future__ import annotations

from qbwc.exceptions import QBXMLValidationError


def _error(path: str, rule: str) -> QBXMLValidationError:
    return QBXMLValidationError(path, rule)


def _at(path: str, name: str) -> str:
    """The path of field *name* of the aggregate at *path* ('' = *path* itself)."""
    return f"{path}.{name}" if name else path


def _type_rule(value: object, expected: str) -> str:
    return f"expected {expected}, got {type(value).__name__}"
