"""Options shared by the commands that run over shards, and the error-printing group.

Command modules (`dolmakit/cli/*.py`) import these from here, not from `dolmakit.cli.main`,
which imports them to register their commands: that way no import depends on the order.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import click

from dolmakit.errors import DolmakitError
from dolmakit.io.atomic import write_failure
from dolmakit.run.backends import BACKENDS
from dolmakit.run.options import ON_ERROR, RunOptions
from dolmakit.run.runner import RunSummary

F = TypeVar("F", bound=Callable[..., Any])


class DolmakitGroup(click.Group):
    """Show user errors (and a full disk or memory anywhere) as one line, with no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DolmakitError as exc:
            raise click.ClickException(str(exc)) from None
        except FileNotFoundError as exc:
            if not exc.filename:
                raise
            # a file that was there when the run began (stages check inputs up front)
            raise click.ClickException(
                f"{exc.filename}: no such file: was it moved or deleted while dolmakit ran?"
                " rerun when the inputs stay put (finished parts are kept)"
            ) from None
        except OSError as exc:
            failure = write_failure(exc, None)
            if failure is None:
                raise
            raise click.ClickException(str(failure)) from None
        except MemoryError as exc:  # pyarrow's ArrowMemoryError is one too
            detail = f" ({exc})" if str(exc) else ""
            raise click.ClickException(
                f"out of memory{detail}: rerun with fewer --workers (or a smaller --shard-size"
                " for dolmakit index) or with more memory; finished parts are kept"
            ) from None


def run_options(
    *, backends: bool = True, on_error: bool = True, workers: int | None = None
) -> Callable[[F], F]:
    """Add the options saying how a command's work runs; pass them on as one RunOptions.

    The command gets `run_options: RunOptions` in place of --backend, --ray-address,
    --workers and --on-error (progress comes from the group's --quiet). `backends=False`:
    only --workers, for a local process pool; `workers`: its default (None: all cores).
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def command(*args: Any, **kwargs: Any) -> Any:
            ctx = click.get_current_context()
            options = options_from(
                kwargs.pop("backend", "processes"),
                kwargs.pop("workers"),
                kwargs.pop("ray_address", None),
                on_error=kwargs.pop("on_error", "skip"),
                progress=bool((ctx.obj or {}).get("progress", True)),
            )
            kwargs["run_options"] = options
            try:
                return fn(*args, **kwargs)
            finally:
                # End a process pool's workers now, not at interpreter exit: Python 3.11's
                # exit hook can wake the pool's manager thread while it closes its pipe,
                # which prints "Exception ignored ... Bad file descriptor" after the summary.
                close = getattr(options.backend, "close", None)
                if callable(close):
                    close()

        wrapped = cast(F, command)
        if on_error:
            wrapped = click.option(
                "--on-error",
                type=click.Choice(list(ON_ERROR)),
                default="skip",
                show_default=True,
                help="skip: log bad lines to a rejects file and go on; fail: stop at the first.",
            )(wrapped)
        wrapped = click.option(
            "--workers",
            type=int,
            default=workers,
            show_default=workers is not None,
            help="Worker processes." if workers else "Worker processes (default: all cores).",
        )(wrapped)
        if backends:
            wrapped = click.option(
                "--ray-address",
                default=None,
                metavar="ADDR",
                help="With --backend ray: join this Ray cluster (e.g. auto); default: start a"
                " local Ray.",
            )(wrapped)
            wrapped = click.option(
                "--backend",
                type=click.Choice(BACKENDS),
                default="processes",
                show_default=True,
                help="Where shards run: this process, a process pool, or a Ray cluster.",
            )(wrapped)
        return wrapped

    return decorate


def options_from(
    backend: str,
    workers: int | None,
    ray_address: str | None,
    *,
    on_error: str,
    progress: bool,
) -> RunOptions:
    """Return the run options given on the command line (--ray-address only with Ray)."""
    extra: dict[str, Any] = {}
    if ray_address:
        if backend != "ray":
            raise DolmakitError("--ray-address needs --backend ray")
        extra["address"] = ray_address
    return RunOptions.make(backend, workers, on_error=on_error, progress=progress, **extra)


def report(summary: RunSummary[Any]) -> None:
    """Print a stage summary to standard error."""
    for line in summary.lines():
        click.echo(line, err=True)
