"""Building a span index needs memory for one index shard, not for the whole mix.

Two mixes of made-up text, one five times the other, are indexed with the same small
`--shard-size` in child processes: their peak RSS differs by far less than holding the
larger mix's text and suffix array (5 bytes per byte) would take.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from test_mix_helpers import write_jsonl, write_spec

from dolmakit.mix import build_mix
from dolmakit.run.options import RunOptions

pytest.importorskip("pydivsufsort")

SHARD = 256_000
MB = 1 << 20


def made_up_mix(root: Path, documents: int) -> Path:
    """Mix `documents` documents of about 5 KB of random words into shards of 256 KB."""
    rng = random.Random(documents)
    vocabulary = [
        "".join(rng.choices("abcdefghijklmnoprstuvwy", k=rng.randint(2, 9))) for _ in range(5000)
    ]
    rows = [
        {"id": f"d{i}", "text": " ".join(rng.choices(vocabulary, k=800)), "source": "made"}
        for i in range(documents)
    ]
    write_jsonl(root / "data" / "documents" / "made" / "part-0.jsonl.zst", rows)
    spec = {
        "name": "m",
        "version": 1,
        "seed": 1,
        "tokenizer": "whitespace",
        "sources": [{"name": "made", "documents": ["documents/made/*.jsonl.zst"], "rate": 1.0}],
        "output": {"format": "jsonl.zst", "shard_size": "256KB"},
    }
    path = write_spec(root / "mix.yaml", spec)
    quiet = RunOptions(progress=False)
    return build_mix(
        path, data_root=root / "data", output=root / "mixes", run_options=quiet
    ).mix_dir


# Runs `dolmakit ARGS...` and then prints the process's own peak RSS (VmHWM, of the memory
# image exec made; ru_maxrss of a child would also count its parent's RSS at the fork).
CHILD = """
import sys
from dolmakit.cli.main import cli
try:
    cli.main(sys.argv[1:], standalone_mode=False)
finally:
    peak = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:")]
    print(int(peak[0].split()[1]) * 1024)
"""


def peak_rss(mix_dir: Path) -> tuple[int, int]:
    """Index a mix in a child process; return (its peak RSS, the mix's text bytes)."""
    cmd = [sys.executable, "-c", CHILD, "-q", "index", str(mix_dir)]
    cmd += ["--backend", "serial", "--shard-size", str(SHARD)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    from dolmakit.trace.layout import read_index_manifest

    manifest = read_index_manifest(mix_dir)
    assert all(s["text_bytes"] <= SHARD for s in manifest["shards"])
    return int(done.stdout.split()[-1]), manifest["totals"]["text_bytes"]


def test_peak_memory_does_not_grow_with_the_mix(tmp_path: Path) -> None:
    small_rss, small_text = peak_rss(made_up_mix(tmp_path / "small", 400))
    large_rss, large_text = peak_rss(made_up_mix(tmp_path / "large", 2000))
    assert large_text > 5 * small_text - MB and large_text > 8 * MB
    # Holding the larger mix's text and suffix array would add 5 x 8 MB and more.
    assert large_rss - small_rss < 8 * MB, (small_rss / MB, large_rss / MB)
