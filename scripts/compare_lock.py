"""Print how the packages installed in this Python differ from lock files' pins.

    python scripts/compare_lock.py requirements/dev.lock [requirements/pip.lock ...]

Only the lock's lines whose environment markers hold here are compared; dolmakit itself and
editable installs are left out. Always exits 0: this reports, it does not judge.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)\s*(?:;\s*([^\\]+))?")


def lock_pins(path: Path) -> dict[str, str]:
    """Return {canonical name: version} of the lock's pins that apply to this environment."""
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match is None:
            continue
        name, version, marker = match.groups()
        if marker and not Marker(marker.strip()).evaluate():
            continue
        pins[canonicalize_name(name)] = version
    return pins


def installed() -> dict[str, str]:
    """Return {canonical name: version} of the installed distributions, without dolmakit."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name != "dolmakit":
            found[name] = dist.version
    return found


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    pins: dict[str, str] = {}
    for path in argv:
        pins.update(lock_pins(Path(path)))
    have = installed()
    changed = sorted(n for n in pins.keys() & have.keys() if pins[n] != have[n])
    added = sorted(have.keys() - pins.keys())
    missing = sorted(pins.keys() - have.keys())
    same = len(pins.keys() & have.keys()) - len(changed)
    print(
        f"installed vs {' + '.join(argv)}: {same} same, {len(changed)} other versions,"
        f" {len(added)} not in the lock, {len(missing)} not installed"
    )
    width = max((len(n) for n in changed + added + missing), default=0)
    for name in changed:
        print(f"  {name:<{width}}  {pins[name]} -> {have[name]}")
    for name in added:
        print(f"  {name:<{width}}  (not in the lock) {have[name]}")
    for name in missing:
        print(f"  {name:<{width}}  {pins[name]} -> (not installed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
