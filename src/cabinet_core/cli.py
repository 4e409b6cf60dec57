"""The ``cabinet`` command: the personal account from a terminal, on the embedded SQLite default.

Exit status: 0 done; 1 refused (the library said no: unknown tariff or account, quota exceeded, bad
forwarding list, ...); 2 usage error (bad options, a malformed value such as a naive ``--now``, a ``--db``,
``--catalog`` or ``--provider`` that cannot be used, a database file that does not exist yet for any
command but ``open`` and ``demo``). Errors are one line on stderr, and a command that fails writes nothing
-- with one exception kept on purpose: a payment that does not match its invoice is recorded for review.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any, NoReturn, TextIO
from urllib.parse import quote, unquote, urlsplit

from ._time import require_aware
from ._units import MB
from .errors import CabinetError, ConfigurationError, InvalidInput, InvalidType, NaiveDatetime
from .money import Money
from .page import LOCALES, format_money, render_page

__all__ = ["main"]

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
DEFAULT_DB = "cabinet.sqlite3"
EXIT_STATUS_HELP = (
    "Exit status: 0 done, 1 refused by the rules (unknown tariff or account, quota exceeded, ...), "
    "2 usage error (bad options or values, a --db that cannot be used or does not exist yet). "
    "A failed command writes nothing."
)
# Only these commands may create the database file; any other on a missing file is a usage error, so a
# mistyped --db neither creates an empty database nor reads as "no such account".
_CREATING_COMMANDS = frozenset({"open", "demo"})


class UsageError(Exception):
    """A malformed command line: exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _storage_url(db: str) -> str:
    if "://" in db:
        return db
    # sqlite:///relative and sqlite:////absolute: the path follows the third slash either way; quoted, so
    # a file name with '#', '?' or '%' stays a file name and not a URL fragment, query or escape
    return f"sqlite:///{quote(str(Path(db)), safe='/')}"


def _sqlite_file(url: str) -> Path | None:
    """The file an ``sqlite:///`` URL names (None for other URLs; open_storage judges malformed ones)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "sqlite" or parts.netloc or not parts.path.startswith("/"):
        return None
    path = unquote(parts.path[1:])
    return Path(path) if path else None


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--now {text!r} is not an ISO 8601 instant such as 2026-11-25T09:00:00+03:00"
        ) from None
    try:
        return require_aware(value, "--now")
    except NaiveDatetime:
        raise UsageError(f"--now {text!r} has no time zone; add one, e.g. {text}+03:00") from None


class _KeptFtpSink:
    """Keeps new FTP credentials until the change is stored; ``cmd_ftp`` then shows them once.

    Printing from ``deliver`` would show a password that a failed or retried transaction never stored,
    and would break ``--json`` output with plain text.
    """

    def __init__(self) -> None:
        self.credentials: Any = None

    def deliver(self, credentials: Any) -> None:
        self.credentials = credentials


class _Cli:
    def __init__(self, args: argparse.Namespace, out: TextIO) -> None:
        self.args = args
        self.out = out
        self._service: Any = None
        self._catalog: Any = None
        self.ftp_sink = _KeptFtpSink()

    @property
    def locale(self) -> str:
        return str(getattr(self.args, "locale", "ru"))

    @property
    def as_json(self) -> bool:
        return bool(getattr(self.args, "json", False))

    @property
    def now(self) -> datetime | None:
        text = getattr(self.args, "now", None)
        return None if text is None else _instant(text)

    def catalog(self) -> Any:
        if self._catalog is None:
            from .tariffs import TariffCatalog

            path = self.args.catalog or files("cabinet_core") / "data" / "sample_catalog.toml"
            self._catalog = _setup(lambda: TariffCatalog.load(str(path)))
        return self._catalog

    def service(self) -> Any:
        if self._service is None:
            from .adapters import open_storage
            from .application import CabinetService
            from .ports import SystemClock
            from .provider import ProviderConfig

            catalog = self.catalog()
            provider_path = self.args.provider or files("cabinet_core") / "data" / "sample_provider.toml"
            provider = _setup(lambda: ProviderConfig.load(str(provider_path)))
            url = _storage_url(self.args.db)
            file = _sqlite_file(url)
            if file is not None and self.args.command not in _CREATING_COMMANDS and not file.exists():
                raise UsageError(
                    f"no database at {file}; 'cabinet open' or 'cabinet demo' creates one, "
                    "or point --db at an existing one"
                )
            storage = _setup(lambda: open_storage(url))
            self._service = CabinetService(storage, catalog, provider, SystemClock(), ftp_sink=self.ftp_sink)
        return self._service

    def close(self) -> None:
        if self._service is not None:
            self._service.storage.close()

    def emit(self, data: Any, text: str) -> None:
        if self.as_json:
            print(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default), file=self.out)
        else:
            print(text, file=self.out, end="" if text.endswith("\n") else "\n")


def _setup(load: Callable[[], Any]) -> Any:
    """Load what --db, --catalog or --provider name; a failure there is a usage error (exit status 2)."""
    try:
        return load()
    except CabinetError as exc:
        raise UsageError(_one_line(exc)) from exc


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Money):
        # as the page's JSON writes money: the currency's minor units, always ("1990.00", not "1990")
        return {"amount": str(value.round(rounding="ROUND_HALF_UP").amount), "currency": value.currency}
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


# -- commands ------------------------------------------------------------------------------------------


def cmd_show(cli: _Cli) -> None:
    ov = cli.service().overview(cli.args.name, at=cli.now)
    cli.emit(ov.to_dict(), render_page(ov, cli.locale))


def cmd_tariffs(cli: _Cli) -> None:
    catalog = cli.catalog()
    rows = [
        {
            "code": t.code,
            "title": t.title,
            "monthly_price": t.monthly_price,
            "ru_mark": t.ru_mark,
            "users": t.limits.users,
            "disk_mb": t.limits.disk_mb,
            "mail_per_24h": t.limits.mail_per_24h,
            "features": sorted(t.features),
            "retired": t.retired,
        }
        for t in catalog
    ]
    text = "\n".join(
        f"{t.code:<12} {t.title}{' [Ru]' if t.ru_mark else ''} — "
        f"{format_money(t.monthly_price, cli.locale)}; "
        f"users {t.limits.users}, disk {t.limits.disk_mb} MB, mail {t.limits.mail_per_24h}/24h"
        + (f"; {', '.join(sorted(t.features))}" if t.features else "")
        + ("; retired: no longer offered" if t.retired else "")
        for t in catalog
    )
    cli.emit(rows, text)


def cmd_open(cli: _Cli) -> None:
    a = cli.args
    account = cli.service().open_account(
        a.name,
        tariff=a.tariff,
        configuration=a.configuration,
        master_domain=a.master_domain,
        referral_code=a.referral,
        tz=a.tz,
        locale=cli.locale,
        at=cli.now,
        actor="cli",
    )
    cli.emit(
        {"account": account.id, "referral_code": account.referral_code.value},
        f"opened {account.id} (referral code {account.referral_code.value})",
    )


def _change_dict(change: Any) -> dict[str, Any]:
    return {
        "tariff_before": change.previous.tariff.code,
        "tariff_after": change.lease.tariff.code,
        "paid_until_before": None if change.previous.tariff.is_free else change.previous.paid_until,
        "paid_until_after": None if change.lease.tariff.is_free else change.lease.paid_until,
        "needs_migration": change.needs_migration,
        "loses_features": sorted(change.loses_features),
        "own_domain_deactivated": change.own_domain_deactivated,
    }


def cmd_change_tariff(cli: _Cli) -> None:
    a = cli.args
    svc = cli.service()
    if not a.yes:
        change = svc.preview_tariff_change(a.name, a.tariff, at=cli.now)
        data = {"preview": True, **_change_dict(change)}
        until = "—" if change.lease.tariff.is_free else change.lease.paid_until.isoformat()
        cli.emit(
            data,
            f"preview: {change.previous.tariff.code} -> {change.lease.tariff.code}; new paid-until {until}"
            + ("; needs data migration" if change.needs_migration else "")
            + ("; loses " + ", ".join(sorted(change.loses_features)) if change.loses_features else "")
            + ("; the own domain will be switched off" if change.own_domain_deactivated else "")
            + "\nnothing changed; run again with --yes to confirm",
        )
        return
    change = svc.change_tariff(a.name, a.tariff, at=cli.now, actor="cli", reason=a.reason)
    data = {"preview": False, **_change_dict(change)}
    cli.emit(data, f"tariff changed to {change.lease.tariff.code}; paid until {data['paid_until_after']}")


def _invoice_dict(inv: Any) -> dict[str, Any]:
    return {
        "number": inv.number,
        "account": inv.account_id,
        "tariff": inv.tariff_code,
        "months": inv.months,
        "issued_at": inv.issued_at,
        "lines": [{"kind": ln.kind, "description": ln.description, "amount": ln.amount} for ln in inv.lines],
        "total": inv.total,
    }


def cmd_invoice(cli: _Cli) -> None:
    a = cli.args
    inv = cli.service().issue_invoice(
        a.name, a.months, tariff=a.tariff, use_bonus=a.use_bonus, at=cli.now, actor="cli"
    )
    lines = [f"invoice {inv.number} for {inv.account_id}: {inv.tariff_code} x {inv.months} mo."]
    lines += [f"  {ln.description}: {format_money(ln.amount, cli.locale)}" for ln in inv.lines]
    lines.append(f"  total: {format_money(inv.total, cli.locale)}")
    cli.emit(_invoice_dict(inv), "\n".join(lines))


def cmd_pay(cli: _Cli) -> None:
    a = cli.args
    svc = cli.service()
    invoice = svc.invoice(a.invoice)
    if invoice.account_id != a.name:
        raise InvalidInput(f"invoice {a.invoice} belongs to {invoice.account_id!r}, not {a.name!r}")
    amount = invoice.total if a.amount is None else Money(a.amount, invoice.currency)
    result = svc.confirm_payment(a.payment_id, a.invoice, amount, method=a.method, at=cli.now, actor="cli")
    until = result.lease.paid_until
    cli.emit(
        {"applied": result.applied, "paid_until": until, "invoice": a.invoice},
        f"payment {a.payment_id} {'applied' if result.applied else 'already applied'}; "
        f"paid until {until.isoformat()}",
    )


def cmd_cancel_invoice(cli: _Cli) -> None:
    a = cli.args
    inv = cli.service().cancel_invoice(a.name, a.invoice, at=cli.now, actor="cli")
    restored = -sum((ln.amount for ln in inv.lines if ln.kind == "bonus"), Money.zero(inv.currency))
    cli.emit(
        {"cancelled": inv.number, "bonus_restored": restored},
        f"invoice {inv.number} cancelled; bonus credit given back: {format_money(restored, cli.locale)}",
    )


def cmd_mail_reserve(cli: _Cli) -> None:
    a = cli.args
    r = cli.service().reserve_mail(a.name, a.n, partial=a.partial, at=cli.now)
    cli.emit(
        {"granted": r.granted, "id": r.id, "at": r.at},
        f"granted {r.granted} recipients (reservation {r.id})",
    )


def cmd_mail_plan(cli: _Cli) -> None:
    a = cli.args
    plan = cli.service().plan_mail(a.name, a.n, at=cli.now)
    cli.emit(
        [{"at": at, "count": n} for at, n in plan],
        "\n".join(f"{at.isoformat()}  {n}" for at, n in plan) or "nothing to send",
    )


def cmd_backup_window(cli: _Cli) -> None:
    w = cli.service().set_backup_window(cli.args.name, cli.args.window, at=cli.now, actor="cli")
    cli.emit({"window": str(w)}, f"backup window set: {w}")


def cmd_auto_update(cli: _Cli) -> None:
    on = cli.args.state == "on"
    cli.service().set_auto_update(cli.args.name, on, at=cli.now, actor="cli")
    cli.emit({"auto_update": on}, f"auto-update {'on' if on else 'off'}")


def cmd_ftp(cli: _Cli) -> None:
    access = cli.service().switch_ftp_on(cli.args.name, at=cli.now, actor="cli")
    password = cli.ftp_sink.credentials.password
    cli.emit(
        {"ftp": True, "username": access.username, "password": password},
        f"FTP access on\nFTP login: {access.username}\nFTP password (shown once): {password}",
    )


def cmd_forwarding(cli: _Cli) -> None:
    addresses = cli.service().set_forwarding(cli.args.name, cli.args.addresses, at=cli.now, actor="cli")
    cli.emit({"forwarding": list(addresses)}, "forwarding: " + (", ".join(addresses) or "none"))


def cmd_domain(cli: _Cli) -> None:
    req = cli.service().request_own_domain(cli.args.name, cli.args.domain, at=cli.now, actor="cli")
    cli.emit(
        {
            "domain": req.domain.hostname.unicode,
            "status": req.domain.status.value,
            "instructions": req.instructions,
        },
        f"own domain {req.domain.hostname.unicode} pending: {req.instructions}",
    )


def cmd_contacts(cli: _Cli) -> None:
    a = cli.args
    c = cli.service().set_contacts(
        a.name, name=a.contact_name, email=a.email, phone=a.phone, channel=a.channel, at=cli.now, actor="cli"
    )
    phone = "" if c.phone is None else c.phone.e164
    cli.emit(
        {"name": c.name, "email": c.email, "phone": phone, "channel": c.channel.value},
        f"contacts: {c.name}, {c.email}, {phone or '-'}, {c.channel.value}",
    )


def cmd_configuration(cli: _Cli) -> None:
    acc = cli.service().switch_configuration(cli.args.name, cli.args.configuration, at=cli.now, actor="cli")
    cli.emit({"configuration": acc.configuration}, f"configuration: {acc.configuration}")


def cmd_usage(cli: _Cli) -> None:
    a = cli.args
    disk = None if a.disk_mb is None else a.disk_mb * MB
    u = cli.service().record_usage(a.name, users=a.users, disk_bytes=disk, at=cli.now)
    cli.emit({"users": u.users, "disk_bytes": u.disk_bytes}, f"usage: {u.users} users, {u.disk_bytes} bytes")


def cmd_history(cli: _Cli) -> None:
    records = cli.service().history(cli.args.name)
    rows = [{"seq": r.seq, "at": r.at, "kind": r.kind, **r.data} for r in records]
    text = "\n".join(
        f"{r.seq:>4}  {r.at.isoformat()}  {r.kind:<20} {r.data.get('actor', '')}"
        + (f" — {r.data['reason']}" if r.data.get("reason") else "")
        for r in records
    )
    cli.emit(rows, text or "no history")


def cmd_demo(cli: _Cli) -> None:
    from .demo import run_demo

    run_demo(cli.service(), cli.out, locale=cli.locale, at=cli.now, as_json=cli.as_json)


# -- the parser ----------------------------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--db", default=argparse.SUPPRESS, help=f"SQLite file or storage URL (default ./{DEFAULT_DB})"
    )
    common.add_argument(
        "--locale", choices=sorted(LOCALES), default=argparse.SUPPRESS, help="page language (ru)"
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    common.add_argument("--now", default=argparse.SUPPRESS, help="act as of this aware ISO 8601 instant")
    common.add_argument(
        "--catalog", default=argparse.SUPPRESS, help="tariff catalog TOML (default: the sample)"
    )
    common.add_argument(
        "--provider", default=argparse.SUPPRESS, help="provider settings TOML (default: the sample)"
    )

    parser = _Parser(
        prog="cabinet",
        description="The personal account of a hosted application: tariffs, payments, quotas, settings.",
        epilog=EXIT_STATUS_HELP,
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def command(name: str, func: Callable[[_Cli], None], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name, help=help_text, description=help_text, epilog=EXIT_STATUS_HELP, parents=[common]
        )
        p.set_defaults(func=func)
        return p

    command("demo", cmd_demo, "create sample accounts, exercise them, and print the personal account page")
    p = command("open", cmd_open, "open an account")
    p.add_argument("name", help="account name (a DNS label: latin letters, digits, hyphens)")
    p.add_argument("--tariff", required=True)
    p.add_argument("--configuration", required=True)
    p.add_argument("--master-domain", required=True)
    p.add_argument("--referral", help="referral code of the account that recommended this one")
    p.add_argument("--tz", default="Europe/Moscow", help="the account's time zone")
    p = command("show", cmd_show, "print the personal account page")
    p.add_argument("name")
    command("tariffs", cmd_tariffs, "list the tariffs of the catalog")
    p = command("change-tariff", cmd_change_tariff, "preview (or with --yes, make) a tariff change")
    p.add_argument("name")
    p.add_argument("tariff")
    p.add_argument("--yes", action="store_true", help="confirm the change (without it, only a preview)")
    p.add_argument("--reason", default="", help="why, for the history")
    p = command("invoice", cmd_invoice, "issue an invoice to extend the paid term")
    p.add_argument("name")
    p.add_argument("--months", type=_positive, required=True)
    p.add_argument("--tariff", help="invoice another tariff than the current one")
    p.add_argument("--use-bonus", action="store_true", help="apply referral bonus credit")
    p = command(
        "cancel-invoice", cmd_cancel_invoice, "cancel an unpaid invoice (its bonus credit comes back)"
    )
    p.add_argument("name")
    p.add_argument("invoice", type=_positive)
    p = command("pay", cmd_pay, "confirm a payment of an invoice (applied once per payment id)")
    p.add_argument("name")
    p.add_argument("invoice", type=_positive)
    p.add_argument("--payment-id", required=True)
    p.add_argument(
        "--amount",
        help="amount received (default: the invoice total); one that does not match is refused and kept "
        "for review",
    )
    p.add_argument("--method", choices=["bank_transfer", "online"], default="bank_transfer")
    p = command("mail-reserve", cmd_mail_reserve, "reserve mail recipients in the rolling 24-hour window")
    p.add_argument("name")
    p.add_argument("n", type=_positive)
    p.add_argument("--partial", action="store_true", help="take as many as fit now")
    p = command("mail-plan", cmd_mail_plan, "plan a campaign of N recipients in batches")
    p.add_argument("name")
    p.add_argument("n", type=_positive)
    p = command("backup-window", cmd_backup_window, "choose the daily backup window, e.g. 01:00-03:00")
    p.add_argument("name")
    p.add_argument("window")
    p = command("auto-update", cmd_auto_update, "switch the daily automatic update on or off")
    p.add_argument("name")
    p.add_argument("state", choices=["on", "off"])
    p = command("ftp", cmd_ftp, "switch FTP access to backups on (prints new credentials once)")
    p.add_argument("name")
    p = command("forwarding", cmd_forwarding, "set incoming mail forwarding ('' clears it)")
    p.add_argument("name")
    p.add_argument("addresses", help="comma-separated addresses")
    p = command("domain", cmd_domain, "connect an own domain (tariffs with custom_domain)")
    p.add_argument("name")
    p.add_argument("domain")
    p = command("contacts", cmd_contacts, "set contact details and the preferred channel")
    p.add_argument("name")
    p.add_argument("--name", dest="contact_name", required=True, metavar="PERSON")
    p.add_argument("--email", required=True)
    p.add_argument("--phone")
    p.add_argument("--channel", choices=["email", "phone", "messenger"], default="email")
    p = command("configuration", cmd_configuration, "switch the application's edition")
    p.add_argument("name")
    p.add_argument("configuration")
    p = command("usage", cmd_usage, "record the account's usage (users, disk)")
    p.add_argument("name")
    p.add_argument("--users", type=_count)
    p.add_argument("--disk-mb", type=_count)
    p = command("history", cmd_history, "show the account's history")
    p.add_argument("name")
    return parser


_DEFAULTS = {"db": DEFAULT_DB, "locale": "ru", "json": False, "now": None, "catalog": None, "provider": None}


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the command line; returns the exit status (0 done, 1 refused, 2 usage error)."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except UsageError as exc:
        print(str(exc), file=err)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    for key, value in _DEFAULTS.items():
        if not hasattr(args, key):
            setattr(args, key, value)
    cli = _Cli(args, out)
    try:
        args.func(cli)
    except UsageError as exc:
        print(f"cabinet: {exc}", file=err)
        return EXIT_USAGE
    except (ConfigurationError, InvalidType) as exc:
        print(f"cabinet: {_one_line(exc)}", file=err)
        return EXIT_USAGE
    except CabinetError as exc:
        print(f"cabinet: {_one_line(exc)}", file=err)
        return EXIT_REFUSED
    except BrokenPipeError:
        # the reader went away (`cabinet tariffs | head -1`): no traceback; keep Python's exit-time flush
        # of stdout from failing again
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_REFUSED
    finally:
        cli.close()
    return EXIT_OK


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
