"""
Fault injection around the Web Connector double: what goes wrong in production, on demand.

:class:`FaultInjector` takes a :class:`~qbwc.testing.FakeWebConnector` (and the
QuickBooks double and service behind it) and fires faults at it:

* the double's own faults (:class:`~qbwc.testing.LoseQuickBooksResponse`,
  :class:`~qbwc.testing.LoseReply`, :class:`~qbwc.testing.RepeatCall`,
  :class:`~qbwc.testing.Crash`), passed through to
  :meth:`FakeWebConnector.inject <qbwc.testing.FakeWebConnector.inject>`;
* :class:`FailConnection`: QuickBooks cannot be opened, so the Web Connector
  calls ``connectionError`` with an HRESULT;
* :class:`RestartService`: the web process restarts between two calls (a new
  service object on the same store, e.g. the same SQLite file);
* :class:`OpenCompanyFile`: the user opens a different company file;
* :class:`ChangePassword`: the password changes in your application, in the
  Web Connector, or both.

It counts what it injected and fired, so a campaign can report it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, final

import attrs

from qbwc.protocol._events import AnyCall
from qbwc.testing._web_connector import (
    Crash,
    FakeWebConnector,
    LoseQuickBooksResponse,
    LoseReply,
    RepeatCall,
)

__all__ = [
    "ChangePassword",
    "FailConnection",
    "Fault",
    "FaultInjector",
    "OpenCompanyFile",
    "RestartService",
]

#: Operations a call-bound fault may name.
OPERATIONS = frozenset(
    {
        "serverVersion",
        "clientVersion",
        "authenticate",
        "connectionError",
        "sendRequestXML",
        "receiveResponseXML",
        "getLastError",
        "closeConnection",
        "getInteractiveURL",
        "interactiveDone",
        "interactiveRejected",
    }
)


def _operation(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in OPERATIONS:
        known = ", ".join(sorted(OPERATIONS))
        msg = f"{attribute.name}={value!r}: not a Web Connector operation ({known})"
        raise ValueError(msg)


@final
@attrs.frozen(kw_only=True)
class FailConnection:
    """
    QuickBooks cannot be opened *times* times in a row: the Web Connector
    calls ``connectionError`` with *hresult* (and *message*, default
    QuickBooks' text for it) each time.
    """

    hresult: str = "0x80040408"
    message: str | None = None
    times: int = attrs.field(default=1, validator=attrs.validators.ge(1))


@final
@attrs.frozen(kw_only=True)
class RestartService:
    """
    The web process restarts just before the next *operation* call: the call
    reaches a new service object on the same store.
    """

    operation: str = attrs.field(default="sendRequestXML", validator=_operation)


@final
@attrs.frozen(kw_only=True)
class OpenCompanyFile:
    """
    The user opens another company file in QuickBooks, now: *quickbooks* is
    the :class:`~qbwc.testing.FakeQuickBooks` whose file is opened (None: the
    double's own file again).
    """

    quickbooks: Any = attrs.field(default=None, eq=False)


@final
@attrs.frozen(kw_only=True)
class ChangePassword:
    """
    The password becomes *password*, now: in your application
    (``service.set_password``) when *service* is true, and in the Web
    Connector's Password column when *web_connector* is true.

    Changing only one side replays "I changed my password and the update
    stopped working": the Web Connector is told ``nvu`` until both agree.
    *app_name* names the application when the double has several.
    """

    password: str = attrs.field(repr=False)
    service: bool = True
    web_connector: bool = True
    app_name: str | None = None


#: Every fault :class:`FaultInjector` can inject: the Web Connector double's own
#: (lost reply, repeated call, lost QuickBooks response, crash) and the ones around it.
Fault = (
    LoseQuickBooksResponse
    | LoseReply
    | RepeatCall
    | Crash
    | FailConnection
    | RestartService
    | OpenCompanyFile
    | ChangePassword
)

_PASSED_ON = (LoseQuickBooksResponse, LoseReply, RepeatCall, Crash)


class FaultInjector:
    """
    Fire faults at a Web Connector double, its QuickBooks double and its service.

    Installs itself as the double's ``before_call`` hook (a hook already there
    still runs, first).

    Args:
        web_connector: the :class:`~qbwc.testing.FakeWebConnector` to disturb.
        service: the :class:`~qbwc.WebConnectorService` behind it now (needed
            by :class:`ChangePassword` and :class:`RestartService`).
        new_service: makes the service object of a restarted process, e.g.
            ``lambda: WebConnectorService(store=SQLiteStore(path), ...)``;
            required for :class:`RestartService`.  The double's target becomes
            the new service, wrapped with :func:`qbwc.wsgi.make_wsgi_app` when
            the old target was a WSGI application.

    Attributes:
        service: the service answering now (the newest after a restart).
        injected: how many faults of each kind were injected (by class name).
        restarts: how many restarts fired.
    """

    def __init__(
        self,
        web_connector: FakeWebConnector,
        *,
        service: Any = None,
        new_service: Callable[[], Any] | None = None,
    ) -> None:
        self.web_connector = web_connector
        self.service = service
        self.new_service = new_service
        self.injected: Counter[str] = Counter()
        self.restarts = 0
        self._restart_before: list[str] = []
        self._previous_hook = web_connector.before_call
        web_connector.before_call = self._before_call

    def __repr__(self) -> str:
        return f"<FaultInjector injected={dict(self.injected)!r} pending={self.pending!r}>"

    def inject(self, *faults: Fault) -> None:
        """
        Inject *faults*, in order.

        Call-bound faults (:class:`RestartService` and the double's own) fire
        at their next chance; :class:`FailConnection` at the next attempts to
        open QuickBooks; :class:`OpenCompanyFile` and :class:`ChangePassword`
        at once.

        Raises:
            TypeError: not a fault.
            ValueError: a fault this injector cannot fire (no service given).
        """
        for fault in faults:
            if isinstance(fault, _PASSED_ON):
                self.web_connector.inject(fault)
            elif isinstance(fault, FailConnection):
                quickbooks: Any = self.web_connector.quickbooks
                for _ in range(fault.times):
                    quickbooks.fail_open(fault.hresult, fault.message)
            elif isinstance(fault, RestartService):
                if self.new_service is None:
                    msg = "RestartService: give FaultInjector(new_service=...) to restart"
                    raise ValueError(msg)
                self._restart_before.append(fault.operation)
            elif isinstance(fault, OpenCompanyFile):
                switch: Any = self.web_connector.quickbooks
                switch.switch_company(fault.quickbooks)
            elif isinstance(fault, ChangePassword):
                self._change_password(fault)
            else:
                msg = f"{fault!r} is not a fault"
                raise TypeError(msg)
            self.injected[type(fault).__name__] += 1

    @property
    def pending(self) -> tuple[object, ...]:
        """Call-bound faults that have not fired yet."""
        restarts = tuple(RestartService(operation=op) for op in self._restart_before)
        return tuple(self.web_connector.faults) + restarts

    def clear(self) -> None:
        """Drop every call-bound fault that has not fired (connection faults stay queued)."""
        self.web_connector.faults.clear()
        self._restart_before.clear()

    def restart(self) -> None:
        """Restart the service now: a new service object on the same store."""
        if self.new_service is None:
            msg = "restart: give FaultInjector(new_service=...) to restart"
            raise ValueError(msg)
        old_target = self.web_connector.target
        self.service = self.new_service()
        if hasattr(old_target, "handle_http") or old_target is None:
            self.web_connector.target = self.service
        else:
            from qbwc.wsgi import make_wsgi_app  # noqa: PLC0415

            self.web_connector.target = make_wsgi_app(self.service)
        self.restarts += 1

    def _change_password(self, fault: ChangePassword) -> None:
        if fault.service:
            if self.service is None:
                msg = "ChangePassword(service=True): give FaultInjector(service=...)"
                raise ValueError(msg)
            apps = self.web_connector.applications
            if fault.app_name is None and len(apps) != 1:
                msg = f"ChangePassword: name the application (app_name=): {sorted(apps)!r}"
                raise ValueError(msg)
            app = apps[fault.app_name] if fault.app_name else next(iter(apps.values()))
            self.service.set_password(app.config.user_name, fault.password)
        if fault.web_connector:
            self.web_connector.set_password(fault.password, app_name=fault.app_name)

    def _before_call(self, call: AnyCall) -> None:
        if self._previous_hook is not None:
            self._previous_hook(call)
        if call.operation in self._restart_before:
            self._restart_before.remove(call.operation)
            self.restart()
