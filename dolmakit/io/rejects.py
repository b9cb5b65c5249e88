"""Count and record input lines that could not be used, with their reasons.

Invariant kept by every stage: lines read = documents written + lines rejected. Every stage
lists its rejected lines in one place, `<output>/.dolmakit/rejects.jsonl` (`rejects_file`),
where `<output>` is the folder the stage writes (docs/format.md, "Rejected lines").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

import msgspec

from dolmakit.errors import InputError
from dolmakit.io import storage

OnError = Literal["skip", "fail"]
REJECTS_FILE = Path(".dolmakit") / "rejects.jsonl"
_encoder = msgspec.json.Encoder()


@dataclass
class Rejects:
    """Collect rejected lines; with `on_error='fail'` the first one raises an InputError."""

    on_error: OnError = "skip"
    log_path: Path | None = None
    counts: Counter[str] = field(default_factory=Counter)
    _log: IO[bytes] | None = None

    def add(self, path: str, line: int, reason: str) -> None:
        """Record one rejected line (or whole file, line 0) with its reason."""
        if self.on_error == "fail":
            raise InputError(path, line, reason)
        self.counts[_reason_class(reason)] += 1
        if self.log_path is not None:
            if self._log is None:
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                self._log = storage.open_write(self.log_path)
            self._log.write(_encoder.encode({"path": path, "line": line, "reason": reason}))
            self._log.write(b"\n")

    @property
    def total(self) -> int:
        """Return the number of rejected lines."""
        return sum(self.counts.values())

    def close(self) -> None:
        """Flush the log file."""
        if self._log is not None:
            self._log.close()
            self._log = None


def rejects_file(output: Path) -> Path:
    """Return where a stage that writes into the folder `output` lists its rejected lines."""
    return output / REJECTS_FILE


def _reason_class(reason: str) -> str:
    """Group reasons for the summary: the text before the first colon."""
    return reason.split(":", 1)[0]
