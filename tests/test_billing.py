"""Invoices and payments: priced from the catalog, totals equal their lines, payments must match."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cabinet_core import InvalidInput, Lease, Money, NaiveDatetime, PaymentRejected, TariffCatalog
from cabinet_core.billing import Payment, apply_payment, check_payment, issue_invoice
from test_catalog import GOOD

CATALOG = TariffCatalog.from_toml(GOOD)
AT = datetime(2027, 5, 10, 9, 0, tzinfo=UTC)


@given(st.sampled_from(CATALOG.codes()), st.integers(1, 120), st.integers(0, 10**9))
def test_invoice_total_is_sum_of_lines_and_matches_quote(code: str, months: int, credit_units: int) -> None:
    """The total equals the sum of the lines and the quote minus the credit used; never below zero."""
    credit = Money.from_minor(credit_units, "RUB")
    inv = issue_invoice(CATALOG, code, months, number=7, account_id="acme", at=AT, credit=credit)
    total_units = sum(line.amount.to_minor() for line in inv.lines)
    assert inv.total.to_minor() == total_units
    quote = CATALOG.quote(code, months)
    assert inv.total == quote.total - min(credit, quote.total)
    assert inv.total.to_minor() >= 0


def test_invoice_lines_name_discount() -> None:
    """A 12-month invoice shows the tariff line and the 15 % prepayment discount line."""
    inv = issue_invoice(CATALOG, "start", 12, number=1, account_id="acme", at=AT)
    assert [line.kind for line in inv.lines] == ["tariff", "discount"]
    assert inv.total == Money("10098", "RUB")  # 990 x 12 = 11 880, minus 15 % = 1 782


def test_invoice_refuses_bad_input() -> None:
    """Unknown tariffs, bad numbers, naive times and negative credit are refused."""
    with pytest.raises(LookupError):
        issue_invoice(CATALOG, "gold", 1, number=1, account_id="a", at=AT)
    with pytest.raises(InvalidInput):
        issue_invoice(CATALOG, "start", 1, number=0, account_id="a", at=AT)
    with pytest.raises(NaiveDatetime):
        issue_invoice(CATALOG, "start", 1, number=1, account_id="a", at=AT.replace(tzinfo=None))
    with pytest.raises(InvalidInput):
        issue_invoice(CATALOG, "start", 1, number=1, account_id="a", at=AT, credit=Money("-1", "RUB"))


def test_payment_must_match_invoice() -> None:
    """A payment of the wrong amount or currency is rejected and changes nothing."""
    inv = issue_invoice(CATALOG, "start", 1, number=3, account_id="acme", at=AT)
    lease = Lease(CATALOG["start"], AT + timedelta(days=5))
    for amount in (Money("989.99", "RUB"), Money("990", "USD"), Money("991", "RUB")):
        bad = Payment("pay-1", 3, amount, AT)
        with pytest.raises(PaymentRejected, match="kept for review"):
            apply_payment(lease, inv, bad, CATALOG)
    with pytest.raises(PaymentRejected, match="invoice 4"):
        check_payment(inv, Payment("pay-1", 4, inv.total, AT))
    good = apply_payment(lease, inv, Payment("pay-1", 3, inv.total, AT), CATALOG)
    assert good == lease.extend(1, AT)


def test_payment_after_tariff_change_is_converted() -> None:
    """Months invoiced on start (990) but paid on premium (4990) buy 990/4990 of the time."""
    inv = issue_invoice(CATALOG, "start", 1, number=3, account_id="acme", at=AT)
    lease = Lease(CATALOG["premium"], AT + timedelta(days=5))
    new = apply_payment(lease, inv, Payment("pay-2", 3, inv.total, AT), CATALOG)
    span = Lease(CATALOG["start"], lease.paid_until).extend(1, AT).paid_until - lease.paid_until
    expected = int(span.total_seconds()) * 990 // 4990
    assert new.paid_until == lease.paid_until + timedelta(seconds=expected)


@pytest.mark.parametrize("bad", ["", " x", "a" * 129, "id;DROP TABLE", "ид"])
def test_hostile_payment_ids_refused(bad: str) -> None:
    """Payment ids outside the safe alphabet are refused before they reach storage."""
    with pytest.raises(InvalidInput, match="payment id"):
        Payment(bad, 1, Money("1", "RUB"), AT)
