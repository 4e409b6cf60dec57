"""Invoices and payments (DESIGN.md "Invoices and payments").

An invoice prices a tariff for a number of months from the catalog, with the prepayment discount, rounded
half up to minor units; its total is the sum of its lines. A payment is applied exactly once (the storage
keeps the payment ids; here :func:`apply_payment` is the pure rule) and must match the invoice's total and
currency, or it is rejected, kept for review, and changes nothing. If the tariff changed between invoice and
payment, the paid months are converted by the price ratio.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

import attrs

from ._time import require_aware, utc_field
from .errors import InvalidInput, InvalidType, PaymentRejected
from .money import Money
from .tariffs import Lease, TariffCatalog

__all__ = [
    "Invoice",
    "InvoiceLine",
    "Payment",
    "PaymentMethod",
    "apply_payment",
    "check_payment",
    "issue_invoice",
]

_PAYMENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


class PaymentMethod(StrEnum):
    BANK_TRANSFER = "bank_transfer"
    ONLINE = "online"
    BONUS = "bonus"


def _utc_issued_at(value: object) -> datetime:
    return utc_field("issued_at")(value)


def _utc_received_at(value: object) -> datetime:
    return utc_field("received_at")(value)


@attrs.frozen
class InvoiceLine:
    """One line of an invoice; ``amount`` is in whole minor units (negative for discounts and credit)."""

    kind: str  # "tariff", "discount", "bonus"
    description: str
    amount: Money


@attrs.frozen
class Invoice:
    """An invoice for ``months`` of a tariff, numbered from the storage's gap-free sequence."""

    number: int
    account_id: str
    tariff_code: str
    months: int
    issued_at: datetime = attrs.field(converter=_utc_issued_at)
    lines: tuple[InvoiceLine, ...] = attrs.field()

    @lines.validator
    def _lines(
        self, attribute: attrs.Attribute[tuple[InvoiceLine, ...]], value: tuple[InvoiceLine, ...]
    ) -> None:
        if not value:
            raise InvalidInput("an invoice needs at least one line")
        currencies = {line.amount.currency for line in value}
        if len(currencies) != 1:
            raise InvalidInput(f"invoice lines mix currencies: {', '.join(sorted(currencies))}")

    @property
    def total(self) -> Money:
        """The amount due: the sum of the lines."""
        total = Money.zero(self.lines[0].amount.currency)
        for line in self.lines:
            total = total + line.amount
        return total

    @property
    def currency(self) -> str:
        return self.lines[0].amount.currency


def issue_invoice(
    catalog: TariffCatalog,
    tariff_code: str,
    months: int,
    *,
    number: int,
    account_id: str,
    at: datetime,
    credit: Money | None = None,
) -> Invoice:
    """Price ``months`` of a tariff with the prepayment discount; ``credit`` (bonus credit) is applied up to
    the amount due. ``number`` comes from the storage's gap-free sequence."""
    require_aware(at)
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise InvalidInput(f"invoice number must be a positive whole number, got {number!r}")
    quote = catalog.quote(tariff_code, months)
    lines = [InvoiceLine("tariff", f"{quote.tariff.title}, {months} mo.", quote.list_price)]
    if not quote.discount.is_zero():
        lines.append(
            InvoiceLine("discount", f"prepayment discount {quote.discount_percent}%", -quote.discount)
        )
    if credit is not None:
        if not isinstance(credit, Money):
            raise InvalidType(f"credit must be Money, got {credit!r}")
        if credit.amount < 0:
            raise InvalidInput(f"credit must not be negative, got {credit}")
        used = min(credit.round(rounding="ROUND_DOWN"), quote.total)
        if not used.is_zero():
            lines.append(InvoiceLine("bonus", "bonus credit", -used))
    return Invoice(number, account_id, quote.tariff.code, months, at, tuple(lines))


@attrs.frozen
class Payment:
    """A confirmation that money arrived for an invoice; ``payment_id`` makes delivery idempotent."""

    payment_id: str = attrs.field()
    invoice_number: int
    amount: Money
    received_at: datetime = attrs.field(converter=_utc_received_at)
    method: PaymentMethod = attrs.field(default=PaymentMethod.BANK_TRANSFER, converter=PaymentMethod)

    @payment_id.validator
    def _pid(self, attribute: attrs.Attribute[str], value: object) -> None:
        if not isinstance(value, str) or not _PAYMENT_ID.fullmatch(value):
            raise InvalidInput(
                f"payment id {value!r} must be 1-128 letters, digits, '.', '_', ':' or '-' (starting alnum)"
            )


def check_payment(invoice: Invoice, payment: Payment) -> None:
    """Refuse a payment that does not match its invoice (number, currency, amount)."""
    if payment.invoice_number != invoice.number:
        raise PaymentRejected(
            f"payment {payment.payment_id} is for invoice {payment.invoice_number}, not {invoice.number}"
        )
    if payment.amount.currency != invoice.currency:
        raise PaymentRejected(
            f"payment {payment.payment_id} is in {payment.amount.currency}, invoice {invoice.number} in "
            f"{invoice.currency}; kept for review"
        )
    if payment.amount != invoice.total:
        raise PaymentRejected(
            f"payment {payment.payment_id} of {payment.amount} does not match invoice {invoice.number} "
            f"total {invoice.total}; kept for review"
        )


def apply_payment(lease: Lease, invoice: Invoice, payment: Payment, catalog: TariffCatalog) -> Lease:
    """The lease after a matching payment: extended by the invoice's months from the payment's instant;
    if the account moved to another tariff since the invoice, the months are converted by price ratio."""
    check_payment(invoice, payment)
    paid_for = catalog[invoice.tariff_code]
    return lease.extend_converted(invoice.months, paid_for, payment.received_at)
