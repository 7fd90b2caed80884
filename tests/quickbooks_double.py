"""
A QuickBooks double for the tests of requests ``FakeQuickBooks`` does not run yet.

:class:`ListQuickBooks` implements ``qbwc.testing.QuickBooksDouble`` around a
``FakeQuickBooks`` (*inner*), which keeps the company file, the HCP answer,
its faults, and every message set of InvoiceAdd/EstimateAdd.  A message set with
any other request is run here: CustomerAdd, CustomerMod (EditSequence checked:
3200), ListDel of customers, TxnVoid of an invoice, CustomerQuery, with
QuickBooks' error recovery (the last recovery-enabled set's answers are kept and
replayed to a status query).  A customer added here is added to *inner* too, so
that an invoice for it can be written there.  An InvoiceAdd in such a set runs on
*inner* as a message set of its own.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import attrs
from lxml import etree

from qbwc.qbxml._parse import Response, parse_response
from qbwc.qbxml._types import is_inline, vocabulary
from qbwc.testing import FakeQuickBooks, build_response

__all__ = ["Customer", "ListQuickBooks"]

_INNER_TYPES = ("InvoiceAddRq", "EstimateAddRq")


@attrs.define
class Customer:
    """A customer as this double keeps it."""

    list_id: str
    name: str
    edit_sequence: int
    company_file: str


@attrs.define
class Ran:
    """One request this double ran (for the tests' invariants)."""

    request_id: str
    request_type: str
    status_code: int
    list_id: str | None
    company_file: str


class ListQuickBooks:
    """QuickBooks with customers (Add, Mod, ListDel, Query) and TxnVoid beside *inner*."""

    def __init__(self, inner: FakeQuickBooks | None = None) -> None:
        self.inner = inner if inner is not None else FakeQuickBooks.sample()
        self.customers: dict[str, Customer] = {}
        self.deleted: dict[str, Customer] = {}
        self.voided: set[str] = set()
        self.ran: list[Ran] = []
        self._next = 0x80000100
        self._slot: tuple[str, bytes] | None = None  # (message set id, answer)
        self.lose_next = 0

    # -- QuickBooksDouble, delegated ---------------------------------------------------
    @property
    def company_file(self) -> str:
        return self.inner.company_file

    @property
    def country(self) -> str:
        return self.inner.country

    @property
    def qbxml_version(self) -> tuple[int, int]:
        return self.inner.qbxml_version

    def open(self, company_file: str) -> None:
        self.inner.open(company_file)

    def register_application(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> None:
        self.inner.register_application(owner_id, file_id)

    def hcp_response(self, owner_id: uuid.UUID) -> str:
        return self.inner.hcp_response(owner_id)

    # -- the message sets -------------------------------------------------------------
    def process_request(self, qbxml: str) -> str:
        root = etree.fromstring(qbxml.split("?>", 2)[-1].encode())
        msgs = root.find("QBXMLMsgsRq")
        assert msgs is not None
        requests = [child for child in msgs if isinstance(child.tag, str)]
        new_id = msgs.get("newMessageSetID")
        old_id = msgs.get("oldMessageSetID")
        if not requests:
            if self._slot is not None and old_id == self._slot[0]:
                if new_id is None:  # clear
                    self._slot = None
                    return build_response([]).decode()
                return self._slot[1].decode()  # the stored answers
            return self.inner.process_request(qbxml)
        if all(child.tag in _INNER_TYPES for child in requests):
            self._slot = None  # QuickBooks keeps the last set's answers only
            return self.inner.process_request(qbxml)
        responses: list[Response] = []
        for child in requests:
            response = self._run(child, qbxml)
            responses.append(response)
            if not (0 <= response.status_code < 1000) and msgs.get("onError") == "stopOnError":
                break
        answer = build_response(responses, message_set_id=new_id)
        if new_id is not None:
            self._slot = (new_id, _stored(responses, new_id))
        if self.lose_next:
            self.lose_next -= 1
            from qbwc.testing._quickbooks import ResponseLost

            raise ResponseLost(answer.decode())
        return answer.decode()

    def _run(self, rq: Any, document: str) -> Response:
        tag = str(rq.tag)
        request_id = rq.get("requestID") or ""
        name = tag[:-2] + "Rs"
        if tag in _INNER_TYPES:
            head = document.split("<QBXMLMsgsRq", 1)[0]
            single = (
                f'{head}<QBXMLMsgsRq onError="stopOnError">'
                f"{etree.tostring(rq, encoding='unicode')}</QBXMLMsgsRq></QBXML>"
            )
            answer = parse_response(self.inner.process_request(single))
            return answer.responses[0]
        handler = getattr(self, f"_{tag[:-2]}", None)
        assert handler is not None, f"ListQuickBooks does not run {tag}"
        code, message, ret, raw = handler(rq)
        list_id = getattr(ret, "list_id", None)
        self.ran.append(Ran(request_id, tag[:-2], code, list_id, self.company_file))
        fields: dict[str, Any] = {
            "name": name,
            "request_id": request_id,
            "status_code": code,
            "status_severity": "Info" if code < 500 else "Warn" if code < 1000 else "Error",
            "status_message": message,
        }
        if isinstance(ret, tuple):
            return Response(rets=ret, ret_count=len(ret), **fields)
        if raw is not None:
            attributes = f' requestID="{request_id}" statusCode="{code}"'
            return Response(raw=f"<{name}{attributes}>{raw}</{name}>", **fields)
        return Response(ret=ret, **fields)

    # -- the requests -------------------------------------------------------------------
    def _ret(self, customer: Customer) -> Any:
        ret_model = vocabulary().model("CustomerRet")
        return ret_model(
            list_id=customer.list_id,
            edit_sequence=str(customer.edit_sequence),
            name=customer.name,
            full_name=customer.name,
            is_active=True,
        )

    def _CustomerAdd(self, rq: Any) -> tuple[int, str, Any, str | None]:
        name = rq.findtext("CustomerAdd/Name") or ""
        if any(c.name == name for c in self.customers.values()):
            return 3100, f'The name "{name}" of the list element is already in use.', None, None
        self._next += 1
        customer = Customer(f"{self._next:X}-1700000000", name, 1, self.company_file)
        self.customers[customer.list_id] = customer
        if not self._inner_has(name):
            self.inner.add_customer(name)
        return 0, "Status OK", self._ret(customer), None

    def _inner_has(self, name: str) -> bool:
        try:
            self.inner.customer(name)
        except (KeyError, LookupError):
            return False
        return True

    def _CustomerMod(self, rq: Any) -> tuple[int, str, Any, str | None]:
        list_id = rq.findtext("CustomerMod/ListID") or ""
        customer = self.customers.get(list_id)
        if customer is None:
            message = f'Invalid argument. The specified record "{list_id}" does not exist.'
            return 3120, message, None, None
        if rq.findtext("CustomerMod/EditSequence") != str(customer.edit_sequence):
            message = (
                "The provided edit sequence is out-of-date. Someone else has changed this "
                "object since you last looked at it."
            )
            return 3200, message, None, None
        customer.name = rq.findtext("CustomerMod/Name") or customer.name
        customer.edit_sequence += 1
        return 0, "Status OK", self._ret(customer), None

    def _ListDel(self, rq: Any) -> tuple[int, str, Any, str | None]:
        list_id = rq.findtext("ListID") or ""
        customer = self.customers.pop(list_id, None)
        if customer is None:
            message = f'Invalid argument. The specified record "{list_id}" does not exist.'
            return 3120, message, None, None
        self.deleted[list_id] = customer
        ret = vocabulary().model("ListDelRet")(
            list_del_type="Customer",
            list_id=list_id,
            time_deleted=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            full_name=customer.name,
        )
        return 0, "Status OK", ret, None

    def _TxnVoid(self, rq: Any) -> tuple[int, str, Any, str | None]:
        txn_id = rq.findtext("TxnID") or ""
        if txn_id not in {ret.txn_id for ret in self.inner.invoices}:
            message = f'Invalid argument. The specified record "{txn_id}" does not exist.'
            return 3120, message, None, None
        self.voided.add(txn_id)
        ret = vocabulary().model("TxnVoidRet")(
            txn_void_type="Invoice",
            txn_id=txn_id,
            time_modified=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )
        return 0, "Status OK", ret, None

    def _CustomerQuery(self, rq: Any) -> tuple[int, str, Any, str | None]:
        rets = tuple(self._ret(c) for c in self.customers.values())
        if not rets:
            return 1, "A query request did not find a matching object in QuickBooks", (), None
        return 0, "Status OK", rets, None


def _stored(responses: list[Response], message_set_id: str) -> bytes:
    """What a status query hears: the statuses and (in an ErrorRecovery) the IDs."""
    from qbwc.qbxml._responses import ErrorRecovery

    replayed = []
    for response in responses:
        recovery = None
        ret = response.ret
        if ret is not None:  # QuickBooks keeps the identity of what it wrote
            txn_id = getattr(ret, "txn_id", None)
            recovery = ErrorRecovery(
                list_id=None if txn_id else getattr(ret, "list_id", None),
                txn_id=txn_id,
                edit_sequence=getattr(ret, "edit_sequence", None),
            )
        if (
            response.raw is not None
            or (response.rets and response.ret is None)
            or (ret is not None and is_inline(type(ret)))  # a Del or Void: its answer again
        ):
            replayed.append(response)
        else:
            replayed.append(attrs.evolve(response, ret=None, rets=(), error_recovery=recovery))
    return build_response(replayed, message_set_id=message_set_id)
