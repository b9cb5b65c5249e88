"""Ray stays optional: without it dolmakit imports, shows help, and names the extra to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Runs in a fresh interpreter where any `import ray` fails as if Ray were not installed.
BLOCK_RAY = textwrap.dedent(
    """
    import sys

    class BlockRay:
        def find_spec(self, name, path=None, target=None):
            if name == "ray" or name.startswith("ray."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, BlockRay())
    import dolmakit
    from dolmakit.cli.main import main

    sys.argv = ["dolmakit", *sys.argv[1:]]
    try:
        main()
    finally:
        assert "ray" not in sys.modules
    """
)


def run_without_ray(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_RAY, *args], capture_output=True, text=True, timeout=60
    )


def test_help_works_without_ray() -> None:
    result = run_without_ray("--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: dolmakit" in result.stdout
    convert_help = run_without_ray("convert", "--help")
    assert convert_help.returncode == 0, convert_help.stderr
    assert "--ray-address" in convert_help.stdout


def test_asking_for_ray_without_it_names_the_extra(tmp_path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "x"}\n')
    result = run_without_ray("convert", str(src), str(tmp_path / "out"), "--backend", "ray")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "pip install 'dolmakit[ray]'" in result.stderr
    assert not (tmp_path / "out" / "in.jsonl.zst").exists()
