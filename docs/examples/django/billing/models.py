"""The site's own invoices, with the QuickBooks TxnID stored next to each."""

from __future__ import annotations

from django.db import models


class Invoice(models.Model):
    number = models.CharField(max_length=11, unique=True)
    customer = models.CharField(max_length=209)
    item = models.CharField(max_length=159)
    quantity = models.DecimalField(max_digits=12, decimal_places=2)
    quickbooks_user = models.CharField(max_length=150)
    qb_status = models.CharField(max_length=200, default="not sent")
    qb_txn_id = models.CharField(max_length=36, blank=True, default="")

    def __str__(self) -> str:
        return f"Invoice {self.number}"
