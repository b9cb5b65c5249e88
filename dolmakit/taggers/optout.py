"""The `optout` tagger: a site's rights reservations for each document with a URL.

The reservations come from a snapshot the team fetched (taggers/rights.py: robots.txt and
TDMRep by host, with fetch dates); nothing is fetched here. For every document whose
`metadata.url` is set, exactly one of the document-level values `allowed`, `reserved` or
`unknown` is 1:

- `reserved`: robots.txt disallows the URL for one of the `agents`, or TDMRep reserves
  text and data mining for it (`tdm-reservation: 1`);
- `allowed`: the site is in the snapshot and neither does;
- `unknown`: the URL does not parse (`bad_url`), the site is not in the snapshot
  (`no_snapshot`), or the file that decides is malformed (`malformed`); never an error.

The evidence, also document-level values: per agent `disallowed_<agent>` (1 or 0) and
`robots_line_<agent>` (the line of the deciding rule in robots.txt, when one matched),
`crawl_delay_<agent>` (seconds, when set: not a reservation), `tdm_reserved` (1 or 0) and
`tdm_rule` (its rule's number in tdmrep.json; 0 for a response header), and for each file
that decided, `robots_sha256` / `tdm_sha256` (the first 13 hex digits of the file's sha256
as an integer: `f"{int(v):013x}"`) and `robots_fetched` / `tdm_fetched` (the fetch date as
YYYYMMDD). The run record (`attributes/<run>/.dolmakit/run.json`) holds the snapshot's
path, digest, counts (malformed files among them) and fetch period.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from dolmakit.document import Document, Span
from dolmakit.errors import ConfigError
from dolmakit.taggers.base import register
from dolmakit.taggers.rights import (
    ROBOTS,
    Malformed,
    Site,
    SiteFile,
    load_snapshot,
    robots_verdict,
    snapshot_record,
    tdm_verdict,
)

DEFAULT_AGENTS = ("CCBot", "GPTBot")


def agent_key(agent: str) -> str:
    """Return the attribute suffix of a user agent (`GPTBot` -> `gptbot`)."""
    return re.sub(r"[^a-z0-9]+", "_", agent.lower()).strip("_")


def _agents(value: str | Sequence[str]) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    agents = tuple(a.strip() for a in items if str(a).strip())
    if not agents:
        raise ConfigError("optout: give at least one user agent (parameter agents)")
    keys = [agent_key(a) for a in agents]
    if len(set(keys)) != len(keys) or not all(keys):
        raise ConfigError(f"optout: user agents {', '.join(agents)} are not distinct names")
    return agents


@register
class OptOutTagger:
    """Decide, per document with a URL, whether its site reserved its rights (robots, TDMRep)."""

    name: ClassVar[str] = "optout"
    version: ClassVar[str] = "1"
    attributes: ClassVar[tuple[str, ...]] = (
        "allowed",
        "reserved",
        "unknown",
        "bad_url",
        "no_snapshot",
        "malformed",
        "disallowed_*",
        "robots_line_*",
        "crawl_delay_*",
        "robots_sha256",
        "robots_fetched",
        "tdm_reserved",
        "tdm_rule",
        "tdm_sha256",
        "tdm_fetched",
    )
    requires: ClassVar[str] = (
        "protego (dolmakit[publish]); a snapshot of robots.txt and TDMRep files (parameter "
        "snapshot)"
    )
    description: ClassVar[str] = (
        "Rights reservations of each document's site (metadata.url) from a snapshot of "
        "robots.txt and TDMRep files: allowed, reserved or unknown, with the deciding rule, "
        "file hash and fetch date. Parameters: snapshot, agents (default CCBot,GPTBot)."
    )

    def __init__(self, snapshot: str, agents: str | Sequence[str] = DEFAULT_AGENTS) -> None:
        self.sites = load_snapshot(snapshot)
        self.agents = _agents(agents)
        self.keys = [agent_key(a) for a in self.agents]

    @classmethod
    def run_record(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Return what a run records: the snapshot (path, digest, counts, dates), the agents."""
        if not params.get("snapshot"):
            raise ConfigError("the optout tagger needs a snapshot: --param optout.snapshot=PATH")
        sites = load_snapshot(params["snapshot"])
        return {
            "snapshot": str(Path(params["snapshot"]).resolve()),
            **snapshot_record(sites),
            "agents": list(_agents(params.get("agents", DEFAULT_AGENTS))),
        }

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        """Return the opt-out decision and its evidence for each document with a URL."""
        return [self._tag(doc) for doc in docs]

    def _tag(self, doc: Document) -> dict[str, list[Span]]:
        url = (doc.metadata or {}).get("url")
        if not isinstance(url, str) or not url.strip():
            return {}
        n = len(doc.text)
        values: dict[str, float] = {}
        host = _host(url)
        site = self.sites.get(host) if host else None
        if host is None:
            values.update(unknown=1.0, bad_url=1.0)
        elif site is None:
            values.update(unknown=1.0, no_snapshot=1.0)
        else:
            try:
                values.update(self._evaluate(site, url.strip()))
            except Malformed:
                values = {"unknown": 1.0, "malformed": 1.0}
        return {key: [Span(0, n, value)] for key, value in values.items()}

    def _evaluate(self, site: Site, url: str) -> dict[str, float]:
        values: dict[str, float] = {}
        reserved = False
        robots = site.files.get(ROBOTS)
        if robots is not None:
            _evidence(values, "robots", robots)
            for agent, key in zip(self.agents, self.keys, strict=True):
                verdict = robots_verdict(robots.data, url, agent)
                values[f"disallowed_{key}"] = 0.0 if verdict.allowed else 1.0
                reserved = reserved or not verdict.allowed
                if verdict.line:
                    values[f"robots_line_{key}"] = float(verdict.line)
                if verdict.crawl_delay is not None:
                    values[f"crawl_delay_{key}"] = verdict.crawl_delay
        tdm, name = tdm_verdict(site, url)
        if tdm is not None and name is not None:
            _evidence(values, "tdm", site.files[name])
            values["tdm_reserved"] = 1.0 if tdm.reserved else 0.0
            values["tdm_rule"] = float(tdm.rule)
            reserved = reserved or tdm.reserved
        values["reserved" if reserved else "allowed"] = 1.0
        return values


def _evidence(values: dict[str, float], prefix: str, f: SiteFile) -> None:
    values[f"{prefix}_sha256"] = float(int(f.sha256[:13], 16))
    values[f"{prefix}_fetched"] = float(f.fetched[:10].replace("-", ""))


def _host(url: str) -> str | None:
    """Return a URL's host in lower case; None when it does not parse as http(s) or so."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if not parts.scheme or not host or " " in host:
        return None
    return host.rstrip(".")
