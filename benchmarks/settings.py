"""Settings parsing against the bare peer libraries it wraps: what the rules cost on top of them.

Run: .venv/bin/python benchmarks/settings.py            (add --items / --repeat / --seed to vary)

The same seeded inputs go through cabinet_core and through the bare peer call in one run:

- forwarding: a pasted list of 10 addresses (mixed case, IDN, punycode, duplicates, mixed separators) through
  ``parse_forwarding`` against splitting on commas and calling ``email_validator.validate_email`` per entry;
- host names: ``Hostname(name)`` against ``idna.encode(name, uts46=True)``;
- phones: ``Phone.parse(text)`` against ``phonenumbers.parse`` + ``is_valid_number`` + E.164 formatting.

Each figure is the median over --repeat runs of the per-item time in microseconds; the ratio is
cabinet_core / peer (1.00 = no overhead).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
from collections.abc import Callable, Sequence

import idna
import phonenumbers
from email_validator import validate_email

from cabinet_core import Hostname, Phone, parse_forwarding

_DOMAINS = ["x.ru", "Example.COM", "пример.рф", "XN--E1AFMKFD.XN--P1AI", "mail.example.org", "münchen.de"]
_SEPS = [",", ", ", ";", "\n", " , "]


def forwarding_lists(n: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        entries = [f"user{rng.randrange(8)}@{rng.choice(_DOMAINS)}" for _ in range(10)]
        text = entries[0]
        for entry in entries[1:]:
            text += rng.choice(_SEPS) + entry
        out.append(text)
    return out


def hostnames(n: int, rng: random.Random) -> list[str]:
    labels = ["shop", "пример", "crm", "москва", "a-b", "xn--e1afmkfd", "Example"]
    return [
        ".".join([*rng.choices(labels, k=rng.randint(1, 3)), rng.choice(["ru", "рф", "com"])])
        for _ in range(n)
    ]


def phones(n: int, rng: random.Random) -> list[str]:
    forms = ["8 (9{a}) {b}-{c}-{d}", "+7 9{a} {b} {c} {d}", "89{a}{b}{c}{d}"]
    return [
        rng.choice(forms).format(
            a=f"{rng.randrange(10, 100)}",
            b=f"{rng.randrange(100, 1000)}",
            c=f"{rng.randrange(10, 100)}",
            d=f"{rng.randrange(10, 100)}",
        )
        for _ in range(n)
    ]


_SPLIT = re.compile(r"[,;\n]")


def peer_forwarding(text: str) -> tuple[str, ...]:
    return tuple(
        validate_email(part.strip(), check_deliverability=False).normalized
        for part in _SPLIT.split(text)
        if part.strip()
    )


def peer_hostname(name: str) -> bytes:
    return bytes(idna.encode(name, uts46=True))


def peer_phone(text: str) -> str:
    number = phonenumbers.parse(text, "RU")
    assert phonenumbers.is_valid_number(number)
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def per_item_us(fn: Callable[[str], object], items: Sequence[str], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for item in items:
            fn(item)
        runs.append((time.perf_counter() - start) / len(items) * 1e6)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    own = "acme@mail.example"
    cases: list[tuple[str, Callable[[str], object], Callable[[str], object], list[str]]] = [
        (
            "forwarding list of 10",
            lambda t: parse_forwarding(t, own_mailbox=own),
            peer_forwarding,
            forwarding_lists(args.items // 10, rng),
        ),
        ("host name", Hostname, peer_hostname, hostnames(args.items, rng)),
        ("phone", Phone.parse, peer_phone, phones(args.items, rng)),
    ]
    print(f"items={args.items} repeat={args.repeat} seed={args.seed}; median microseconds per item")
    print(f"| {'input':<22} | {'cabinet_core':>12} | {'peer (bare)':>12} | {'ratio':>6} |")
    print(f"|{'-' * 24}|{'-' * 13}:|{'-' * 13}:|{'-' * 7}:|")
    for name, ours, peer, items in cases:
        for item in items[:50]:  # warm caches (idna tables, phone metadata) outside the timing
            ours(item)
            peer(item)
        a = per_item_us(ours, items, args.repeat)
        b = per_item_us(peer, items, args.repeat)
        print(f"| {name:<22} | {a:>12.1f} | {b:>12.1f} | {a / b:>6.2f} |")


if __name__ == "__main__":
    main()
