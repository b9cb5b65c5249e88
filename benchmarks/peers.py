"""On-demand virtual environments and timed runners for peer tools (Dolma, datatrove).

Each peer lives in its own virtual environment under a cache directory (default
``benchmarks/.venvs/``, gitignored) because their pins conflict with dolmakit's (Dolma needs
numpy<2). Environments are created on first use and reused afterwards; a marker file records
the install specification so a changed specification triggers a rebuild.

Command line::

    python benchmarks/peers.py ensure dolma datatrove   # create venvs, print timings
    python benchmarks/peers.py smoke --sample-docs 2000 # run each peer on a dev-corpus sample

The ``run_*`` helpers return wall-clock seconds of the peer run only (venv creation excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = HERE / ".venvs"
PEER_SCRIPTS = HERE / "peer_scripts"
DEV_CORPUS = Path("/work/shared/corpus/dev/documents")


@dataclass(frozen=True)
class PeerSpec:
    name: str
    requirements: tuple[str, ...]
    check: str  # python snippet run in the venv to verify the install


PEERS: dict[str, PeerSpec] = {
    "dolma": PeerSpec(
        name="dolma",
        requirements=("dolma==1.2.1", "boto3==1.26.161", "smart-open<7.4", "numpy<2"),
        check="import dolma, numpy; from importlib.metadata import version; "
        "print('dolma', version('dolma'), 'numpy', numpy.__version__)",
    ),
    "datatrove": PeerSpec(
        name="datatrove",
        requirements=("datatrove[io,processing,cli]==0.10.1", "spacy"),
        check="import datatrove, spacy; from importlib.metadata import version; "
        "print('datatrove', version('datatrove'), 'spacy', spacy.__version__)",
    ),
}


def _base_python() -> str:
    """The interpreter used to create peer venvs: the base interpreter of the running one."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return str(base) if base.exists() else sys.executable


def _peer_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # Never let a peer try the network for telemetry or model hubs during a timed run.
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("DO_NOT_TRACK", "1")
    env.pop("PYTHONPATH", None)
    if extra:
        env.update(extra)
    return env


def venv_dir(name: str, cache_dir: Path | None = None) -> Path:
    return (cache_dir or DEFAULT_CACHE) / name


def ensure_venv(name: str, cache_dir: Path | None = None, quiet: bool = True) -> Path:
    """Create (if needed) the venv for peer ``name``; return its python executable.

    Creation time is stored in ``<venv>/.dolmakit-peer.json`` (key ``created_seconds``).
    """
    spec = PEERS[name]
    root = venv_dir(name, cache_dir)
    py = root / "bin" / "python"
    marker = root / ".dolmakit-peer.json"
    if py.exists() and marker.exists():
        info = json.loads(marker.read_text())
        if info.get("requirements") == list(spec.requirements):
            return py
    if root.exists():
        shutil.rmtree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    subprocess.run([_base_python(), "-m", "venv", str(root)], check=True)
    pip = [str(py), "-m", "pip", "install", "--disable-pip-version-check"]
    if quiet:
        pip.append("-q")
    subprocess.run([*pip, "--upgrade", "pip"], check=True, env=_peer_env())
    subprocess.run([*pip, *spec.requirements], check=True, env=_peer_env())
    out = subprocess.run(
        [str(py), "-c", spec.check], check=True, capture_output=True, text=True, env=_peer_env()
    )
    elapsed = time.perf_counter() - t0
    marker.write_text(
        json.dumps(
            {
                "requirements": list(spec.requirements),
                "created_seconds": round(elapsed, 1),
                "check": out.stdout.strip(),
            },
            indent=1,
        )
    )
    return py


def venv_info(name: str, cache_dir: Path | None = None) -> dict:
    marker = venv_dir(name, cache_dir) / ".dolmakit-peer.json"
    return json.loads(marker.read_text()) if marker.exists() else {}


# ---- timed runners --------------------------------------------------------------------------
DOLMA_TAGGERS = ("gopher_v1", "c4_v2", "pii_regex_with_counts_fast_v2", "char_length_v1")
DATATROVE_FILTERS = ("gopher", "c4", "fineweb")


class PeerError(RuntimeError):
    pass


def _as_list(x: str | Path | list | tuple) -> list[str]:
    return [str(p) for p in x] if isinstance(x, list | tuple) else [str(x)]


def _dataset_root(docs_glob: str) -> Path:
    """`/a/b/documents/x/*.zst` -> `/a/b`; Dolma derives attribute paths this way."""
    if not docs_glob.startswith("/") or "/documents/" not in docs_glob:
        raise ValueError(f"Dolma wants absolute document paths containing /documents/: {docs_glob}")
    return Path(docs_glob.split("/documents/", 1)[0])


def _run(cmd: list[str], log_path: Path | None, cwd: Path | None = None) -> tuple[float, str]:
    """Run a peer command, returning (wall seconds, stdout). Output goes to `log_path`."""
    log = Path(log_path) if log_path else Path(tempfile.mkstemp(suffix=".log")[1])
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as err:
        err.write("$ " + " ".join(cmd) + "\n")
        err.flush()
        t0 = time.perf_counter()
        proc = subprocess.run(
            cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=_peer_env(), cwd=cwd
        )
        elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = log.read_text()[-3000:]
        raise PeerError(f"{cmd[0]} exited {proc.returncode} (log {log}):\n{tail}")
    return elapsed, proc.stdout


def run_dolma_tag(
    docs_glob: str | list[str],
    taggers: tuple[str, ...] | list[str] = DOLMA_TAGGERS,
    experiment: str = "bench",
    processes: int = 2,
    clean: bool = True,
    cache_dir: Path | None = None,
    log_path: Path | None = None,
) -> float:
    """`dolma tag`; attributes go to `<dataset>/attributes/<experiment>/`. Returns seconds."""
    globs = _as_list(docs_glob)
    if clean:
        for g in globs:
            shutil.rmtree(_dataset_root(g) / "attributes" / experiment, ignore_errors=True)
    else:
        for g in globs:
            _dataset_root(g)
    py = ensure_venv("dolma", cache_dir)
    cmd = [str(py.parent / "dolma"), "tag", "--documents", *globs, "--experiment", experiment]
    cmd += ["--taggers", *taggers, "--processes", str(processes), "--ignore_existing"]
    return _run(cmd, log_path)[0]


def dolma_mix_config(
    docs_glob: str | list[str],
    output_dir: str | Path,
    experiment: str = "bench",
    min_chars: int = 200,
    min_words: int = 50,
    processes: int = 2,
    name: str = "bench",
) -> dict:
    """A simple mix config over the attributes of `run_dolma_tag(experiment=...)`."""
    globs = _as_list(docs_glob)
    for g in globs:
        _dataset_root(g)
    length = f"{experiment}__char_length_v1__length"
    words = f"{experiment}__gopher_v1__word_count"
    return {
        "streams": [
            {
                "name": name,
                "documents": globs,
                "attributes": [experiment],
                "output": {"path": str(output_dir), "max_size_in_bytes": 50_000_000},
                "filter": {
                    "exclude": [
                        f"$.attributes[?(@.{length} && @.{length}[0] && @.{length}[0][2] "
                        f"< {min_chars})]",
                        f"$.attributes[?(@.{words} && @.{words}[0] && @.{words}[0][2] "
                        f"< {min_words})]",
                    ]
                },
            }
        ],
        "processes": processes,
    }


def _run_dolma_config(
    command: str, config: dict, cache_dir: Path | None, log_path: Path | None
) -> float:
    """Writes the config next to the log (`<log>.json`, kept) or to a temporary file."""
    py = ensure_venv("dolma", cache_dir)
    if log_path is not None:
        cfg = Path(log_path).with_suffix(".json")
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text(json.dumps(config, indent=1))
        return _run([str(py.parent / "dolma"), "-c", str(cfg), command], log_path)[0]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(config, fh, indent=1)
    try:
        return _run([str(py.parent / "dolma"), "-c", fh.name, command], log_path)[0]
    finally:
        os.unlink(fh.name)


def run_dolma_mix(
    config: dict, clean: bool = True, cache_dir: Path | None = None, log_path: Path | None = None
) -> float:
    """`dolma -c CONFIG mix` (see `dolma_mix_config`). Returns seconds."""
    if clean:
        for stream in config.get("streams", []):
            shutil.rmtree(stream["output"]["path"], ignore_errors=True)
    return _run_dolma_config("mix", config, cache_dir, log_path)


def dolma_dedupe_config(
    docs_glob: str | list[str],
    bloom_file: str | Path,
    name: str = "dedupe_docs",
    paragraphs: bool = False,
    estimated_doc_count: int = 1_000_000,
    false_positive_rate: float = 1e-6,
    processes: int = 2,
) -> dict:
    """Exact dedupe by text (or by paragraph) with Dolma's bloom filter."""
    globs = _as_list(docs_glob)
    for g in globs:
        _dataset_root(g)
    dedupe: dict = {"name": name}
    if paragraphs:
        dedupe["paragraphs"] = {"attribute_name": "bff_duplicate_paragraph_spans"}
    else:
        dedupe["documents"] = {"attribute_name": "bff_duplicate_doc", "key": "$.text"}
    return {
        "documents": globs,
        "dedupe": dedupe,
        "bloom_filter": {
            "file": str(bloom_file),
            "read_only": False,
            "estimated_doc_count": estimated_doc_count,
            "desired_false_positive_rate": false_positive_rate,
        },
        "processes": processes,
    }


def run_dolma_dedupe(
    config: dict, clean: bool = True, cache_dir: Path | None = None, log_path: Path | None = None
) -> float:
    """`dolma -c CONFIG dedupe` (see `dolma_dedupe_config`). Returns seconds.

    With `clean`, removes the bloom filter file and the attribute folder first (otherwise a
    second run finds every document already in the filter).
    """
    if clean:
        Path(config["bloom_filter"]["file"]).unlink(missing_ok=True)
        for g in config["documents"]:
            root = _dataset_root(g) / "attributes" / config["dedupe"]["name"]
            shutil.rmtree(root, ignore_errors=True)
    return _run_dolma_config("dedupe", config, cache_dir, log_path)


def run_datatrove_filters(
    input_dir: str | Path,
    output_dir: str | Path,
    filters: tuple[str, ...] | list[str] = DATATROVE_FILTERS,
    language: str = "en",
    tasks: int = 2,
    workers: int = 2,
    glob_pattern: str = "**/*.jsonl*",
    compression: str = "zstd",
    summary: dict | None = None,
    cache_dir: Path | None = None,
    log_path: Path | None = None,
) -> float:
    """datatrove JsonlReader -> quality filters -> JsonlWriter. Returns wall seconds.

    `summary`, if given, is updated with the driver's report (docs_in, docs_kept, dropped per
    filter, and `seconds` = the pipeline alone, without interpreter start-up and imports).
    """
    py = ensure_venv("datatrove", cache_dir)
    cmd = [str(py), str(PEER_SCRIPTS / "datatrove_filters.py"), "--input", str(input_dir)]
    cmd += ["--output", str(output_dir), "--glob", glob_pattern, "--filters", ",".join(filters)]
    cmd += ["--language", language, "--tasks", str(tasks), "--workers", str(workers)]
    cmd += ["--compression", compression]
    seconds, out = _run(cmd, log_path)
    if summary is not None:
        lines = [ln for ln in out.splitlines() if ln.startswith("{")]
        if lines:
            summary.update(json.loads(lines[-1]))
    return seconds


# ---- command line ---------------------------------------------------------------------------
def _smoke(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(HERE))
    import build_corpus

    work = Path(args.work).resolve()
    shutil.rmtree(work, ignore_errors=True)
    build_corpus.main(["--size", args.size, "--out", str(work / "data"), "--seed", "0"])
    docs = str(work / "data" / "documents" / "*" / "*.jsonl.zst")
    logs = work / "logs"
    results: dict = {}
    cache = args.cache_dir
    results["dolma_tag"] = run_dolma_tag(
        docs, processes=args.processes, cache_dir=cache, log_path=logs / "tag.log"
    )
    cfg = dolma_mix_config(docs, work / "mixed", processes=args.processes)
    results["dolma_mix"] = run_dolma_mix(cfg, cache_dir=cache, log_path=logs / "mix.log")
    cfg = dolma_dedupe_config(docs, work / "bloom.bin", processes=args.processes)
    results["dolma_dedupe"] = run_dolma_dedupe(cfg, cache_dir=cache, log_path=logs / "dedupe.log")
    summary: dict = {}
    results["datatrove_filters"] = run_datatrove_filters(
        work / "data" / "documents",
        work / "datatrove",
        tasks=args.processes,
        workers=args.processes,
        summary=summary,
        cache_dir=cache,
        log_path=logs / "datatrove.log",
    )
    print(json.dumps({k: round(v, 2) for k, v in results.items()}))
    print(json.dumps({"datatrove": summary}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="peer-tool venvs and smoke runs")
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("ensure", help="create the peer venvs (if missing)")
    p.add_argument("names", nargs="*", default=list(PEERS))
    p = sub.add_parser("smoke", help="run every peer on a small built corpus")
    p.add_argument("--size", default="5MB")
    p.add_argument("--work", default="/tmp/dolmakit-peers-smoke")
    p.add_argument("--processes", type=int, default=2)
    args = ap.parse_args(argv)
    if args.cmd == "ensure":
        for name in args.names:
            t0 = time.perf_counter()
            py = ensure_venv(name, args.cache_dir, quiet=True)
            info = venv_info(name, args.cache_dir)
            print(f"{name}: {py} (this call {time.perf_counter() - t0:.1f} s, {info})")
    else:
        ensure_venv("dolma", args.cache_dir)
        ensure_venv("datatrove", args.cache_dir)
        _smoke(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
