"""Parse human sizes such as '256MB' or '1GiB', and write counts with their noun."""

from __future__ import annotations

import re

from dolmakit.errors import DolmakitError

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
}
_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str) -> int:
    """Return the number of bytes in '512', '256MB', '1.5GiB' (decimal and binary units)."""
    match = _SIZE_RE.match(text)
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _UNITS:
        raise DolmakitError(f"cannot read size {text!r}; write e.g. 512MB, 1GiB or 1000000")
    return int(float(match.group(1)) * _UNITS[unit])


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """Return `n` with thousands separators and its noun: '1 document', '2,240 documents'."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
