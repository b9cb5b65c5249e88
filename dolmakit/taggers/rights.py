"""Rights reservations of web sites, from a user's snapshot: robots.txt and TDMRep, evaluated.

A snapshot is what a team fetched before tagging, so nothing is fetched here. Two forms:

- a folder with one sub-folder per host (`example.org/`, `news.example.org/`) holding
  `fetched.txt` (the fetch date, ISO 8601, required), and any of `robots.txt`,
  `tdmrep.json` (the site's `/.well-known/tdmrep.json`) and `headers.json` (the TDMRep
  response headers seen on its pages, `{"tdm-reservation": "1", "tdm-policy": "..."}`);
- a Parquet file with columns `host`, `file` (one of those names), `content` (bytes or text)
  and `fetched`.

A host folder without `robots.txt` records that the site has none (RFC 9309: allowed).
robots.txt is decided by protego; the rule that decided is found by RFC 9309's matching
(the group of the most specific user agent, else `*`; the longest matching pattern, `Allow`
winning a tie) and reported by line. A robots.txt that is not UTF-8 text, looks like HTML,
or has a line that is neither blank, a comment nor `field: value` is malformed: its decision
is unknown. A TDMRep file is a JSON array of `{"location", "tdm-reservation", "tdm-policy"}`;
the first rule whose location pattern matches the URL's path applies; one that does not
parse is malformed likewise.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dolmakit.errors import ConfigError

ROBOTS = "robots.txt"
TDMREP = "tdmrep.json"
HEADERS = "headers.json"
FETCHED = "fetched.txt"
FILES = (ROBOTS, TDMREP, HEADERS)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_RULE = re.compile(r"^\s*(allow|disallow)\s*:\s*(.*)$", re.IGNORECASE)
_AGENT = re.compile(r"^\s*user-agent\s*:\s*(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class SiteFile:
    """One fetched file of a site: its bytes, their sha256, the fetch date."""

    name: str
    data: bytes
    sha256: str
    fetched: str


@dataclass
class Site:
    """What the snapshot holds for one host."""

    host: str
    fetched: str
    files: dict[str, SiteFile] = field(default_factory=dict)


@dataclass(frozen=True)
class RobotsVerdict:
    """robots.txt's answer for one agent: allowed, the deciding rule's line (0: none)."""

    allowed: bool
    line: int
    rule: str
    crawl_delay: float | None


@dataclass(frozen=True)
class TdmVerdict:
    """TDMRep's answer: reserved or not, and which rule said so (1-based; 0: a header)."""

    reserved: bool
    rule: int
    policy: str | None


class Malformed(ValueError):
    """A snapshot file that cannot be evaluated (its decision is unknown)."""


def load_snapshot(path: str | Path) -> dict[str, Site]:
    """Read a snapshot folder or Parquet file; ConfigError naming what is wrong with it."""
    root = Path(path)
    if root.is_dir():
        return _from_folder(root)
    if root.is_file() and root.suffix == ".parquet":
        return _from_parquet(root)
    raise ConfigError(f"{path}: no such snapshot (a folder of hosts, or a .parquet file)")


def _from_folder(root: Path) -> dict[str, Site]:
    sites: dict[str, Site] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        host = folder.name.lower()
        stamp = folder / FETCHED
        if not stamp.is_file():
            raise ConfigError(f"{folder}: no {FETCHED} (the date the site's files were fetched)")
        fetched = _fetch_date(stamp.read_text(encoding="utf-8", errors="replace"), str(stamp))
        site = Site(host, fetched)
        for name in FILES:
            if (folder / name).is_file():
                site.files[name] = _file(name, (folder / name).read_bytes(), fetched)
        sites[host] = site
    return sites


def _from_parquet(path: Path) -> dict[str, Site]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise ConfigError(f"{path}: not a readable Parquet file ({exc})") from None
    missing = {"host", "file", "content", "fetched"} - set(table.column_names)
    if missing:
        raise ConfigError(f"{path}: snapshot columns missing: {', '.join(sorted(missing))}")
    sites: dict[str, Site] = {}
    for row, item in enumerate(table.to_pylist(), 1):
        where = f"{path}: row {row}"
        host, name = str(item["host"] or "").lower(), str(item["file"] or "")
        if not host or name not in (*FILES, ""):
            raise ConfigError(f"{where}: file {name!r}: expected one of {', '.join(FILES)}")
        fetched = _fetch_date(str(item["fetched"] or ""), where)
        site = sites.setdefault(host, Site(host, fetched))
        site.fetched = max(site.fetched, fetched)
        if name:  # a row with no file records a fetched site without any of them
            content = item["content"]
            data = content.encode() if isinstance(content, str) else bytes(content or b"")
            site.files[name] = _file(name, data, fetched)
    return dict(sorted(sites.items()))


def _fetch_date(text: str, where: str) -> str:
    value = text.strip()
    if not _DATE.match(value):
        raise ConfigError(f"{where}: fetch date {value!r}: expected an ISO 8601 date")
    return value


def _file(name: str, data: bytes, fetched: str) -> SiteFile:
    return SiteFile(name, data, hashlib.sha256(data).hexdigest(), fetched)


def snapshot_record(sites: dict[str, Site]) -> dict[str, Any]:
    """Return what a run records about a snapshot: its digest, counts and fetch period."""
    digest = hashlib.sha256()
    counts = {"sites": len(sites), "robots": 0, "robots_malformed": 0, "tdmrep": 0,
              "tdmrep_malformed": 0, "headers": 0}  # fmt: skip
    for host, site in sites.items():
        digest.update(f"{host}\x1f{site.fetched}\n".encode())
        for name, f in sorted(site.files.items()):
            digest.update(f"{name}\x1f{f.sha256}\n".encode())
        if ROBOTS in site.files:
            counts["robots"] += 1
            counts["robots_malformed"] += robots_problem(site.files[ROBOTS].data) is not None
        for name, key in ((TDMREP, "tdmrep"), (HEADERS, "headers")):
            if name in site.files:
                counts[key] += 1
                try:
                    _tdm_rules(name, site.files[name].data)
                except Malformed:
                    counts["tdmrep_malformed"] += 1
    dates = sorted(site.fetched for site in sites.values())
    return {
        "sha256": digest.hexdigest(),
        **counts,
        "fetched": {"first": dates[0], "last": dates[-1]} if dates else None,
    }


def robots_problem(data: bytes) -> str | None:
    """Return why a robots.txt is malformed, or None when it can be evaluated."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text (byte {exc.start})"
    if "\x00" in text:
        return "binary content (a NUL byte)"
    if text.lstrip().startswith("<"):
        return "HTML, not a robots.txt"
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if line and ":" not in line:
            return f"line {lineno}: {raw.strip()[:60]!r} is not 'field: value'"
    return None


@cache
def _protego() -> Any:
    try:
        from protego import Protego
    except ImportError:
        raise ConfigError(
            "robots.txt is read with protego: pip install 'dolmakit[publish]'"
        ) from None
    return Protego


@lru_cache(maxsize=4096)
def parse_robots(data: bytes) -> tuple[Any, tuple[str, ...]]:
    """Return (protego parser, lines) of a robots.txt; Malformed when it cannot be evaluated."""
    problem = robots_problem(data)
    if problem is not None:
        raise Malformed(problem)
    text = data.decode("utf-8-sig")
    return _protego().parse(text), tuple(text.splitlines())


def robots_verdict(data: bytes, url: str, agent: str) -> RobotsVerdict:
    """Decide `url` for `agent` (protego) and find the deciding rule (RFC 9309 matching)."""
    parser, lines = parse_robots(data)
    allowed = bool(parser.can_fetch(url, agent))
    delay = parser.crawl_delay(agent)
    line, rule = _deciding_rule(lines, _path(url), agent)
    if rule.startswith("Allow") != allowed or (not rule and not allowed):
        line, rule = 0, ""  # the two matchers disagree (an edge of encoding): no rule named
    return RobotsVerdict(allowed, line, rule, float(delay) if delay is not None else None)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _groups(lines: tuple[str, ...]) -> Iterator[tuple[list[str], list[tuple[int, str, str]]]]:
    """Yield (user agents, [(line, allow|disallow, pattern)]) per group of a robots.txt."""
    agents: list[str] = []
    rules: list[tuple[int, str, str]] = []
    for lineno, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        agent = _AGENT.match(line)
        if agent:
            if rules:
                yield agents, rules
                agents, rules = [], []
            agents.append(agent.group(1).strip().lower())
            continue
        rule = _RULE.match(line)
        if rule and agents:
            rules.append((lineno, rule.group(1).lower(), rule.group(2).strip()))
    if agents:
        yield agents, rules


def _deciding_rule(lines: tuple[str, ...], path: str, agent: str) -> tuple[int, str]:
    """Return (line, text) of the rule RFC 9309 applies to `path` for `agent`; (0, '') if none."""
    token = agent.strip().lower()
    best: list[tuple[int, str, str]] = []
    best_score = 0
    for agents, rules in _groups(lines):
        for name in agents:
            score = 1 if name == "*" else (len(name) if name and name in token else 0)
            if score > best_score:
                best, best_score = list(rules), score
            elif score == best_score and score:
                best.extend(rules)  # groups for the same agent are merged
    found: tuple[int, int, str, str] | None = None
    for lineno, kind, pattern in best:
        if not pattern or not _matches(pattern, path):
            continue
        rank = (len(pattern), kind == "allow")
        if found is None or rank > (found[1], found[2] == "allow"):
            found = (lineno, len(pattern), kind, pattern)
    if found is None:
        return 0, ""
    return found[0], f"{'Allow' if found[2] == 'allow' else 'Disallow'}: {found[3]}"


def _matches(pattern: str, path: str) -> bool:
    """Return whether a robots.txt or TDMRep location pattern matches a path (`*`, `$`)."""
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(re.escape(part) for part in body.split("*"))
    return re.match(regex + ("$" if anchored else ""), path) is not None


def _tdm_rules(name: str, data: bytes) -> list[dict[str, Any]]:
    """Return a TDMRep file's rules (headers: one rule for every path); Malformed if bad."""
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Malformed(f"{name}: not JSON ({exc})") from None
    if name == HEADERS:
        if not isinstance(value, dict):
            raise Malformed(f"{name}: expected an object of response headers")
        lowered = {str(k).lower(): v for k, v in value.items()}
        value = [{"location": "/", **lowered}] if "tdm-reservation" in lowered else []
    if not isinstance(value, list):
        raise Malformed(f"{name}: expected a JSON array of rules")
    for i, rule in enumerate(value, 1):
        if not isinstance(rule, dict) or str(rule.get("tdm-reservation")) not in ("0", "1"):
            raise Malformed(f"{name}: rule {i}: 'tdm-reservation' must be 0 or 1")
        if not isinstance(rule.get("location", ""), str):
            raise Malformed(f"{name}: rule {i}: 'location' must be a string")
    return value


def tdm_verdict(site: Site, url: str) -> tuple[TdmVerdict | None, str | None]:
    """Return TDMRep's verdict for `url` (None: no rule applies) and the file that gave it.

    `tdmrep.json` comes first; the headers apply to every page when it has no matching rule.
    Malformed when the file that would decide cannot be read.
    """
    path = _path(url)
    for name in (TDMREP, HEADERS):
        if name not in site.files:
            continue
        for i, rule in enumerate(_tdm_rules(name, site.files[name].data), 1):
            location = str(rule.get("location") or "/")
            if _matches(location if location.startswith("/") else "/" + location, path):
                policy = rule.get("tdm-policy")
                number = i if name == TDMREP else 0
                reserved = str(rule["tdm-reservation"]) == "1"
                return TdmVerdict(reserved, number, str(policy) if policy else None), name
    return None, None
