"""The package's layers import only downward (docs/architecture.md is the map this test holds)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "dolmakit"

# Higher numbers sit higher; a module may import its own layer's folder and any lower layer.
# Stages share a floor with an order among them: mix reads tagger defaults, trace reads mixes,
# audit reads mixes and checks their span index.
LAYERS: dict[str, int] = {
    "dolmakit.errors": 0,
    "dolmakit._textstats": 0,
    "dolmakit._suffix": 0,
    "dolmakit.native": 0,
    "dolmakit.startup": 0,
    "dolmakit.document": 1,
    "dolmakit.tokenizers": 1,
    "dolmakit.io": 2,
    "dolmakit.run": 3,
    "dolmakit.contamination": 3,
    "dolmakit.convert": 4,
    "dolmakit.taggers": 4,
    "dolmakit.dedup": 4,
    "dolmakit.mix": 5,
    "dolmakit.trace": 6,
    "dolmakit.audit": 7,
    "dolmakit.publish": 7,
    "dolmakit.demo": 8,
    "dolmakit.pipeline": 8,
    "dolmakit.cli": 9,
}
# The package face re-exports the library; `__main__` starts the CLI.
FACES = {"dolmakit", "dolmakit.__main__"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str | None:
    """Return the LAYERS key that holds `module` (the longest matching prefix)."""
    best = None
    for key in LAYERS:
        if (module == key or module.startswith(key + ".")) and (
            best is None or len(key) > len(best)
        ):
            best = key
    return best


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Return (line, module) for every import of a dolmakit module, lazy ones included."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "dolmakit":
                for alias in node.names:
                    if alias.name != "__version__":
                        found.append((node.lineno, f"dolmakit.{alias.name}"))
            elif node.module.startswith("dolmakit."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names if a.name.startswith("dolmakit"))
    return found


def test_every_module_has_a_layer() -> None:
    homeless = [
        module_name(p)
        for p in PACKAGE.rglob("*.py")
        if module_name(p) not in FACES and layer_of(module_name(p)) is None
    ]
    assert homeless == [], "add these to LAYERS and docs/architecture.md"


def test_no_layer_imports_a_higher_one() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        if module in FACES:
            continue
        home = layer_of(module)
        assert home is not None
        for line, target in imports_of(path):
            there = layer_of(target)
            if there is None or there == home:
                continue
            if LAYERS[there] >= LAYERS[home]:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {module} -> {target}")
    assert upward == []


@pytest.mark.parametrize(
    ("module", "target", "allowed"),
    [
        ("dolmakit.io.reader", "dolmakit.run.backends", False),
        ("dolmakit.mix.build", "dolmakit.taggers.tokens", True),
        ("dolmakit.taggers.stage", "dolmakit.dedup.stage", False),
        ("dolmakit.cli.mix", "dolmakit.mix.build", True),
    ],
)
def test_the_rule_itself(module: str, target: str, allowed: bool) -> None:
    home, there = layer_of(module), layer_of(target)
    assert home is not None and there is not None
    assert (home == there or LAYERS[there] < LAYERS[home]) is allowed
