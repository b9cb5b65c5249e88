"""Options shared by the commands that run over shards, and the error-printing group.

Stage command modules (`*_cli.py`) import these from here, not from `dolmakit.cli.main`, which
imports the stage modules to register them: that way no module import depends on the order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from dolmakit.errors import DolmakitError
from dolmakit.io.atomic import write_failure
from dolmakit.run.backends import BACKENDS, Backend, make_backend
from dolmakit.run.runner import RunSummary

F = TypeVar("F", bound=Callable[..., Any])
RAY_ADDRESS_KEY = "dolmakit.ray_address"


class DolmakitGroup(click.Group):
    """Show user errors (and a full disk anywhere) as one line, with no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DolmakitError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            failure = write_failure(exc, None)
            if failure is None:
                raise
            raise click.ClickException(str(failure)) from None


def runner_options(fn: F) -> F:
    """Add --backend, --ray-address, --workers and --on-error to a command over shards."""
    fn = click.option(
        "--on-error",
        type=click.Choice(["skip", "fail"]),
        default="skip",
        show_default=True,
        help="skip: log bad lines to a rejects file and go on; fail: stop at the first.",
    )(fn)
    return backend_options(fn)


def backend_options(fn: F) -> F:
    """Add --backend, --ray-address and --workers to a command that runs work in parallel."""
    fn = click.option(
        "--workers", type=int, default=None, help="Worker processes (default: all cores)."
    )(fn)
    fn = click.option(
        "--ray-address",
        default=None,
        metavar="ADDR",
        expose_value=False,
        callback=_remember_ray_address,
        help="With --backend ray: join this Ray cluster (e.g. auto); default: start a local Ray.",
    )(fn)
    fn = click.option(
        "--backend",
        type=click.Choice(BACKENDS),
        default="processes",
        show_default=True,
        help="Where shards run: this process, a process pool, or a Ray cluster.",
    )(fn)
    return fn


def _remember_ray_address(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    # Kept out of the command's arguments, so commands need no parameter for it.
    if value:
        ctx.meta[RAY_ADDRESS_KEY] = value


def backend_from(backend: str, workers: int | None, **options: Any) -> Backend:
    """Build the backend chosen on the command line (with --ray-address if given)."""
    ctx = click.get_current_context(silent=True)
    address = ctx.meta.get(RAY_ADDRESS_KEY) if ctx is not None else None
    if address is not None:
        if backend != "ray":
            raise DolmakitError("--ray-address needs --backend ray")
        options.setdefault("address", address)
    return make_backend(backend, workers, **options)


def report(summary: RunSummary) -> None:
    """Print a stage summary to standard error."""
    for line in summary.lines():
        click.echo(line, err=True)
