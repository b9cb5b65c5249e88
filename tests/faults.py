"""Fault injection over the command line: kill -9 every stage at seeded points, rerun, compare.

Stages run as `python -m dolmakit ...` subprocesses, so the harness depends only on the
command line, not on library signatures. Every stage runs in one fixed workspace folder
(paths written into outputs are then the same in every run): restored from the snapshot the
stages before it left, run once undisturbed for the reference, then once per kill point:
started, killed with SIGKILL (its whole process group) after a seeded delay, rerun to the
end, and every file of the workspace compared with the reference. Bookkeeping files that
name modification times (completion records) are left out of the comparison; temporaries
anywhere in the workspace after the rerun are a failure.

Used by tests/test_faults.py (a few kill points per stage) and scripts/fault_injection.py
(at least ten per stage).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_DOCUMENTS = ROOT / "dolmakit" / "demo_corpus" / "documents"
TMP_MARK = ".tmp-"
# Bookkeeping whose bytes name file modification times or process ids: a rerun rewrites them
# for the shards it redid. Outputs never live in these folders.
BOOKKEEPING_SUFFIXES = (".done.json",)

SPEC = """\
name: faults
version: 1
seed: 7
tokenizer: whitespace
sources:
  - name: handbook
    documents: [documents/debian-handbook/*.jsonl.zst]
    attributes: [tags, dedup_exact]
    filter: not exact.duplicate and tags.lengths.words > 20
    weight: 0.5
    licence: GPL-2.0-or-later
  - name: python
    documents: [documents/python-doc/*.jsonl.zst, documents/python-mirror/*.jsonl.zst]
    attributes: [dedup_exact, dedup_minhash]
    filter: not exact.duplicate and not minhash.duplicate
    weight: 0.3
    licence: PSF-2.0
  - name: rest
    documents: [documents/fortunes/*.jsonl.zst]
    weight: 0.2
    licence: LicenseRef-various
output:
  format: jsonl.zst
  shard_size: 64KB
"""
SPEC_SOURCES = ("debian-handbook", "python-doc", "python-mirror", "fortunes")


@dataclass(frozen=True)
class Stage:
    """One stage as a command line over the workspace `W` (`{W}` in the arguments)."""

    name: str
    args: tuple[str, ...]
    parallel: bool = True

    def argv(self, work: Path, backend: tuple[str, ...] = ()) -> list[str]:
        """Return the command line to run this stage in workspace `work` on `backend`."""
        args = [a.format(W=work) for a in self.args]
        return [sys.executable, "-m", "dolmakit", "-q", *args, *(backend if self.parallel else ())]


STAGES = (
    Stage(
        "tag",
        (
            "tag",
            "{W}/data/documents",
            "--run",
            "tags",
            "--taggers",
            "lengths,gopher_quality,gopher_repetition,c4,fineweb",
        ),
    ),
    Stage(
        "dedup-exact",
        ("dedup", "exact", "{W}/data/documents", "--run", "dedup_exact"),
    ),
    Stage(
        "dedup-minhash",
        ("dedup", "minhash", "{W}/data/documents", "--run", "dedup_minhash"),
    ),
    Stage(
        "mix",
        (
            "mix",
            "{W}/faults.yaml",
            "--data-root",
            "{W}/data",
            "--output",
            "{W}/mixes",
        ),
    ),
    Stage(
        "convert",
        ("convert", "{W}/data/documents", "{W}/converted", "--format", "parquet"),
    ),
    Stage("index", ("index", "{W}/mixes/faults/v1", "--shard-size", "64KB")),
    Stage(
        "contamination-index",
        (
            "contamination",
            "index",
            "quiz={W}/bench/quiz.jsonl",
            "--name",
            "quiz",
            "--fields",
            "question,answer",
            "--id-field",
            "id",
            "-n",
            "8",
            "-o",
            "{W}/bench/quiz.index",
        ),
        parallel=False,
    ),
    Stage("publish", ("publish", "{W}/mixes/faults/v1", "{W}/release"), parallel=False),
)
STAGE_NAMES = tuple(s.name for s in STAGES)


def make_workspace(work: Path, sources: tuple[str, ...] | None = None) -> None:
    """Write the inputs every stage starts from: the demo corpus, a mix spec, a benchmark.

    `sources` adds demo source folders to the ones the mix spec names (default: all).
    """
    keep = None if sources is None else {*SPEC_SOURCES, *sources}
    shutil.copytree(
        DEMO_DOCUMENTS,
        work / "data" / "documents",
        ignore=lambda folder, names: [
            n
            for n in names
            if keep is not None and Path(folder) == DEMO_DOCUMENTS and n not in keep
        ],
    )
    (work / "faults.yaml").write_text(SPEC)
    _write_with_bad_lines(work / "data" / "documents" / "fortunes" / "xx-0000.jsonl.zst")
    rows = []
    for i, line in enumerate(_demo_lines(40)):
        words = json.loads(line)["text"].split()
        if len(words) >= 60:
            mid = len(words) // 2
            rows.append(
                {
                    "id": f"q{i}",
                    "question": " ".join(words[mid - 30 : mid + 10]),
                    "answer": " ".join(words[mid + 10 : mid + 30]),
                }
            )
    bench = work / "bench" / "quiz.jsonl"
    bench.parent.mkdir(parents=True)
    bench.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _write_with_bad_lines(path: Path) -> None:
    """Write a shard of good documents and three bad lines, so every stage logs rejects."""
    import zstandard

    lines = [
        json.dumps({"id": f"xx-{i}", "text": f"A fortune of its own, number {i}."})
        for i in range(30)
    ]
    lines[7] = '{"id": "xx-7", "text": '
    lines[15] = "not json at all"
    lines[22] = '{"id": "xx-22"}'
    path.write_bytes(zstandard.ZstdCompressor().compress("\n".join(lines).encode() + b"\n"))


def _demo_lines(n: int) -> list[bytes]:
    import zstandard

    data = (DEMO_DOCUMENTS / "debian-handbook" / "en-0000.jsonl.zst").read_bytes()
    text = zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return text.splitlines()[:n]


def digest(work: Path) -> dict[str, str]:
    """Map every file under `work` but completion records to its sha256.

    A mix manifest is hashed without its `timing` section (when the build ran: not content).
    """
    out = {}
    for path in sorted(work.rglob("*")):
        if path.is_file() and not _bookkeeping(path):
            data = path.read_bytes()
            if path.name == "manifest.json":
                data = _without_timing(data)
            out[path.relative_to(work).as_posix()] = hashlib.sha256(data).hexdigest()
    return out


def _without_timing(data: bytes) -> bytes:
    try:
        manifest = json.loads(data)
    except ValueError:
        return data
    if isinstance(manifest, dict):
        manifest.pop("timing", None)
    return json.dumps(manifest, sort_keys=True).encode()


def _bookkeeping(path: Path) -> bool:
    return path.name.endswith(BOOKKEEPING_SUFFIXES)


def temporaries(work: Path) -> list[str]:
    """Return the temporary files left anywhere under `work`."""
    return sorted(p.relative_to(work).as_posix() for p in work.rglob(f"*{TMP_MARK}*"))


def restore(snapshot: Path, work: Path) -> None:
    """Make `work` an exact copy of `snapshot` (file modification times included).

    `work` itself is kept (it may be a mount point); only what is inside is replaced.
    """
    work.mkdir(parents=True, exist_ok=True)
    for child in work.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    shutil.copytree(snapshot, work, copy_function=shutil.copy2, dirs_exist_ok=True)


def run(argv: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run a command to its end; return what it printed."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


@dataclass
class KillOutcome:
    """One kill point: when it fired, whether the stage was still running, what the rerun did."""

    stage: str
    delay: float
    landed: bool
    rerun_code: int
    differing: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    stderr: str = ""

    @property
    def ok(self) -> bool:
        """Return true when the rerun succeeded with the reference bytes and no temporaries."""
        return self.rerun_code == 0 and not self.differing and not self.left


@dataclass
class StageReference:
    """A stage's undisturbed run: its snapshot before and after, its digest, how long it ran."""

    stage: Stage
    backend: tuple[str, ...]
    before: Path
    after: Path
    digest: dict[str, str]
    seconds: float


def build_references(
    base: Path, backend: tuple[str, ...] = (), sources: tuple[str, ...] | None = None
) -> list[StageReference]:
    """Run every stage once undisturbed in `base/work`, keeping a snapshot after each."""
    work = base / "work"
    first = base / "snap-inputs"
    if not first.exists():
        make_workspace(first, sources)
    refs = []
    before = first
    for stage in STAGES:
        restore(before, work)
        start = time.monotonic()
        done = run(stage.argv(work, backend))
        seconds = time.monotonic() - start
        if done.returncode != 0:
            raise AssertionError(f"{stage.name} failed undisturbed:\n{done.stderr}")
        after = base / f"snap-{stage.name}"
        if after.exists():
            shutil.rmtree(after)
        shutil.copytree(work, after, copy_function=shutil.copy2)
        refs.append(StageReference(stage, backend, before, after, digest(work), seconds))
        before = after
    return refs


STARTUP_SECONDS = 0.35
"""About how long `python -m dolmakit` takes to import before a stage starts work."""


def kill_delays(seed: int, stage: str, seconds: float, count: int) -> list[float]:
    """Return `count` seeded kill delays spread over a run of `seconds` (after start-up)."""
    rng = random.Random(f"{seed}:{stage}")
    start = min(STARTUP_SECONDS, seconds / 2)
    span = max(seconds - start, 0.01)
    # One delay in each of `count` equal slices, so the kills cover the whole run.
    return [start + span * (i + rng.random()) / count for i in range(count)]


def kill_and_rerun(ref: StageReference, work: Path, delay: float) -> KillOutcome:
    """Start the stage, SIGKILL it after `delay` seconds, rerun it, compare with the reference."""
    restore(ref.before, work)
    argv = ref.stage.argv(work, ref.backend)
    proc = subprocess.Popen(
        argv, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(delay)
    landed = proc.poll() is None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    _wait_for_group(proc.pid)
    # A kill after the stage's last write is no fault: the finished output is compared as it
    # is (rerunning a finished `publish` is refused by design).
    finished = not landed or (digest(work) == ref.digest and not temporaries(work))
    again = subprocess.CompletedProcess(argv, 0, "", "") if finished else run(argv)
    now = digest(work)
    differing = sorted(
        name for name in set(now) | set(ref.digest) if now.get(name) != ref.digest.get(name)
    )
    return KillOutcome(
        stage=ref.stage.name,
        delay=delay,
        landed=landed,
        rerun_code=again.returncode,
        differing=differing,
        left=temporaries(work),
        stderr=again.stderr[-2000:],
    )


def landing_kill(ref: StageReference, work: Path, delay: float, tries: int = 4) -> KillOutcome:
    """Kill at `delay`; if the stage had already finished, try again at half the delay.

    Run times vary with the machine's load, so a delay drawn from the reference run may fall
    after the end; the kill point is then moved earlier until it lands mid-run.
    """
    outcome = kill_and_rerun(ref, work, delay)
    while not outcome.landed and tries > 1 and outcome.ok:
        tries -= 1
        delay /= 2
        outcome = kill_and_rerun(ref, work, delay)
    return outcome


def _wait_for_group(pgid: int, timeout: float = 10) -> None:
    """Wait until no process of the killed group is left (pool workers die with it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)


def inject(
    base: Path,
    kills_per_stage: int,
    seed: int,
    stages: tuple[str, ...] = STAGE_NAMES,
    backend: tuple[str, ...] = (),
    sources: tuple[str, ...] | None = None,
    on_outcome: Callable[[KillOutcome], None] | None = None,
) -> tuple[list[StageReference], list[KillOutcome]]:
    """Build the references, then kill every chosen stage at seeded points; return both."""
    refs = build_references(base, backend, sources)
    outcomes = []
    for ref in refs:
        if ref.stage.name not in stages:
            continue
        for delay in kill_delays(seed, ref.stage.name, ref.seconds, kills_per_stage):
            outcome = landing_kill(ref, base / "work", delay)
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
    return refs, outcomes


# What a finished run of each stage writes last: a failed run must not leave it. (`convert`
# and `tag` have no whole-run record: each shard's output and record are its own.)
FINAL_FILES = {
    "dedup-exact": ("data/attributes/dedup_exact/.dolmakit/summary.json",),
    "dedup-minhash": ("data/attributes/dedup_minhash/.dolmakit/summary.json",),
    "mix": ("mixes/faults/v1/manifest.json",),
    "index": ("mixes/faults/v1/index/index.json",),
    "contamination-index": ("bench/quiz.index/index.json",),
    "publish": ("release/README.md", "release/croissant.json"),
}


def mount_tmpfs(folder: Path, size: int) -> None:
    """Mount a tmpfs of `size` bytes on `folder` (needs root)."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)


def resize_tmpfs(folder: Path, size: int) -> None:
    """Change the size of the tmpfs mounted on `folder`."""
    subprocess.run(["mount", "-o", f"remount,size={size}", str(folder)], check=True)


def unmount(folder: Path) -> None:
    """Unmount `folder` (lazily, so a process still in it cannot block the test's clean-up)."""
    subprocess.run(["umount", "-l", str(folder)], check=False)


def used_bytes(folder: Path) -> int:
    """Return the bytes in use on the file system holding `folder`."""
    st = os.statvfs(folder)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


PAGE = 4096
ROOMY = 256 << 20


@dataclass
class FullDiskOutcome:
    """A stage run on a disk that fills up, then rerun with space."""

    stage: str
    work: str
    room: int
    code: int
    stderr: str
    partial: list[str]
    finals: list[str]
    left: list[str]
    rerun_code: int
    differing: list[str]

    def problems(self) -> list[str]:
        """Return what went wrong; empty when the stage failed cleanly and recovered."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        out = []
        if self.code == 0:
            out.append(f"exit 0 on a full disk (room {self.room} bytes)")
        if not lines or len(lines) != 1 or "ENOSPC" not in lines[-1]:
            out.append(f"not one line naming ENOSPC: {self.stderr[-1500:]!r}")
        elif self.work not in lines[-1]:
            out.append(f"the error names no path: {lines[-1]!r}")
        if self.partial:
            out.append(f"files differing from a finished run's: {self.partial[:5]}")
        if self.finals:
            out.append(f"a final file was written: {self.finals}")
        if self.left:
            out.append(f"temporaries left: {self.left[:5]}")
        if self.rerun_code != 0:
            out.append(f"the rerun with space failed ({self.rerun_code})")
        if self.differing:
            out.append(f"the rerun differs from an undisturbed run: {self.differing[:5]}")
        return out


def fill_disk(ref: StageReference, work: Path, fraction: float = 0.5) -> FullDiskOutcome:
    """Run the stage with room for `fraction` of what it writes, then rerun it with space.

    `work` is a tmpfs mount point (mount_tmpfs) on which `ref` was built.
    """
    resize_tmpfs(work, ROOMY)
    restore(ref.after, work)
    after = used_bytes(work)
    restore(ref.before, work)
    before = used_bytes(work)
    room = max(PAGE, int((after - before) * fraction) // PAGE * PAGE)
    resize_tmpfs(work, before + room)
    argv = ref.stage.argv(work, ref.backend)
    failed = run(argv)
    now = digest(work)
    # Work folders (`.work/`, removed when a run finishes) hold parts, not outputs.
    partial = sorted(
        name
        for name, sha in now.items()
        if ref.digest.get(name) != sha and ".work" not in Path(name).parts
    )
    finals = [name for name in FINAL_FILES.get(ref.stage.name, ()) if (work / name).exists()]
    left = temporaries(work)
    resize_tmpfs(work, ROOMY)
    again = run(argv)
    final = digest(work)
    differing = sorted(
        name for name in set(final) | set(ref.digest) if final.get(name) != ref.digest.get(name)
    )
    return FullDiskOutcome(
        ref.stage.name,
        str(work),
        room,
        failed.returncode,
        failed.stderr,
        partial,
        finals,
        left,
        again.returncode,
        differing,
    )
