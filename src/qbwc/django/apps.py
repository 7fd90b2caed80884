"""The Django app: ``INSTALLED_APPS += ["qbwc.django"]``."""

from __future__ import annotations

from django.apps import AppConfig  # type: ignore[import-untyped]

__all__ = ["QBWCConfig"]


class QBWCConfig(AppConfig):  # type: ignore[misc]
    """QuickBooks Web Connector: the endpoint, ``manage.py qbwc_*`` commands, the schema."""

    name = "qbwc.django"
    label = "qbwc"
    verbose_name = "QuickBooks Web Connector"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks  # type: ignore[import-untyped]  # noqa: PLC0415
        from django.core.signals import setting_changed  # type: ignore[import-untyped]  # noqa: PLC0415

        from qbwc.django._conf import on_setting_changed  # noqa: PLC0415
        from qbwc.django.checks import check_settings  # noqa: PLC0415

        setting_changed.connect(on_setting_changed, dispatch_uid="qbwc-settings")
        checks.register(check_settings, "qbwc")
