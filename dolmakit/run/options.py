"""How a stage runs its work, as one frozen value every stage call takes (`run_options=`).

Nothing here changes what a stage writes: output bytes never depend on the backend, the
worker count, progress or resume. `on_error` decides only whether a bad input line is
skipped (counted and logged) or stops the run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from dolmakit.errors import ConfigError
from dolmakit.io.rejects import OnError
from dolmakit.run.backends import Backend, SerialBackend, make_backend

ON_ERROR: dict[str, OnError] = {"skip": "skip", "fail": "fail"}


@dataclass(frozen=True)
class RunOptions:
    """Where shards run (`backend`), what a bad line does (`on_error`), progress and resume.

    `resume`: skip shards an earlier run of the same configuration completed. The default
    runs everything in this process, skipping bad lines, with a progress line on stderr.
    """

    backend: Backend = field(default_factory=SerialBackend)
    on_error: OnError = "skip"
    progress: bool = True
    resume: bool = True

    def __post_init__(self) -> None:
        on_error_of(self.on_error)

    @classmethod
    def make(
        cls,
        backend: str = "processes",
        workers: int | None = None,
        *,
        on_error: str = "skip",
        progress: bool = True,
        resume: bool = True,
        **backend_options: Any,
    ) -> RunOptions:
        """Return options with the backend called `backend` (`make_backend`) and `workers`."""
        if on_error not in ON_ERROR:
            raise ConfigError(f"on_error {on_error!r}: choose skip or fail")
        return cls(
            make_backend(backend, workers, **backend_options), ON_ERROR[on_error], progress, resume
        )

    @property
    def workers(self) -> int:
        """Return how many shards may run at once."""
        return self.backend.workers

    def replace(self, **changes: Any) -> RunOptions:
        """Return a copy with `changes` (e.g. `resume=False` for a pass that is never skipped)."""
        return dataclasses.replace(self, **changes)


def on_error_of(value: str) -> OnError:
    """Return `value` as an OnError, or fail naming the choices."""
    try:
        return ON_ERROR[value]
    except KeyError:
        raise ConfigError(f"on_error {value!r}: choose skip or fail") from None


def or_default(options: RunOptions | None) -> RunOptions:
    """Return `options`, or the defaults when None."""
    return options if options is not None else RunOptions()
