"""The Web Connector endpoint as a Django view: CSRF-exempt, ``POST`` calls and ``GET ?wsdl``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse  # type: ignore[import-untyped]
from django.views.decorators.csrf import csrf_exempt  # type: ignore[import-untyped]

from qbwc._service import HTTPReply, WebConnectorService

__all__ = ["web_connector", "web_connector_view"]


def web_connector_view(
    service: WebConnectorService | Callable[[], WebConnectorService] | None = None,
) -> Callable[[HttpRequest], HttpResponse]:
    """
    A view that answers the Web Connector with *service*.

    *service* is a :class:`~qbwc.WebConnectorService`, a function returning one,
    or None for the one ``settings.QBWC`` describes (:func:`qbwc.django.get_service`).
    The view reads at most the service's ``max_body_bytes`` (a larger body gets
    413 with a SOAP fault, unread) and bypasses ``DATA_UPLOAD_MAX_MEMORY_SIZE``,
    which is for forms.
    """
    if service is None:
        from qbwc.django._conf import get_service  # noqa: PLC0415

        resolve: Callable[[], WebConnectorService] = get_service
    elif isinstance(service, WebConnectorService):
        fixed = service

        def resolve() -> WebConnectorService:
            return fixed
    else:
        resolve = service

    @csrf_exempt  # type: ignore[untyped-decorator]
    def view(request: Any) -> Any:
        current = resolve()
        method = str(request.method or "GET").upper()
        body = b""
        if method == "POST":
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > current.max_body_bytes:
                return _response(current.too_large(length))
            body = request.read(length) if length else b""
        reply = current.handle_http(
            method,
            body,
            query=str(request.META.get("QUERY_STRING", "")),
            url=request.build_absolute_uri(request.path),
        )
        return _response(reply)

    view.__name__ = view.__qualname__ = "web_connector"
    return view  # type: ignore[no-any-return]


def _response(reply: HTTPReply) -> Any:
    response = HttpResponse(reply.body, status=reply.status)
    for name, value in reply.headers:
        response[name] = value
    return response


#: The endpoint for the service ``settings.QBWC`` describes: ``path("qbwc/", web_connector)``.
web_connector = web_connector_view()
