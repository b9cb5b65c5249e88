"""datatrove driver: JSONL reader -> Gopher / C4 / FineWeb quality filters -> JSONL writer.

Runs with the datatrove venv's python (see benchmarks/peers.py), not dolmakit's:

    .venvs/datatrove/bin/python peer_scripts/datatrove_filters.py \
        --input DATASET/documents --output OUT --tasks 2 --workers 2

Prints one JSON line on stdout: {"seconds", "docs_in", "docs_kept", "dropped": {filter: n}}.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.filters import C4QualityFilter, FineWebQualityFilter, GopherQualityFilter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

FILTERS = {
    "gopher": lambda lang: GopherQualityFilter(language=lang),
    "c4": lambda lang: C4QualityFilter(language=lang),
    "fineweb": lambda lang: FineWebQualityFilter(language=lang),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True, help="folder holding the JSONL files")
    ap.add_argument("--glob", default="**/*.jsonl*", help="file pattern under --input")
    ap.add_argument("--output", required=True, help="output folder (replaced)")
    ap.add_argument("--filters", default="gopher,c4,fineweb")
    ap.add_argument("--language", default="en")
    ap.add_argument("--tasks", type=int, default=1)
    ap.add_argument("--workers", type=int, default=-1)
    ap.add_argument("--compression", default="zstd", choices=["zstd", "gzip", "none"])
    ap.add_argument("--limit", type=int, default=-1)
    args = ap.parse_args(argv)

    out = Path(args.output)
    if out.exists():
        shutil.rmtree(out)
    names = [n for n in args.filters.split(",") if n]
    pipeline = [
        JsonlReader(
            args.input,
            glob_pattern=args.glob,
            compression="infer",
            limit=args.limit,
            add_file_path=False,
        ),
        *(FILTERS[n](args.language) for n in names),
        JsonlWriter(
            str(out / "documents"),
            output_filename="${rank}.jsonl"
            + {"zstd": ".zst", "gzip": ".gz"}.get(args.compression, ""),
            compression=None if args.compression == "none" else args.compression,
        ),
    ]
    executor = LocalPipelineExecutor(
        pipeline=pipeline,
        tasks=args.tasks,
        workers=args.workers,
        logging_dir=str(out / "logs"),
        skip_completed=False,
    )
    t0 = time.perf_counter()
    executor.run()
    seconds = time.perf_counter() - t0

    stats = json.loads((out / "logs" / "stats.json").read_text())
    summary: dict = {"seconds": round(seconds, 3), "filters": names, "dropped": {}}
    for step in stats:
        raw, counters = step.get("name", ""), step.get("stats", {})
        name = re.sub(r"[^\w .-]", "", raw.split(":", 1)[-1]).strip()
        if "READER" in raw:
            summary["docs_in"] = counters.get("documents", {}).get("total")
        elif "WRITER" in raw:
            summary["docs_kept"] = counters.get("total")
        elif "dropped" in counters:
            summary["dropped"][name] = counters["dropped"]
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
