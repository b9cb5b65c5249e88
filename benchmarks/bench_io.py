"""Compare dolmakit's document I/O with a bare parse-and-write loop, on one core.

Both sides read every `.jsonl.zst` file of a corpus, parse each line into a JSON object, check
it, encode it again and write a zstd (level 3) file. The bare loops (msgspec, orjson) use
zstandard's stream reader and writer directly; dolmakit runs `convert` on the serial backend,
with everything a user gets: id/text validation, reject accounting, atomic renames, completion
records. Runs alternate between the sides and the median is reported, because the machines
are shared and noisy. Throughput is uncompressed input MB per second.

    python benchmarks/bench_io.py --corpus /tmp/bench200 [--repeats 3] [--markdown]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import zstandard

import dolmakit
from dolmakit.convert import convert
from dolmakit.run.backends import SerialBackend
from dolmakit.run.options import RunOptions


def corpus_files(root: Path) -> list[Path]:
    """Return the corpus's document files in sorted order."""
    files = sorted(root.rglob("*.jsonl.zst"))
    if not files:
        raise SystemExit(f"{root}: no .jsonl.zst files; build one with benchmarks/build_corpus.py")
    return files


def uncompressed_bytes(files: list[Path]) -> int:
    """Return the total decompressed size of the files."""
    total = 0
    for path in files:
        with open(path, "rb") as raw:
            reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
            while chunk := reader.read(1 << 20):
                total += len(chunk)
    return total


def bare_loop(
    decode: Callable[[bytes], object], encode: Callable[[object], bytes]
) -> Callable[[list[Path], Path], None]:
    """Return a loop: decompress, split lines, decode, check id/text, encode, compress."""

    def run(files: list[Path], out_dir: Path) -> None:
        for i, path in enumerate(files):
            with open(path, "rb") as raw, open(out_dir / f"{i}.jsonl.zst", "wb") as sink:
                reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
                writer = zstandard.ZstdCompressor(level=3).stream_writer(sink)
                for line in io.BufferedReader(reader, buffer_size=1 << 20):  # type: ignore[arg-type]
                    obj = decode(line)
                    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
                        continue
                    writer.write(encode(obj) + b"\n")
                writer.flush(zstandard.FLUSH_FRAME)

    return run


def dolmakit_convert(files: list[Path], out_dir: Path) -> None:
    """Run dolmakit's convert stage on one core."""
    convert(
        [str(f) for f in files],
        out_dir,
        "jsonl.zst",
        run_options=RunOptions(backend=SerialBackend(), progress=False),
    )


def peak_rss_of_convert(source: Path) -> int:
    """Return the peak resident memory (bytes) of `dolmakit convert` on one file, one worker."""
    out = Path(tempfile.mkdtemp(prefix="bench_rss_"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cmd = [sys.executable, "-m", "dolmakit", "-q", "convert", str(source), str(out)]
    subprocess.run(
        [*cmd, "--workers", "1"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    shutil.rmtree(out)
    if after <= before:
        raise SystemExit("peak RSS of the child not measurable (an earlier child used more)")
    return after * 1024


def memory_table(files: list[Path], multiples: list[int]) -> None:
    """Concatenate the corpus into single files of growing size and measure convert's peak RSS."""
    print("\n| one input file (uncompressed) | peak RSS of convert |\n|---:|---:|")
    for multiple in sorted(multiples):
        with tempfile.TemporaryDirectory(prefix="bench_mem_") as tmp:
            big = Path(tmp) / "big.jsonl.zst"
            with open(big, "wb") as sink:
                for _ in range(multiple):
                    for path in files:
                        sink.write(path.read_bytes())  # zstd frames concatenate into one stream
            size = uncompressed_bytes([big])
            print(f"| {size / 1e6:,.0f} MB | {peak_rss_of_convert(big) / 1e6:,.0f} MB |")


def main() -> None:
    """Run the comparison and print a table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument(
        "--memory",
        default="",
        help="comma-separated corpus multiples (e.g. 1,5): peak RSS of convert on one file that big"
        " (peak RSS is a high-water mark, so runs go smallest first, each in a new process)",
    )
    args = parser.parse_args()
    files = corpus_files(args.corpus)
    if args.memory:
        memory_table(files, [int(m) for m in args.memory.split(",")])
        return
    size = uncompressed_bytes(files)
    sides: dict[str, Callable[[list[Path], Path], None]] = {
        "bare msgspec + zstandard": bare_loop(msgspec.json.decode, msgspec.json.encode),
        "dolmakit convert (serial)": dolmakit_convert,
    }
    try:  # a second bare loop when orjson is installed (pip install orjson; not in the locks)
        import orjson

        sides["bare orjson + zstandard"] = bare_loop(orjson.loads, orjson.dumps)
    except ImportError:
        print("orjson is not installed: its bare loop is left out (pip install orjson)")
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.repeats):
        for name, fn in sides.items():
            out = Path(tempfile.mkdtemp(prefix="bench_io_"))
            start = time.perf_counter()
            fn(files, out)
            times[name].append(time.perf_counter() - start)
            shutil.rmtree(out)
    base = statistics.median(times["bare msgspec + zstandard"])
    print(f"corpus: {args.corpus} ({len(files)} files, {size / 1e6:,.1f} MB uncompressed)")
    versions = {
        "Python": platform.python_version(),
        "dolmakit": dolmakit.__version__,
        "msgspec": msgspec.__version__,
        "orjson": orjson.__version__,
        "zstandard": zstandard.__version__,
    }
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + f"; one core per side; median of {args.repeats}"
    )
    if args.markdown:
        print("\n| read + write loop | MB/s per core | vs bare msgspec loop |\n|---|---:|---:|")
    for name, runs in times.items():
        median = statistics.median(runs)
        rate = size / median / 1e6
        if args.markdown:
            print(f"| {name} | {rate:,.1f} | {base / median:.0%} |")
        else:
            print(
                f"{name:<28} {rate:8.1f} MB/s   {base / median:6.0%} of bare msgspec   runs: "
                + ", ".join(f"{t:.2f}s" for t in runs)
            )


if __name__ == "__main__":
    main()
