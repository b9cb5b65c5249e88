"""Build the labelled PII test set tests/data/pii/pii_testset.jsonl.gz (synthetic, realistic).

Each line is `{"id", "text", "spans": [[start, end, kind], ...]}`: sentences in the style of web
pages, forum posts, logs and code comments, with true positives of every kind and hard negatives
that look like them (version strings, dates, times, ISBNs, UUIDs, MAC addresses, OIDs, hashes,
Luhn-invalid card numbers, IBANs with a wrong checksum, SSNs from never-issued ranges, code).
Values are generated here, with their own validity arithmetic (Luhn check digits, IBAN mod-97
check digits, SSN ranges, IP ranges), independent of the tagger's code; phone numbers are
varied from libphonenumber's example numbers and kept when libphonenumber calls them valid.
Deterministic: a fixed seed gives the same bytes.

    python scripts/build_pii_testset.py
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import string
import uuid
from collections.abc import Callable
from pathlib import Path

import phonenumbers

SEED = 13616
PER_KIND = 60
NEGATIVES = 240
ROOT = Path(__file__).resolve().parent.parent

FIRST = ["anna", "ben", "carla", "dmitri", "emma", "farid", "grace", "hiro", "ines", "jon"]
LAST = ["smith", "mueller", "rossi", "garcia", "tanaka", "novak", "okafor", "lee", "dubois"]
DOMAINS = [
    "example.com",
    "mail.example.org",
    "uni-heidelberg.de",
    "company.co.uk",
    "gmx.net",
    "posteo.de",
    "example.io",
    "dept.state.gov",
    "ex-ample.fr",
]


def email(rng: random.Random) -> str:
    sep = rng.choice([".", "_", "-", "", "+news."])
    number = rng.randint(0, 99) if rng.random() < 0.3 else ""
    return f"{rng.choice(FIRST)}{sep}{rng.choice(LAST)}{number}@{rng.choice(DOMAINS)}"


def luhn_check_digit(body: str) -> str:
    """Return the digit that makes body+digit pass Luhn (computed from the definition)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


CARD_PREFIXES = [
    ("4", 16),
    ("4", 13),
    ("51", 16),
    ("55", 16),
    ("2221", 16),
    ("34", 15),
    ("37", 15),
    ("6011", 16),
    ("65", 16),
    ("3530", 16),
    ("36", 14),
    ("62", 16),
]


def card_digits(rng: random.Random) -> str:
    prefix, length = rng.choice(CARD_PREFIXES)
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return body + luhn_check_digit(body)


def group(digits: str, sizes: list[int], sep: str) -> str:
    parts, i = [], 0
    for size in sizes:
        parts.append(digits[i : i + size])
        i += size
    if i < len(digits):
        parts.append(digits[i:])
    return sep.join(p for p in parts if p)


def card(rng: random.Random) -> str:
    digits = card_digits(rng)
    sep = rng.choice([" ", "-", ""])
    sizes = [4, 6, 5] if len(digits) == 15 else [4, 6, 4] if len(digits) == 14 else [4, 4, 4, 4]
    return group(digits, sizes, sep) if sep else digits


IBAN_FORMATS = {  # country: BBAN length (digits only, for simplicity of generation)
    "DE": 18,
    "FR": 23,
    "ES": 20,
    "IT": 23,
    "NL": 14,
    "BE": 12,
    "AT": 16,
    "CH": 17,
    "PL": 24,
    "GB": 18,
}


def iban_check_digits(country: str, bban: str) -> str:
    """ISO 13616: move country+'00' to the end, letters to 10..35, 98 - (number mod 97)."""
    rearranged = bban + country + "00"
    number = "".join(str(int(c, 36)) for c in rearranged)
    return f"{98 - int(number) % 97:02d}"


def iban_parts(rng: random.Random) -> tuple[str, str]:
    country = rng.choice(sorted(IBAN_FORMATS))
    length = IBAN_FORMATS[country]
    if country == "GB":  # GB: 4 letters (bank) + 14 digits
        bban = "".join(rng.choice("ABCDEFGHJKLMNPRSTWXY") for _ in range(4))
        bban += "".join(rng.choice(string.digits) for _ in range(14))
    elif country == "NL":  # NL: 4 letters + 10 digits
        bban = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(4))
        bban += "".join(rng.choice(string.digits) for _ in range(10))
    elif country == "IT":  # IT: 1 letter (CIN) + 22 digits
        bban = rng.choice(string.ascii_uppercase)
        bban += "".join(rng.choice(string.digits) for _ in range(22))
    else:
        bban = "".join(rng.choice(string.digits) for _ in range(length))
    return country, bban


def iban(rng: random.Random, valid: bool = True) -> str:
    country, bban = iban_parts(rng)
    check = iban_check_digits(country, bban)
    if not valid:  # a different check value, also different modulo 97
        good = int(check)
        check = f"{rng.choice([c for c in range(100) if (c - good) % 97]):02d}"
    compact = country + check + bban
    return (
        " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
        if rng.random() < 0.7
        else compact
    )


def ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def ipv4(rng: random.Random) -> str:
    r = rng.randint
    if rng.random() < 0.35:
        return f"{rng.choice([10, 172, 192])}.{rng.choice([16, 168, 0, 1])}.{r(0, 255)}.{r(1, 254)}"
    first = rng.choice([8, 23, 45, 66, 81, 93, 104, 151, 185, 203, 212])
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def ipv6(rng: random.Random) -> str:
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
    style = rng.random()
    if style < 0.3:
        return ":".join(groups)
    if style < 0.6:
        return f"2001:db8:{groups[2]}::{groups[7]}"
    if style < 0.75:
        return f"fe80::{groups[4]}:{groups[5]}:{groups[6]}:{groups[7]}"
    if style < 0.85:
        return "::1"
    return f"2a02:{groups[1]}:{groups[2]}:{groups[3]}::{groups[7]}"


PHONE_REGIONS = ["US", "DE", "FR", "GB", "ES", "IT", "JP", "BR", "IN", "AU", "NL", "CH", "PL"]


def phone(rng: random.Random) -> str:
    while True:
        region = rng.choice(PHONE_REGIONS)
        kind = rng.choice(
            [phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE]
        )
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        national = str(example.national_number)
        keep = max(3, len(national) - 4)
        varied = national[:keep] + "".join(rng.choice(string.digits) for _ in national[keep:])
        number = phonenumbers.parse("+" + str(example.country_code) + varied, None)
        if not phonenumbers.is_valid_number(number):
            continue
        if region == "US" and rng.random() < 0.5:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "email": email,
    "phone": phone,
    "ipv4": ipv4,
    "ipv6": ipv6,
    "credit_card": card,
    "iban": iban,
    "us_ssn": ssn,
}

TEMPLATES: dict[str, list[str]] = {
    "email": [
        "Please write to {} if you have questions about the order.",
        "Contact: {} (office hours 9-17)",
        "From: Jon Lee <{}>\nSubject: re: meeting",
        "Send your CV to {}, subject line 'Application 2024'.",
    ],
    "phone": [
        "Call us at {} between 9 am and 5 pm.",
        "Tel.: {}",
        "For support dial {} or visit the shop.",
        "Mobile {} — text me after 6.",
    ],
    "ipv4": [
        "Connection refused from {} port 22",
        "Set the DNS server to {} in resolv.conf.",
        "ping {} -c 4",
        "Failed password for root from {} port 51122 ssh2",
    ],
    "ipv6": [
        "The server listens on {} port 443.",
        "inet6 {}/64 scope link",
        "Reach the host at [{}]:8080.",
        "AAAA record: {}",
    ],
    "credit_card": [
        "My card number is {}, expiring 04/27.",
        "Card: {} CVV 123",
        "charged to {} yesterday",
        "Visa/MC: {}",
    ],
    "iban": [
        "Please transfer the amount to IBAN {} (BIC COBADEFFXXX).",
        "IBAN: {}",
        "Bank details: {}, reference INV-2024-117.",
        "Pay to {} before Friday.",
    ],
    "us_ssn": [
        "SSN: {}",
        "Her social security number is {}.",
        "applicant SSN {} on file",
        "Employee {}, hired 2019",
    ],
}


def negatives(rng: random.Random) -> list[str]:
    """Return texts with no PII that look like PII to a naive pattern."""
    out: list[str] = []
    r = rng.randint
    for _ in range(NEGATIVES // 24 + 1):
        bad_card = card_digits(rng)
        bad_card = bad_card[:-1] + str((int(bad_card[-1]) + rng.randint(1, 9)) % 10)
        u = uuid.UUID(int=rng.getrandbits(128))
        area_bad = rng.choice(["000", "666", f"{rng.randint(900, 999)}"])
        out += [
            f"Upgrade to version {r(1, 9)}.{r(0, 20)}.{r(0, 9)}.{r(0, 99)} before deploying.",
            f"Released on {r(2000, 2024)}-{r(1, 12):02d}-{r(1, 28):02d}, build 20240{r(1, 9)}01.",
            f"The meeting is at {r(0, 23):02d}:{r(0, 59):02d}:{r(0, 59):02d}"
            f" on {r(1, 28)}.{r(1, 12)}.{r(2000, 2024)}.",
            f"ISBN 978-{r(0, 1)}-{r(100, 999)}-{r(10000, 99999)}-{r(0, 9)} (paperback)",
            f"ISBN-13: 978{r(1000000000, 9999999999)}",
            f"request id {u} failed",
            f"HWaddr {':'.join(f'{r(0, 255):02x}' for _ in range(6))}",
            f"OID {rng.choice(['1.3.6.1.4.1', '2.5.4.3', '1.2.840.113549.1.1.11'])}.{r(1, 999)}",
            f"commit {rng.getrandbits(160):040x}",
            f"Card number {group(bad_card, [4, 4, 4, 4], ' ')} was rejected (typo).",
            f"IBAN {iban(rng, valid=False)} is invalid, please check.",
            f"SSN {area_bad}-{r(10, 99)}-{r(1000, 9999)} is not a valid number.",
            f"x = a[{r(1, 9)}::{r(1, 9)}]  # every other item",
            "std::vector<int> v; std::map<std::string, int> m;",
            f"Use icon@{r(2, 3)}x.png for retina screens.",
            "@property\ndef name(self): return self._name",
            f"Order #{r(10**8, 10**9)} shipped; tracking {r(10**11, 10**12)}.",
            f"INT_MIN is -2147483648 and the answer is {r(10, 99)}.",
            f"Section {r(1, 12)}.{r(1, 9)}.{r(1, 9)}.{r(1, 9)} describes RAID.",
            f"Python {r(2, 3)}.{r(0, 12)}.{r(0, 9)} and numpy 1.{r(10, 26)}.{r(0, 5)}",
            f"Total: {r(1000, 99999):,} EUR, ratio 1:{r(2, 9)}:{r(2, 9)}",
            f"ZIP {r(10000, 99999)}-{r(1000, 9999)}, apt {r(1, 99)}",
            f"git@{r(1, 9)}.{r(1, 9)} is not an address; neither is user@localhost",
            f"sha256 {rng.getrandbits(256):064x}",
        ]
    return out[:NEGATIVES]


def build(out: Path) -> dict[str, int]:
    """Write the test set; return the number of positives per kind and of negatives."""
    rng = random.Random(SEED)
    lines: list[dict[str, object]] = []
    counts: dict[str, int] = {}
    for kind, generate in GENERATORS.items():
        for i in range(PER_KIND):
            value = generate(rng)
            template = rng.choice(TEMPLATES[kind])
            text = template.format(value)
            start = template.index("{}")
            spans: list[list[object]] = [[start, start + len(value), kind]]
            if i % 3 == 0:  # mix in a hard negative, as real pages do
                filler = rng.choice(negatives(rng))
                text = f"{text} {filler}"
            lines.append({"id": f"{kind}-{i:03d}", "text": text, "spans": spans})
        counts[kind] = PER_KIND
    for i, text in enumerate(negatives(rng)):
        lines.append({"id": f"negative-{i:03d}", "text": text, "spans": []})
    counts["negative"] = len(lines) - sum(counts.values())
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
        f.write(payload)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "tests" / "data" / "pii" / "pii_testset.jsonl.gz"
    )
    print(build(parser.parse_args().out))


if __name__ == "__main__":
    main()
