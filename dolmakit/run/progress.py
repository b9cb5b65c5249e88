"""Report progress: a live line on a terminal, plain log lines otherwise.

Shard functions call `advance(docs, nbytes)` as they go; in worker processes this adds to a
counter shared with the parent, which the parent reads while it waits for shards.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from dolmakit.io.units import counted

LOG_INTERVAL_SECONDS = 5.0
ETA_MIN_SHARDS = 3
ETA_MIN_FRACTION = 0.1
_counter: Any = None
_on_advance: Callable[[], None] | None = None


class LocalCounter:
    """An in-process stand-in for a shared `multiprocessing.Array('q', 2)`."""

    def __init__(self) -> None:
        self._values = [0, 0]
        self._lock = threading.Lock()

    def get_lock(self) -> threading.Lock:
        return self._lock

    def __getitem__(self, i: int) -> int:
        return self._values[i]

    def __setitem__(self, i: int, value: int) -> None:
        self._values[i] = value


def install_counter(counter: Any, on_advance: Callable[[], None] | None = None) -> None:
    """Make `advance` add to `counter` (called in each worker at start-up)."""
    global _counter, _on_advance
    _counter = counter
    _on_advance = on_advance


def advance(docs: int, nbytes: int) -> None:
    """Add processed documents and bytes to the run's counter, if one is installed."""
    counter = _counter
    if counter is None:
        return
    with counter.get_lock():
        counter[0] += docs
        counter[1] += nbytes
    if _on_advance is not None:
        _on_advance()


class Tally:
    """Batch calls to `advance` so that per-document bookkeeping stays cheap."""

    __slots__ = ("_bytes", "_docs")

    def __init__(self) -> None:
        self._docs = 0
        self._bytes = 0

    def add(self, nbytes: int) -> None:
        """Count one document of `nbytes` bytes."""
        self._docs += 1
        self._bytes += nbytes
        if self._docs >= 2048:
            self.flush()

    def flush(self) -> None:
        """Hand the batched counts to `advance`."""
        if self._docs:
            advance(self._docs, self._bytes)
            self._docs = 0
            self._bytes = 0


class Progress:
    """Show documents/s, MB/s, shards done and an ETA for one stage.

    The ETA appears once it means something: after `ETA_MIN_SHARDS` shards and
    `ETA_MIN_FRACTION` of the input bytes are done, measured from the first finished shard
    (so start-up work such as loading models does not inflate it), and never on the last line.
    """

    def __init__(
        self,
        label: str,
        total_shards: int,
        total_input_bytes: int,
        stream: TextIO | None = None,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total_shards = total_shards
        self.total_input_bytes = max(total_input_bytes, 1)
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.live = enabled and self.stream.isatty()
        self._clock = clock
        self.start = clock()
        self.shards_done = 0
        self.input_bytes_done = 0
        self.docs = 0
        self.nbytes = 0
        self._first_done: tuple[float, int] | None = None
        self._last_draw = clock() if not self.live else 0.0

    def update(self, docs: int, nbytes: int) -> None:
        """Take the current totals of documents and bytes processed."""
        self.docs, self.nbytes = docs, nbytes
        now = self._clock()
        if self.live and now - self._last_draw >= 0.2:
            self._last_draw = now
            self.stream.write("\r" + self._line() + "\x1b[K")
            self.stream.flush()

    def skipped(self, shards: int, input_bytes: int) -> None:
        """Record shards that an earlier run completed."""
        if not shards:
            return
        self.total_shards -= shards
        self.total_input_bytes = max(self.total_input_bytes - input_bytes, 1)
        if self.enabled:
            done = "shard already complete" if shards == 1 else "shards already complete"
            self.stream.write(f"{self.label}: {shards:,} {done}, skipped\n")
            self.stream.flush()

    def shard_done(self, name: str, input_bytes: int) -> None:
        """Record one finished shard; off a terminal, log at most one line per interval.

        `name` is what the user knows the shard by (its input path, see `short_names`).
        """
        self.shards_done += 1
        self.input_bytes_done += input_bytes
        now = self._clock()
        if self._first_done is None:
            self._first_done = (now, self.input_bytes_done)
        if not self.enabled:
            return
        if self.live:
            self.update(self.docs, self.nbytes)
            return
        if now - self._last_draw >= LOG_INTERVAL_SECONDS or self.shards_done == self.total_shards:
            self._last_draw = now
            last = f" · last: {name}" if self.shards_done > 1 or self.total_shards > 1 else ""
            self.stream.write(self._line() + last + "\n")
            self.stream.flush()

    def finish(self) -> None:
        """End the live line."""
        if self.enabled and self.live:
            self.stream.write("\r" + self._line() + "\x1b[K\n")
            self.stream.flush()

    def _rates(self) -> str:
        elapsed = max(self._clock() - self.start, 1e-6)
        out = f"{counted(self.docs, 'doc')} · {self.docs / elapsed:,.0f} docs/s"
        if self.nbytes:  # steps that read no text (writing attributes) have no byte rate
            out += f" · {self.nbytes / elapsed / 1e6:,.1f} MB/s"
        return out

    def eta(self) -> float | None:
        """Return the seconds left, or None while too little is done to tell (or all is)."""
        if self._first_done is None or self.shards_done >= self.total_shards:
            return None
        fraction = self.input_bytes_done / self.total_input_bytes
        if self.shards_done < ETA_MIN_SHARDS or fraction < ETA_MIN_FRACTION:
            return None
        since, bytes_then = self._first_done
        seconds = self._clock() - since
        measured = self.input_bytes_done - bytes_then
        if seconds <= 0 or measured <= 0:
            return None
        return seconds * (self.total_input_bytes - self.input_bytes_done) / measured

    def _line(self) -> str:
        elapsed = self._clock() - self.start
        eta = self.eta()
        return (
            f"{self.label}: {self.shards_done:,}/{counted(self.total_shards, 'shard')}"
            f" · {self._rates()} · elapsed {_clock(elapsed)}"
            + (f" · ETA {_clock(eta)}" if eta is not None else "")
        )


def short_names(paths: Sequence[Path]) -> list[str]:
    """Return each path relative to the deepest folder holding them all, as the user knows it.

    Inputs under `<dataset>/documents/` come out as `python-doc/en-0000.jsonl.zst`; a
    single file as its name.
    """
    if not paths:
        return []
    common = list(paths[0].parent.parts)
    for path in paths[1:]:
        parts = path.parent.parts
        n = 0
        while n < min(len(common), len(parts)) and common[n] == parts[n]:
            n += 1
        del common[n:]
    return ["/".join(path.parts[len(common) :]) for path in paths]


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
