"""End to end: the installed ``cabinet`` command, run in a subprocess on a temporary SQLite database.

One demo database is prepared per module and copied for each test. Every run has a fixed, aware ``--now``,
so the output is deterministic except for the random referral code and DNS token, which the golden
comparison masks. ``CABINET_UPDATE_GOLDEN=1`` rewrites tests/golden/ (review the diff before committing).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.e2e

CABINET = Path(sys.executable).parent / "cabinet"
GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("CABINET_UPDATE_GOLDEN") == "1"
DEMO_AT = "2026-11-25T09:00:00+03:00"  # the demo runs at this instant
AT = "2026-11-25T10:00:00+03:00"  # commands after the demo, an hour later
DEMO_PAID_UNTIL = "2026-12-31T22:32:42+00:00"  # acme's term after the demo (see the golden page)
USAGE, REFUSED = 2, 1
# exactly what `cabinet --help` lists; test_every_command_has_a_test keeps this module covering each
COMMANDS = (
    "demo",
    "open",
    "show",
    "tariffs",
    "change-tariff",
    "invoice",
    "cancel-invoice",
    "pay",
    "mail-reserve",
    "mail-plan",
    "backup-window",
    "auto-update",
    "ftp",
    "forwarding",
    "domain",
    "contacts",
    "configuration",
    "usage",
    "history",
)
# the random parts of the demo's output: the referral code in the link, the DNS verification token
_RANDOM = (
    (re.compile(r"(?<=\?ref=)[A-Za-z0-9_-]{8,}"), "<REFERRAL-CODE>"),
    (re.compile(r"(?<=cabinet-verification=)[A-Za-z0-9_-]{16,}"), "<DNS-TOKEN>"),
)
# no locale or encoding of the machine running the tests leaks into the output
_ENV = {**os.environ, "PYTHONUTF8": "1", "PYTHONIOENCODING": "utf-8"}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed command with exactly ``args``."""
    if not CABINET.is_file():
        pytest.fail(f"the cabinet command is not installed next to {sys.executable}; run `pip install -e .`")
    return subprocess.run(  # noqa: S603 - our own installed command, arguments from this file
        [str(CABINET), *args],
        cwd=cwd,
        env=_ENV,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def dump(db: Path) -> list[str]:
    """The database's content as SQL (schema, rows and AUTOINCREMENT counters)."""
    con = sqlite3.connect(db)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def masked(text: str) -> str:
    """``text`` with each random part replaced by a placeholder; each must occur at least once."""
    for pattern, placeholder in _RANDOM:
        text, n = pattern.subn(placeholder, text)
        assert n >= 1, f"no {placeholder} in the output: has its format changed?"
    return text


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a failing command writes on stderr (and it writes nothing on stdout)."""
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stderr.endswith("\n") and lines[0].startswith("cabinet")
    return lines[0]


@dataclass
class Cabinet:
    """The command on one database file; ``--db`` and ``--now`` go first (global options) unless given."""

    db: Path

    @property
    def cwd(self) -> Path:
        return self.db.parent

    def run(self, *args: str, now: str | None = AT) -> subprocess.CompletedProcess[str]:
        first = [] if "--db" in args else ["--db", str(self.db)]
        first += [] if now is None or "--now" in args else ["--now", now]
        return run(*first, *args, cwd=self.cwd)

    def ok(self, *args: str, now: str | None = AT) -> str:
        result = self.run(*args, now=now)
        assert (result.returncode, result.stderr) == (0, ""), result.stderr
        return result.stdout

    def json(self, *args: str, now: str | None = AT) -> Any:
        return json.loads(self.ok(*args, "--json", now=now))

    def page(self, name: str = "acme", *, now: str | None = AT) -> dict[str, Any]:
        page: dict[str, Any] = self.json("show", name, now=now)
        return page

    def history(self, name: str = "acme") -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.json("history", name, now=None)
        return rows

    def refused(self, status: int, *args: str, now: str | None = AT) -> str:
        """Run a command that must fail with ``status``; check it wrote nothing; return its error line."""
        before, files_before = dump(self.db), _files(self.cwd)
        result = self.run(*args, now=now)
        assert result.returncode == status, (result.returncode, result.stderr)
        line = one_error_line(result)
        assert "Traceback" not in result.stderr
        assert dump(self.db) == before
        assert _files(self.cwd) == files_before
        return line


def _files(folder: Path) -> set[str]:
    # SQLite's -wal/-shm side files come and go with connections; they are not content
    return {p.name for p in folder.iterdir() if not p.name.endswith(("-wal", "-shm"))}


@dataclass(frozen=True)
class Demo:
    db: Path
    stdout: str


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Demo]:
    """`cabinet demo` run once per locale on a fresh database, at DEMO_AT."""
    out = {}
    for locale in ("ru", "en"):
        folder = tmp_path_factory.mktemp(f"demo-{locale}")
        db = folder / "c.sqlite3"
        result = run("demo", "--db", str(db), "--now", DEMO_AT, "--locale", locale, cwd=folder)
        assert (result.returncode, result.stderr) == (0, ""), result.stderr
        out[locale] = Demo(db, result.stdout)
    return out


def _copy(db: Path, to: Path) -> Path:
    target = to / "c.sqlite3"
    for suffix in ("", "-wal"):
        if Path(f"{db}{suffix}").exists():
            shutil.copyfile(f"{db}{suffix}", f"{target}{suffix}")
    return target


@pytest.fixture
def cab(demos: dict[str, Demo], tmp_path: Path) -> Cabinet:
    """A private copy of the Russian demo database (accounts acme, premium, and acme-partner, start)."""
    return Cabinet(_copy(demos["ru"].db, tmp_path))


@pytest.fixture
def empty(tmp_path: Path) -> Cabinet:
    """A folder with no database yet."""
    return Cabinet(tmp_path / "c.sqlite3")


# -- the command as a whole --------------------------------------------------------------------------------


def test_help_lists_exactly_the_known_commands(tmp_path: Path) -> None:
    """`cabinet --help` lists the commands this module tests, documents the exit codes, and exits 0."""
    result = run("--help", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    listed = re.findall(r"^ {4}(\S+)", result.stdout, re.M)
    assert tuple(listed) == COMMANDS
    assert re.search(r"Exit status: 0 done, 1 refused .*2 usage error", " ".join(result.stdout.split()))


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command(command: str, tmp_path: Path) -> None:
    """`cabinet COMMAND --help` shows that command's usage and the exit codes, exits 0, and writes nothing."""
    result = run(command, "--help", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith(f"usage: cabinet {command} ")
    assert "Exit status: 0 done, 1 refused" in " ".join(result.stdout.split())
    assert list(tmp_path.iterdir()) == []


def test_every_command_has_a_test() -> None:
    """Each command listed by `cabinet --help` has at least one test_command_<name> test here."""
    names = [n for n in globals() if n.startswith("test_command_")]
    for command in COMMANDS:
        prefix = "test_command_" + command.replace("-", "_")
        assert any(n == prefix or n.startswith(prefix + "_") for n in names), command


def test_global_options_before_or_after_the_command(cab: Cabinet) -> None:
    """--db, --locale, --json and --now mean the same before the command as after it."""
    after = cab.ok("show", "acme", "--locale", "en", "--json")
    before = run("--db", str(cab.db), "--locale", "en", "--json", "--now", AT, "show", "acme", cwd=cab.cwd)
    assert (before.returncode, before.stderr, before.stdout) == (0, "", after)


# -- demo --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_command_demo_output_matches_golden(demos: dict[str, Demo], locale: str) -> None:
    """`cabinet demo` prints its steps and the page exactly as reviewed (random parts masked)."""
    golden = GOLDEN / f"demo_{locale}.txt"
    text = masked(demos[locale].stdout)
    if UPDATE_GOLDEN:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
        pytest.skip(f"rewrote {golden}; review the diff")
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_command_demo_page_is_what_show_prints(demos: dict[str, Demo], locale: str, tmp_path: Path) -> None:
    """The page the demo ends with is the page `cabinet show` prints for that account at that instant."""
    cab = Cabinet(_copy(demos[locale].db, tmp_path))
    page = demos[locale].stdout.split("\n\n", 1)[1]
    assert cab.ok("show", "acme", "--locale", locale, now=DEMO_AT) == page


def test_command_demo_json_again_opens_a_new_account(cab: Cabinet) -> None:
    """A second `demo --json` on the same database uses a free name and gives steps and the page as JSON."""
    out = cab.json("demo", now=DEMO_AT)
    assert out["page"]["name"] == "acme-2"
    assert out["steps"][0] == "открыт аккаунт acme-2 на тарифе business (конфигурация trade)"
    assert out["page"] == cab.page("acme-2", now=DEMO_AT)
    assert cab.page("acme", now=DEMO_AT)["paid_until"] == DEMO_PAID_UNTIL


# -- read commands -----------------------------------------------------------------------------------------


def test_command_show_json_agrees_with_the_page(cab: Cabinet) -> None:
    """`show --json` holds the figures the Russian page shows, and reading writes nothing."""
    before = dump(cab.db)
    page = cab.page()
    text = cab.ok("show", "acme")
    assert dump(cab.db) == before
    assert (page["tariff_code"], page["status"], page["days_left"]) == ("premium", "active", 37)
    assert page["monthly_price"] == {"amount": "4990.00", "currency": "RUB"}
    assert page["paid_until"] == DEMO_PAID_UNTIL
    assert (page["users"], page["mail_24h"]) == ({"used": 6, "limit": 50}, {"used": 3200, "limit": 50000})
    assert page["forwarding"] == ["boss@acme.example.ru", "it@acme.example.ru"]
    assert page["domains"]["own_domain"] == "shop.acme.ru"
    assert page["referral"]["link"] in text
    assert "Тарифный план: Премиум [Ru] — 4\xa0990,00\xa0₽ в месяц" in text
    assert "1 января 2027, 01:32 по МСК (активен, осталось 37 дней)" in text
    assert "Создано пользователей: 6 пользователей из 50  [██░░" in text


@pytest.mark.parametrize(
    ("now", "status", "ru", "en"),
    [
        (
            "2026-12-28T09:00:00+03:00",
            "ending_soon",
            "скоро заканчивается, осталось 4 дня",
            "ending soon, 4 days left",
        ),
        (
            "2026-12-31T09:00:00+03:00",
            "ending_soon",
            "скоро заканчивается, осталось 1 день",
            "ending soon, 1 day left",
        ),
        ("2027-01-02T09:00:00+03:00", "expired", "срок истёк", "expired"),
    ],
)
def test_command_show_status_as_the_term_runs_out(
    cab: Cabinet, now: str, status: str, ru: str, en: str
) -> None:
    """The page says ending soon (with the days left, in the right plural) and then expired."""
    assert cab.page(now=now)["status"] == status
    assert f"1 января 2027, 01:32 по МСК ({ru})\n" in cab.ok("show", "acme", now=now)
    assert f"1 January 2027, 01:32 Moscow time ({en})\n" in cab.ok("show", "acme", "--locale", "en", now=now)


def test_command_show_update_available(cab: Cabinet) -> None:
    """With a newer revision in --provider settings, the page offers the update, in both languages."""
    sample = files("cabinet_core").joinpath("data", "sample_provider.toml").read_text(encoding="utf-8")
    assert "latest_revision = 17\n" in sample
    provider = cab.cwd / "provider.toml"
    provider.write_text(sample.replace("latest_revision = 17\n", "latest_revision = 18\n"), encoding="utf-8")
    version = cab.json("show", "acme", "--provider", str(provider))["version"]
    assert version == {
        "version": "3.0.2",
        "revision": 17,
        "latest_version": "3.0.2",
        "latest_revision": 18,
        "update_available": True,
    }
    ru = cab.ok("show", "acme", "--provider", str(provider))
    en = cab.ok("show", "acme", "--provider", str(provider), "--locale", "en")
    assert "Обновление: версия 3.0.2, ревизия 17 — доступно обновление: 3.0.2, ревизия 18\n" in ru
    assert "Update: version 3.0.2, revision 17 — update available: 3.0.2, revision 18\n" in en


def test_command_tariffs_json_and_text(empty: Cabinet) -> None:
    """`tariffs` lists the sample catalog (JSON parsed back; prices in both languages) without a database."""
    rows = empty.json("tariffs", now=None)
    assert [r["code"] for r in rows] == ["free", "start", "business", "premium", "business-eu"]
    business = rows[2]
    assert business["monthly_price"] == {"amount": "1990.00", "currency": "RUB"}
    assert (business["users"], business["disk_mb"], business["mail_per_24h"]) == (10, 2000, 10000)
    assert [r["code"] for r in rows if r["ru_mark"]] == ["free", "start", "business", "premium"]
    assert "Бизнес [Ru] — 1\xa0990,00\xa0₽; users 10" in empty.ok("tariffs", now=None)
    assert "Business EU — RUB\xa02,490.00; users 10" in empty.ok("tariffs", "--locale", "en", now=None)
    assert list(empty.cwd.iterdir()) == []
    assert not any(r["retired"] for r in rows)
    text = (files("cabinet_core") / "data" / "sample_catalog.toml").read_text(encoding="utf-8")
    catalog = empty.cwd.parent / "retired.toml"
    catalog.write_text(text.replace('code = "start"', 'code = "start"\nretired = true', 1), encoding="utf-8")
    retired = empty.json("tariffs", "--catalog", str(catalog), now=None)
    assert [r["code"] for r in retired if r["retired"]] == ["start"]
    assert "retired: no longer offered" in empty.ok("tariffs", "--catalog", str(catalog), now=None)


def test_command_history_json_and_text(cab: Cabinet) -> None:
    """`history` gives the account's records oldest first, the same in text and JSON, and writes nothing."""
    before = dump(cab.db)
    rows = cab.history()
    text = cab.ok("history", "acme", now=None)
    assert dump(cab.db) == before
    kinds = [r["kind"] for r in rows]
    assert kinds[0] == "opened" and kinds[-2:] == ["tariff_change", "own_domain"]
    assert {"contacts", "invoice_issued", "payment", "forwarding", "backup_window"} <= set(kinds)
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)
    assert len(text.splitlines()) == len(rows)
    assert all(f"{r['seq']:>4}  {r['at']}  {r['kind']}" in text for r in rows)


def test_command_mail_plan_is_a_plan_only(cab: Cabinet) -> None:
    """`mail-plan N` splits N into batches that fit the rolling window, from now on, and reserves nothing."""
    before = dump(cab.db)
    plan = cab.json("mail-plan", "acme", "100000")
    assert dump(cab.db) == before
    assert sum(batch["count"] for batch in plan) == 100_000
    assert all(batch["at"] >= "2026-11-25T07:00:00+00:00" for batch in plan)
    assert cab.page()["mail_24h"]["used"] == 3200
    assert cab.ok("mail-plan", "acme", "10").startswith("2026-11-25T07:00:00+00:00  10\n")


# -- write commands, each checked through show --json or history --json -------------------------------------


def test_command_open_with_referral_and_zone(cab: Cabinet) -> None:
    """`open` sets the tariff, zone and master domain; the new account's payments reward its referrer."""
    code = cab.page()["referral"]["code"]
    opened = cab.json(
        "open", "newco", "--tariff", "business", "--configuration", "accounting",
        "--master-domain", "biz.example", "--referral", code, "--tz", "Asia/Yekaterinburg",
    )  # fmt: skip
    assert opened["account"] == "newco" and opened["referral_code"] != code
    page = cab.page("newco")
    assert (page["tariff_code"], page["configuration_code"], page["tz"]) == (
        "business",
        "accounting",
        "Asia/Yekaterinburg",
    )
    assert page["domains"]["system_domain"] == "newco.biz.example"
    assert page["status"] == "expired"  # a paid tariff runs from the first payment
    assert "25 ноября 2026, 12:00 (Екатеринбург) (срок истёк)" in cab.ok("show", "newco")
    assert [r["kind"] for r in cab.history("newco")] == ["opened"]
    referral = cab.page()["referral"]
    assert (referral["referred_accounts"], referral["bonus_credit"]["amount"]) == (1, "1009.80")
    for payment in ("bank-1", "bank-2"):  # two payments of the one referred account: one account, two rewards
        number = str(cab.json("invoice", "newco", "--months", "1")["number"])
        cab.ok("pay", "newco", number, "--payment-id", payment)
    referral = cab.page()["referral"]
    assert (referral["referred_accounts"], referral["bonus_credit"]["amount"]) == (2, "1407.80")
    assert "; 2 аккаунта; бонусы: 1\xa0407,80\xa0₽\n" in cab.ok("show", "acme")


def test_command_open_creates_the_database(empty: Cabinet) -> None:
    """`open` on a missing database file creates it; the account is then there."""
    empty.ok(
        "open", "solo", "--tariff", "free", "--configuration", "trade", "--master-domain", "cabinet.example"
    )
    page = empty.page("solo")
    assert (page["status"], page["paid_until"]) == ("free", None)
    assert "Истекает срок пользования: бессрочно (бесплатный тариф)\n" in empty.ok("show", "solo")


def test_command_change_tariff_preview_then_confirm(cab: Cabinet) -> None:
    """A preview names the new paid-until and writes nothing; --yes makes exactly that change."""
    before = dump(cab.db)
    preview = cab.json("change-tariff", "acme", "business")
    text = cab.ok("change-tariff", "acme", "business")
    assert dump(cab.db) == before
    assert preview["preview"] is True
    assert (preview["tariff_before"], preview["tariff_after"]) == ("premium", "business")
    assert preview["paid_until_before"] == DEMO_PAID_UNTIL
    assert preview["paid_until_after"] > DEMO_PAID_UNTIL  # the cheaper tariff lengthens the term
    assert preview["loses_features"] == ["custom_domain"]
    assert f"new paid-until {preview['paid_until_after']}" in text and "nothing changed" in text

    done = cab.json("change-tariff", "acme", "business", "--yes", "--reason", "cheaper")
    assert done == {**preview, "preview": False}
    page = cab.page()
    assert (page["tariff_code"], page["paid_until"]) == ("business", preview["paid_until_after"])
    last = cab.history()[-1]
    assert (last["kind"], last["actor"], last["reason"]) == ("tariff_change", "cli", "cheaper")


def test_command_invoice_with_prepayment_discount(cab: Cabinet) -> None:
    """`invoice --months 3` bills three months less 5 %, and issuing alone does not extend the term."""
    inv = cab.json("invoice", "acme", "--months", "3")
    assert (inv["account"], inv["tariff"], inv["months"]) == ("acme", "premium", 3)
    assert Decimal(inv["total"]["amount"]) == Decimal("4990") * 3 * Decimal("0.95")
    assert sum(Decimal(ln["amount"]["amount"]) for ln in inv["lines"]) == Decimal(inv["total"]["amount"])
    assert cab.page()["paid_until"] == DEMO_PAID_UNTIL
    assert cab.history()[-1]["kind"] == "invoice_issued"
    text = cab.ok("invoice", "acme", "--months", "1", "--locale", "en")
    assert text.endswith("  total: RUB\xa04,990.00\n")


def test_command_pay_applies_once_per_payment_id(cab: Cabinet) -> None:
    """`pay` extends the term by the invoice's month; the same payment id again changes nothing."""
    number = str(cab.json("invoice", "acme", "--months", "1")["number"])
    paid = cab.json("pay", "acme", number, "--payment-id", "bank-1")
    assert paid == {"applied": True, "paid_until": "2027-01-31T22:32:42+00:00", "invoice": int(number)}
    assert cab.page()["paid_until"] == paid["paid_until"]
    before = dump(cab.db)
    again = cab.json("pay", "acme", number, "--payment-id", "bank-1")
    assert again == {**paid, "applied": False}
    assert dump(cab.db) == before
    payments = [r for r in cab.history() if r["kind"] == "payment"]
    assert [r["reason"] for r in payments] == ["payment demo-acme-1", "payment bank-1"]


def test_command_cancel_invoice(cab: Cabinet) -> None:
    """`cancel-invoice` cancels an unpaid invoice; paying it later is refused; so is cancelling a paid one."""
    number = str(cab.json("invoice", "acme", "--months", "1")["number"])
    assert cab.json("cancel-invoice", "acme", number) == {
        "cancelled": int(number),
        "bonus_restored": {"amount": "0.00", "currency": "RUB"},
    }
    assert cab.history()[-1]["kind"] == "invoice_cancelled"
    late = cab.run("pay", "acme", number, "--payment-id", "bank-late")
    assert late.returncode == REFUSED
    assert "cancelled" in one_error_line(late)
    assert cab.page()["paid_until"] == DEMO_PAID_UNTIL
    before = dump(cab.db)
    paid = cab.run("cancel-invoice", "acme", "1")  # the demo's paid invoice
    assert paid.returncode == REFUSED
    assert "is paid" in one_error_line(paid)
    assert dump(cab.db) == before


def test_command_pay_wrong_amount_is_refused_and_kept_for_review(cab: Cabinet) -> None:
    """A payment that does not match its invoice exits 1 and is only recorded for review (the one write)."""
    number = str(cab.json("invoice", "acme", "--months", "1")["number"])
    before = dump(cab.db)
    result = cab.run("pay", "acme", number, "--payment-id", "bank-2", "--amount", "5")
    assert result.returncode == REFUSED
    assert "does not match invoice" in one_error_line(result)
    after = dump(cab.db)
    added = set(after) - set(before)
    assert set(before) <= set(after)
    assert all("rejected_payments" in line for line in added) and any("bank-2" in line for line in added)
    assert cab.page()["paid_until"] == DEMO_PAID_UNTIL


def test_command_mail_reserve_counts_in_the_window(cab: Cabinet) -> None:
    """`mail-reserve` adds to the 24-hour count; --partial takes what still fits."""
    assert cab.json("mail-reserve", "acme", "800")["granted"] == 800
    assert cab.page()["mail_24h"]["used"] == 4000
    assert cab.json("mail-reserve", "acme", "100000", "--partial")["granted"] == 46_000
    assert cab.page()["mail_24h"]["used"] == 50_000


def test_command_backup_window_offered(cab: Cabinet) -> None:
    """`backup-window` sets one of the offered windows, also one across midnight."""
    assert cab.json("backup-window", "acme", "23:30-01:30") == {"window": "23:30–01:30 (Europe/Moscow)"}
    backup = cab.page()["backup"]
    assert (backup["window_start"], backup["window_end"]) == ("23:30", "01:30")
    assert backup["next_start"] == "2026-11-25T20:30:00+00:00"
    assert cab.history()[-1]["kind"] == "backup_window"


def test_command_auto_update_off_and_on(cab: Cabinet) -> None:
    """`auto-update off` and `on` switch the daily update, as the page shows."""
    cab.ok("auto-update", "acme", "off")
    assert cab.page()["backup"]["auto_update"] is False
    assert "Автообновление: Нет\n" in cab.ok("show", "acme")
    assert cab.json("auto-update", "acme", "on") == {"auto_update": True}
    assert cab.page()["backup"]["auto_update"] is True


def test_command_ftp_shows_the_password_once_and_keeps_only_a_hash(cab: Cabinet) -> None:
    """`ftp` switches access on and prints fresh credentials, which the database never holds in clear."""
    out = cab.json("ftp", "acme")
    assert (out["ftp"], out["username"]) == (True, "acme") and len(out["password"]) >= 16
    assert cab.page()["backup"]["ftp_enabled"] is True
    assert not any(out["password"] in line for line in dump(cab.db))
    text = cab.ok("ftp", "acme")
    password = re.search(r"^FTP password \(shown once\): (\S+)$", text, re.M)
    assert password and password.group(1) != out["password"]
    assert [r["kind"] for r in cab.history()][-2:] == ["ftp_access", "ftp_access"]


def test_command_forwarding_set_and_clear(cab: Cabinet) -> None:
    """`forwarding` takes a pasted list (duplicates dropped) and '' clears it."""
    out = cab.json("forwarding", "acme", "ops@x.ru;\nops@X.RU,  c@y.ru,")
    assert out == {"forwarding": ["ops@x.ru", "c@y.ru"]}
    assert cab.page()["forwarding"] == ["ops@x.ru", "c@y.ru"]
    assert cab.ok("forwarding", "acme", "") == "forwarding: none\n"
    assert cab.page()["forwarding"] == []
    assert "Пересылка входящих: нет\n" in cab.ok("show", "acme")


def test_command_domain_request(cab: Cabinet) -> None:
    """`domain` asks for an own domain on a tariff that has it; the page shows it pending."""
    out = cab.json("domain", "acme", "www.acme.ru")
    assert (out["domain"], out["status"]) == ("www.acme.ru", "pending")
    assert "_cabinet-verification.www.acme.ru" in out["instructions"]
    domains = cab.page()["domains"]
    assert (domains["own_domain"], domains["own_domain_status"]) == ("www.acme.ru", "pending")
    assert "Own domain: www.acme.ru (awaiting DNS verification)\n" in cab.ok("show", "acme", "--locale", "en")


def test_command_contacts(cab: Cabinet) -> None:
    """`contacts` stores the person, address, phone (normalised) and channel."""
    cab.ok("contacts", "acme", "--name", "Ольга", "--email", "olga@acme.ru", "--phone", "+7 916 000-11-22",
           "--channel", "messenger")  # fmt: skip
    contacts = cab.page()["contacts"]
    assert contacts == {
        "name": "Ольга",
        "email": "olga@acme.ru",
        "phone_e164": "+79160001122",
        "phone_national": "8 (916) 000-11-22",
        "channel": "messenger",
    }
    assert "способ связи: мессенджер" in cab.ok("show", "acme")


def test_command_configuration_switch(cab: Cabinet) -> None:
    """`configuration` switches the edition the account runs."""
    assert cab.json("configuration", "acme", "accounting") == {"configuration": "accounting"}
    page = cab.page()
    assert (page["configuration_code"], page["configuration_title"]) == (
        "accounting",
        "Бухгалтерия предприятия",
    )


def test_command_usage_and_plural_forms(cab: Cabinet) -> None:
    """`usage` records users and disk; the page writes the count in the plural form each language needs."""
    cab.ok("usage", "acme", "--users", "21", "--disk-mb", "300")
    page = cab.page()
    assert (page["users"]["used"], page["disk_bytes"]["used"]) == (21, 300 * 1_048_576)
    assert "Использовано места, Мб: 300 из 20\xa0000  [" in cab.ok("show", "acme")
    ru = {1: "1 пользователь", 3: "3 пользователя", 5: "5 пользователей", 21: "21 пользователь"}
    en = {1: "1 user", 5: "5 users"}
    for users, words in ru.items():
        cab.ok("usage", "acme", "--users", str(users))
        assert f"Создано пользователей: {words} из 50  [" in cab.ok("show", "acme")
        if users in en:
            assert f"Users created: {en[users]} of 50  [" in cab.ok("show", "acme", "--locale", "en")


# -- bad input: the documented status, one line on stderr, nothing written ---------------------------------

_ELEVEN = shlex.quote(", ".join(f"u{i}@acme.ru" for i in range(11)))
_OPEN = "--configuration trade --master-domain cabinet.example"
# (id, exit status, what the one error line must say, the command line after `cabinet`)
_BAD_INPUT = [
    ("tariff-change", REFUSED, "unknown tariff 'gold'", "change-tariff acme gold --yes"),
    ("tariff-preview", REFUSED, "unknown tariff 'gold'", "change-tariff acme gold"),
    ("tariff-invoice", REFUSED, "unknown tariff 'gold'", "invoice acme --months 1 --tariff gold"),
    ("tariff-open", REFUSED, "unknown tariff 'gold'", f"open newco --tariff gold {_OPEN}"),
    ("downgrade", REFUSED, "users 6 > 3", "change-tariff acme start --yes"),
    ("window-hour", REFUSED, "'25:00-03:00' is not a backup window", "backup-window acme 25:00-03:00"),
    ("window-words", REFUSED, "'at night' is not a backup window", "backup-window acme 'at night'"),
    ("window-offer", REFUSED, "02:00–04:00 (Europe/Moscow) is not offered", "backup-window acme 02:00-04:00"),
    ("forwarding-address", REFUSED, "'not an email'", "forwarding acme 'boss@acme.ru, not an email'"),
    ("forwarding-no-domain", REFUSED, "'x@'", "forwarding acme 'boss@acme.ru, x@'"),
    ("forwarding-too-many", REFUSED, "at most 10", f"forwarding acme {_ELEVEN}"),
    ("naive-now-read", USAGE, "has no time zone", "show acme --now 2026-11-25T10:00:00"),
    ("naive-now-write", USAGE, "has no time zone", "forwarding acme a@b.ru --now 2026-11-25T10:00"),
    ("now-malformed", USAGE, "'tomorrow' is not an ISO 8601 instant", "mail-reserve acme 5 --now tomorrow"),
    ("account-show", REFUSED, "no account has the id 'ghost'", "show ghost"),
    ("account-write", REFUSED, "no account has the id 'ghost'", "forwarding ghost a@b.ru"),
    ("account-history", REFUSED, "no account has the id 'ghost'", "history ghost"),
    ("invoice-unknown", REFUSED, "no invoice has the number 99", "pay acme 99 --payment-id p"),
    ("invoice-of-another", REFUSED, "belongs to 'acme-partner'", "pay acme 2 --payment-id p"),
    ("amount-malformed", REFUSED, "'lots'", "pay acme 1 --payment-id p --amount lots"),
    ("open-existing", REFUSED, "'acme' already exists", f"open acme --tariff start {_OPEN}"),
    ("open-bad-name", REFUSED, "'Bad_Name'", f"open Bad_Name --tariff start {_OPEN}"),
    ("open-bad-zone", REFUSED, "'Mars/Base'", f"open newco --tariff start {_OPEN} --tz Mars/Base"),
    ("mail-quota", REFUSED, "100,000 recipients requested", "mail-reserve acme 100000"),
    ("domain-tariff", REFUSED, "own domain is not included", "domain acme-partner shop.partner.ru"),
    ("contacts-email", REFUSED, "'nobody'", "contacts acme --name X --email nobody"),
    ("configuration-unknown", REFUSED, "unknown configuration 'erp'", "configuration acme erp"),
    ("locale-unknown", USAGE, "invalid choice: 'de'", "show acme --locale de"),
    ("db-scheme", USAGE, "'mysql://u:***@db.example/cab' is not supported", "show acme --db mysql://u:s3cret@db.example/cab"),
    ("db-sqlite-host", USAGE, "an SQLite URL has no host", "show acme --db sqlite://host/c.sqlite3"),
    ("db-missing", USAGE, "no database at missing.sqlite3", "show acme --db missing.sqlite3"),
    ("db-missing-folder", USAGE, "no database at nowhere/c.sqlite3", "show acme --db nowhere/c.sqlite3"),
    ("catalog-missing", USAGE, "'none.toml'", "tariffs --catalog none.toml"),
    ("command-unknown", USAGE, "invalid choice: 'frobnicate'", "frobnicate"),
    ("argument-missing", USAGE, "required: name", "show"),
    ("months-zero", USAGE, "must be at least 1, got 0", "invoice acme --months 0"),
    ("choice-invalid", USAGE, "invalid choice: 'maybe'", "auto-update acme maybe"),
]  # fmt: skip


@pytest.mark.parametrize(("status", "says", "command"), [pytest.param(*c[1:], id=c[0]) for c in _BAD_INPUT])
def test_bad_input_is_refused_and_writes_nothing(cab: Cabinet, status: int, says: str, command: str) -> None:
    """Bad input exits 1 (refused) or 2 (usage), says what was wrong in one line, and changes nothing."""
    line = cab.refused(status, *shlex.split(command))
    assert says in line
    assert "s3cret" not in line


def test_bad_input_on_a_missing_database_creates_no_file(empty: Cabinet) -> None:
    """A read or write command on a database that does not exist exits 2 and creates no file."""
    for args in (["show", "acme"], ["forwarding", "acme", "a@b.ru"], ["history", "acme"]):
        result = empty.run(*args)
        assert result.returncode == USAGE
        assert "no database at" in one_error_line(result)
    assert list(empty.cwd.iterdir()) == []


_PRINTABLE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@pytest.fixture(scope="module")
def shared(demos: dict[str, Demo], tmp_path_factory: pytest.TempPathFactory) -> Cabinet:
    """One copy of the demo database for the property tests, which must leave it unchanged anyway."""
    return Cabinet(_copy(demos["ru"].db, tmp_path_factory.mktemp("shared")))


@settings(max_examples=8, deadline=None)
@given(text=_PRINTABLE.filter(lambda s: not re.fullmatch(r"\s*(?:01:00|03:00|23:30)\s*[-–]\s*\S+\s*", s)))
def test_property_any_backup_window_text_is_refused_cleanly(shared: Cabinet, text: str) -> None:
    """Whatever text is given as a backup window that is not offered, the command refuses it in one line."""
    line = shared.refused(REFUSED, "backup-window", "acme", "--", text)
    assert "backup window" in line


@settings(max_examples=8, deadline=None)
@given(text=_PRINTABLE.filter(lambda s: "@" not in s and s.replace(",", " ").replace(";", " ").split()))
def test_property_any_forwarding_text_without_addresses_is_refused_cleanly(
    shared: Cabinet, text: str
) -> None:
    """A forwarding list with no address in it (any text without '@') is refused in one line, unchanged."""
    line = shared.refused(REFUSED, "forwarding", "acme", "--", text)
    assert "forwarding not changed" in line


@pytest.mark.postgresql
def test_command_demo_on_postgresql_gives_the_same_page(postgres_dsn: str, tmp_path: Path) -> None:
    """On a postgresql:// DSN the demo prints the golden page, and a refused command changes nothing there."""
    result = run("demo", "--db", postgres_dsn, "--now", DEMO_AT, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert masked(result.stdout) == (GOLDEN / "demo_ru.txt").read_text(encoding="utf-8")
    pg = Cabinet(tmp_path / "unused.sqlite3")
    before = (pg.ok("show", "acme", "--db", postgres_dsn), pg.ok("history", "acme", "--db", postgres_dsn))
    refused = pg.run("change-tariff", "acme", "start", "--yes", "--db", postgres_dsn)
    assert refused.returncode == REFUSED and "users 6 > 3" in one_error_line(refused)
    after = (pg.ok("show", "acme", "--db", postgres_dsn), pg.ok("history", "acme", "--db", postgres_dsn))
    assert after == before
    assert list(tmp_path.iterdir()) == []
