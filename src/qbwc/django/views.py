"""The Web Connector endpoint as a Django view: CSRF-exempt, ``POST`` calls and ``GET ?wsdl``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import DisallowedHost  # type: ignore[import-untyped]
from django.http import HttpRequest, HttpResponse  # type: ignore[import-untyped]
from django.views.decorators.csrf import csrf_exempt  # type: ignore[import-untyped]

from qbwc.service import BodyRefused, HTTPReply, WebConnectorService, request_url

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
    which is for forms.  A chunked body (no Content-Length) is read to its end
    under ASGI, and under WSGI when the server says where it ends
    (``wsgi.input_terminated``); otherwise it gets 411 with a SOAP fault.
    """
    if service is None:
        from qbwc.django import get_service  # noqa: PLC0415

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
        try:
            return _response(answer(current, request))
        except Exception as exc:  # a fault, never Django's HTML 500 page or a traceback
            return _response(current.internal_error(exc))

    def answer(current: WebConnectorService, request: Any) -> HTTPReply:
        method = str(request.method or "GET").upper()
        body = b""
        if method == "POST":
            limit = current.max_body_bytes
            declared = request.META.get("CONTENT_LENGTH")
            read = request.read
            length: int | None
            if declared is None or declared == "":
                # Django reads nothing without a Content-Length under WSGI; under
                # ASGI (a request with a scope) it has already received the whole body.
                environ = getattr(request, "environ", None) or {}
                if hasattr(request, "scope"):
                    length = None
                elif environ.get("wsgi.input_terminated") and "wsgi.input" in environ:
                    read = environ["wsgi.input"].read
                    length = None
                else:
                    return current.length_required()
            else:
                try:
                    length = int(declared)
                except ValueError:
                    length = -1
                if length < 0 or length > limit:
                    return current.too_large(length)
            try:
                body = current.read_body(read, length, limit=limit)
            except BodyRefused as refused:
                return refused.reply
        return current.handle_http(
            method,
            body,
            query=str(request.META.get("QUERY_STRING", "")),
            url=_absolute_url(request),
        )

    view.__name__ = view.__qualname__ = "web_connector"
    return view  # type: ignore[no-any-return]


def _absolute_url(request: Any) -> str:
    """This request's URL; "" (the neutral address) unless its Host is a plain host[:port]."""
    try:
        host = str(request.get_host())  # ALLOWED_HOSTS and USE_X_FORWARDED_HOST apply
    except DisallowedHost:
        return ""
    return request_url(str(request.scheme), host, str(request.path))


def _response(reply: HTTPReply) -> Any:
    response = HttpResponse(reply.body, status=reply.status)
    for name, value in reply.headers:
        response[name] = value
    return response


#: The endpoint for the service ``settings.QBWC`` describes: ``path("qbwc/", web_connector)``.
web_connector = web_connector_view()
