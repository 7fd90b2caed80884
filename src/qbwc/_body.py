"""
Reading a POST body for the adapters (WSGI, ASGI, Django): the size cap and the envelope budget.

The body is read in pieces and each piece is counted against the envelope's budget
as it arrives (:class:`qbwc._budget.BodyBudget`), so a body whose markup could
never be a Web Connector call is refused after its first pieces, and the rest of
it is not read, as for a body over the size cap (docs/integrations.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from qbwc._budget import BodyBudget
from qbwc.exceptions import XMLParseError
from qbwc.service._facade import WebConnectorService
from qbwc.service._http import HTTPReply, xml_headers

__all__ = ["CHUNK", "Refusal", "length_required", "read_body"]

#: Bytes read at a time.
CHUNK: Final = 64 * 1024


class Refusal(Exception):
    """The body is refused: :attr:`reply` is the answer."""

    def __init__(self, reply: HTTPReply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def length_required(service: WebConnectorService) -> HTTPReply:
    """411 with a SOAP fault: no Content-Length, and the server cannot tell where the body ends."""
    from qbwc._soap import encode_fault  # noqa: PLC0415

    reference = service._report(logging.WARNING, "request without Content-Length refused")
    message = (
        "the request has no Content-Length, and this server does not say where a chunked "
        f"body ends; send Content-Length ({reference})"
    )
    body = encode_fault("soap:Client", message)
    return HTTPReply(status=411, headers=xml_headers(body), body=body)


def refused(service: WebConnectorService, exc: XMLParseError) -> HTTPReply:
    """The 500 fault for a body the envelope budget (or its encoding) refused while reading."""
    status, body = service._refuse(str(exc))
    return HTTPReply(status=status, headers=xml_headers(body), body=body)


def read_body(
    service: WebConnectorService, read: Callable[[int], bytes], length: int | None, limit: int
) -> bytes:
    """
    The body from *read* (a file's ``read``): *length* bytes, or up to the end when None.

    Raises:
        Refusal: 413 once the body is over *limit* (reading at most limit + 1 bytes),
            or a fault once it is over the envelope budget (reading no further).
    """
    if length is not None and length <= CHUNK:
        # One piece: its markup is counted when it is parsed (it cannot hold much).
        return read(length) if length else b""
    budget = BodyBudget()
    remaining = limit + 1 if length is None else length
    while remaining > 0:
        chunk = read(min(CHUNK, remaining))
        if not chunk:
            break
        remaining -= len(chunk)
        if len(budget) + len(chunk) > limit:
            raise Refusal(service.too_large(-1 if length is None else length))
        try:
            budget.feed(chunk)
        except XMLParseError as exc:
            raise Refusal(refused(service, exc)) from None
    return budget.body()
