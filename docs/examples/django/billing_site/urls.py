"""The site's URLs: its own, plus the Web Connector endpoint at /qbwc/."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    # ... the site's own URLs ...
    path("qbwc/", include("qbwc.django.urls")),  # qbwc: the AppURL in the QWC files
]
