"""``path("qbwc/", include("qbwc.django.urls"))``: the Web Connector endpoint (named ``qbwc``)."""

from __future__ import annotations

from django.urls import path  # type: ignore[import-untyped]

from qbwc.django.views import web_connector

__all__ = [
    "app_name",
    "urlpatterns",
]

app_name = "qbwc"
urlpatterns = [path("", web_connector, name="endpoint")]
