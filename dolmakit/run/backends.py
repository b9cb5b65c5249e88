"""Run work over workers: serially, on a process pool, or (extra) on Ray. One protocol.

A backend only decides where work runs; output bytes never depend on it, because every
shard is processed independently and written under names derived from its input. Two
shapes of work: `map` applies one function to many items (shards, partitions); `submit`
and `get` run a graph of tasks whose arguments are references to earlier tasks' results
(distributed connected components). Local backends run submitted tasks at once in this
process; Ray runs them as Ray tasks, at most `workers` at a time.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from typing import Any, Protocol, TypeVar

from dolmakit.errors import DolmakitError
from dolmakit.run.orphans import exit_with_parent
from dolmakit.run.progress import LocalCounter, install_counter
from dolmakit.startup import skip_pandas_probe

T = TypeVar("T")
R = TypeVar("R")
BACKENDS = ("serial", "processes", "ray")


class Backend(Protocol):
    """Where work runs: `map` over items, or `submit`/`get` for a graph of tasks.

    `distributed`: tasks may run on other machines, so a stage should not gather a large
    intermediate (all the edges of a dedup run) on this one, but keep it in tasks.
    """

    name: str
    workers: int
    distributed: bool

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        on_tick: Callable[[int, int], None] | None = None,
    ) -> Iterator[tuple[int, R]]:
        """Yield (index of item, fn(item)); call on_tick(docs, bytes) with progress totals."""
        ...

    def submit(
        self, fn: Callable[..., Sequence[Any]], args: Sequence[Any], num_returns: int
    ) -> list[Any]:
        """Start `fn(*args)`, which returns `num_returns` values; return a reference to each.

        `args` may hold references returned by earlier calls; the task gets their values.
        """
        ...

    def get(self, ref: Any) -> Any:
        """Return the value behind a reference from `submit` (waiting for it)."""
        ...


class LocalBackend(Backend):
    """A backend on this machine; `submit` and `get` run a task at once, here (refs are values)."""

    distributed = False

    def submit(
        self, fn: Callable[..., Sequence[Any]], args: Sequence[Any], num_returns: int
    ) -> list[Any]:
        """Call `fn(*args)` now and return its values."""
        result = list(fn(*args))
        if len(result) != num_returns:
            raise AssertionError(
                f"{getattr(fn, '__name__', fn)} returned {len(result)} values, not {num_returns}"
            )
        return result

    def get(self, ref: Any) -> Any:
        """Return `ref` (it already is the value)."""
        return ref


class SerialBackend(LocalBackend):
    """Run everything in this process, in input order (tests, --debug)."""

    name = "serial"
    workers = 1

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        on_tick: Callable[[int, int], None] | None = None,
    ) -> Iterator[tuple[int, R]]:
        counter = LocalCounter()

        def tick() -> None:
            if on_tick is not None:
                on_tick(counter[0], counter[1])

        install_counter(counter, tick)
        try:
            for i, item in enumerate(items):
                yield i, fn(item)
        finally:
            install_counter(None)


class ProcessBackend(LocalBackend):
    """Run shards on a pool of worker processes (default: one per core).

    Workers are started with 'spawn' so that no lock or thread state of the parent leaks into
    them; each worker imports heavy models once and reuses them for every shard it gets.
    One pool serves every `map` called from the thread that started it, so a stage of
    several passes (hash, group, mark) pays the workers' start-up and imports once; workers
    start on demand, up to `workers`. A pool is never used from another thread: workers
    exit when the thread that started them ends, or the parent process dies, even in the
    middle of a shard (dolmakit.run.orphans). A `map` that fails or is abandoned shuts the
    pool down; the next one starts a new pool. `close` ends the workers (so does exit).
    """

    name = "processes"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: futures.ProcessPoolExecutor | None = None
        self._counter: Any = None
        self._thread: threading.Thread | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the worker count only: a pool belongs to the process that started it."""
        return {"workers": self.workers}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.workers = state["workers"]
        self._pool, self._counter, self._thread = None, None, None

    def close(self) -> None:
        """End the pool's workers (a later `map` starts new ones)."""
        pool, self._pool, self._thread = self._pool, None, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _pool_here(self) -> tuple[futures.ProcessPoolExecutor, Any]:
        """Return this thread's pool and its progress counter, starting them if needed."""
        if self._pool is not None and self._thread is threading.current_thread():
            return self._pool, self._counter
        if self._pool is not None:  # started by another thread: never share its workers
            self._pool.shutdown(wait=False, cancel_futures=True)
        ctx = multiprocessing.get_context("spawn")
        self._counter = ctx.Array("q", 2)
        self._pool = futures.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=ctx,
            initializer=_start_worker,
            initargs=(self._counter, os.getpid()),
        )
        self._thread = threading.current_thread()
        return self._pool, self._counter

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        on_tick: Callable[[int, int], None] | None = None,
    ) -> Iterator[tuple[int, R]]:
        if not items:
            return
        pool, counter = self._pool_here()
        counter[0] = counter[1] = 0  # no worker is busy between maps
        try:
            pending = {pool.submit(fn, item): i for i, item in enumerate(items)}
            while pending:
                done, _ = futures.wait(pending, timeout=0.25, return_when=futures.FIRST_COMPLETED)
                if on_tick is not None:
                    on_tick(counter[0], counter[1])
                for future in sorted(done, key=lambda f: pending[f]):
                    index = pending.pop(future)
                    yield index, future.result()
        except BaseException:
            self.close()
            raise


def _start_worker(counter: Any, parent_pid: int) -> None:
    """Set up a pool worker: the progress counter, an exit when the parent dies, no pandas."""
    skip_pandas_probe()
    install_counter(counter)
    exit_with_parent(parent_pid)


def make_backend(name: str = "processes", workers: int | None = None, **options: Any) -> Backend:
    """Return the backend called `name`; Ray is imported only when asked for."""
    if name == "serial":
        return SerialBackend()
    if name == "processes":
        if workers == 1:
            return SerialBackend()
        return ProcessBackend(workers)
    if name == "ray":
        try:  # lazy: Ray is an optional extra, and slow to import
            from dolmakit.run.ray_backend import RayBackend
        except ImportError as exc:
            raise DolmakitError(
                "the Ray backend needs Ray: pip install 'dolmakit[ray]'"
                f" ({exc.name or exc} is missing)"
            ) from None
        return RayBackend(workers=workers, **options)
    raise DolmakitError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
