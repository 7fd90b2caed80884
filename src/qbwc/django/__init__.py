"""
Django integration: ``INSTALLED_APPS += ["qbwc.django"]`` and one URL.

Settings live in ``settings.QBWC`` (see ``docs/scale-out.md``); the service is
built on first use and shared by the process (:func:`get_service`).  Only this
package imports Django.
"""

from __future__ import annotations

from qbwc.django._conf import get_service as get_service
from qbwc.django._conf import reset_service as reset_service
from qbwc.django._conf import store_from_settings as store_from_settings
from qbwc.django.views import web_connector as web_connector
from qbwc.django.views import web_connector_view as web_connector_view

__all__ = [
    "get_service",
    "reset_service",
    "store_from_settings",
    "web_connector",
    "web_connector_view",
]
