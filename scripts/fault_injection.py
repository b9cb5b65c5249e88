"""Kill every stage with SIGKILL at seeded points, rerun it, and compare its bytes (long form).

Usage:
    python scripts/fault_injection.py [--kills 10] [--seed 1] [--workers 2] [--stages tag,mix]

Each stage of tests/faults.py (tag, dedup exact and minhash, mix, convert, index,
contamination index, publish) runs once undisturbed on the demo corpus, then once per kill
point: killed after a seeded delay, rerun to its end, every output file compared with the
undisturbed run's. Prints one line per kill point and a table per stage; exits 1 if any rerun
failed, differed or left a temporary file. The short form is tests/test_faults.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.faults import STAGE_NAMES, KillOutcome, inject


def main() -> int:
    """Run the long fault-injection suite and print what it found."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10, help="Kill points per stage.")
    parser.add_argument("--seed", type=int, default=1, help="Seed of the kill delays.")
    parser.add_argument(
        "--workers", type=int, default=2, help="Worker processes (0: the serial backend)."
    )
    parser.add_argument("--stages", default=",".join(STAGE_NAMES), help="Stages to kill.")
    parser.add_argument("--keep", type=Path, default=None, help="Work here and keep the files.")
    args = parser.parse_args()
    backend = ("--backend", "serial") if args.workers == 0 else ("--workers", str(args.workers))
    stages = tuple(s for s in args.stages.split(",") if s)
    unknown = sorted(set(stages) - set(STAGE_NAMES))
    if unknown:
        parser.error(f"unknown stages {', '.join(unknown)}; known: {', '.join(STAGE_NAMES)}")

    def show(outcome: KillOutcome) -> None:
        state = "ok" if outcome.ok else "FAILED"
        where = "mid-run" if outcome.landed else "after the end"
        print(f"{outcome.stage:20} kill at {outcome.delay:6.2f} s ({where}): {state}", flush=True)
        if not outcome.ok:
            print(f"  rerun exit {outcome.rerun_code}; differing {outcome.differing[:5]}")
            print(f"  temporaries {outcome.left[:5]}\n  {outcome.stderr.strip()[-800:]}")

    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dolmakit-faults-") as scratch:
        base = args.keep or Path(scratch)
        base.mkdir(parents=True, exist_ok=True)
        refs, outcomes = inject(base, args.kills, args.seed, stages, backend, on_outcome=show)
    by_stage: dict[str, list[KillOutcome]] = defaultdict(list)
    for outcome in outcomes:
        by_stage[outcome.stage].append(outcome)
    print(f"\nbackend {' '.join(backend)}, seed {args.seed}, {time.monotonic() - start:.0f} s")
    print(f"{'stage':20} {'undisturbed s':>13} {'kills':>5} {'mid-run':>7} {'identical':>9}")
    for ref in refs:
        runs = by_stage.get(ref.stage.name, [])
        landed = sum(o.landed for o in runs)
        good = sum(o.ok for o in runs)
        print(f"{ref.stage.name:20} {ref.seconds:13.2f} {len(runs):5} {landed:7} {good:9}")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
