"""Run shards as Ray tasks on a local or remote Ray cluster (extra: `dolmakit[ray]`).

Same contract as the other backends: results are per shard and outputs are written under
names derived from inputs, so bytes never depend on where a task ran. A task whose worker
dies is retried by Ray (`max_retries`); the shard function writes under temporary names and
renames only complete files, so a retry starts clean. Exceptions raised by the shard function
(bad input with --on-error fail, bugs) are not retried: they reach the caller as themselves.

Tasks submitted as a graph (`submit`/`get`: the distributed connected components of a dedup
run) run the same way, retried likewise, at most `workers` at a time.

Ray reuses a job's worker processes for all of its tasks, so per-process caches (taggers from
`load_tagger`) load once per worker, not once per shard. Progress: each task reports its
running document and byte totals, at most twice a second, to one small actor per Ray job;
the driver polls the sum. Totals are per shard, so a retried shard is not counted twice.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from dolmakit.errors import DolmakitError
from dolmakit.io.storage import S3_ENV
from dolmakit.run.progress import LocalCounter, install_counter

T = TypeVar("T")
R = TypeVar("R")
MAX_RETRIES = 3
REPORT_INTERVAL_SECONDS = 0.5
WAIT_SECONDS = 0.25
REPORT_TIMEOUT_SECONDS = 10.0
# Environment variables that configure dolmakit in workers (e.g. --max-line-bytes), and the
# driver's S3 endpoint, region and credentials (dolmakit.io.storage.S3_ENV) if it has them set.
# Workers on other machines do not inherit the driver's environment, so tasks carry them.
ENV_PREFIX = "DOLMAKIT_"
INSTALL_HINT = "the Ray backend needs Ray: pip install 'dolmakit[ray]'"
_runs = itertools.count()
_progress_actors: dict[str, Any] = {}


def import_ray() -> Any:
    """Import Ray, or fail with the install hint."""
    try:
        import ray
    except ImportError as exc:
        raise DolmakitError(f"{INSTALL_HINT} ({exc.name or exc} is missing)") from None
    return ray


class RayBackend:
    """Run each shard as one Ray task; start a local Ray unless an address is given.

    `address` is anything `ray.init` accepts ('auto', 'HOST:6379', 'ray://HOST:10001');
    without it, $RAY_ADDRESS is used if set, else a local Ray with `workers` CPUs starts.
    On a cluster with more CPUs than `workers`, at most `workers` shards run at once.
    """

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        self._ray = import_ray()
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        # Errors of tasks are raised by `map` itself; Ray's own "unhandled error" log lines
        # about the other tasks of a failed run would only repeat them.
        os.environ.setdefault("RAY_IGNORE_UNHANDLED_ERRORS", "1")
        if not self._ray.is_initialized():
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "logging_level": "warning",
                "log_to_driver": False,
            }
            if self.address is None:
                kwargs["num_cpus"] = workers or os.cpu_count() or 1
            else:
                kwargs["address"] = self.address
            try:
                self._ray.init(**kwargs)
            except ConnectionError as exc:
                raise DolmakitError(
                    f"cannot join the Ray cluster at {self.address}: {exc}"
                ) from None
        cpus = int(self._ray.cluster_resources().get("CPU", 1))
        # Below the cluster's CPUs, `workers` caps the shards running at once; otherwise as
        # many tasks again wait queued, so a worker starts its next shard without a round trip.
        limit = workers if workers is not None and workers < cpus else None
        self.workers = limit or cpus
        self._in_flight = limit or 2 * cpus
        # Exported to the cluster once per backend, not once per stage run.
        self._task = self._ray.remote(num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=False)(
            run_task
        )
        self._graph_task = self._ray.remote(
            num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=False
        )(run_graph_task)
        # First reference of each submitted task not yet seen finished; its most at once.
        self._running: list[Any] = []
        self.peak_tasks = 0

    distributed = True

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        on_tick: Callable[[int, int], None] | None = None,
    ) -> Iterator[tuple[int, R]]:
        """Yield (index, fn(item)) in completion order; keep a bounded number of tasks queued."""
        if not items:
            return
        ray = self._ray
        run = f"{os.getpid()}-{next(_runs)}"
        reporter = self._progress_actor() if on_tick is not None else None
        env = driver_env()
        task = self._task
        fn_ref = ray.put(fn)
        queue = iter(enumerate(items))
        pending: dict[Any, int] = {}

        def submit() -> None:
            for index, item in queue:
                pending[task.remote(fn_ref, item, env, reporter, (run, index))] = index
                if len(pending) >= self._in_flight:
                    return

        def tick() -> None:
            nonlocal reporter
            if reporter is not None and on_tick is not None:
                try:
                    on_tick(*ray.get(reporter.total.remote(run), timeout=REPORT_TIMEOUT_SECONDS))
                except ray.exceptions.RayError:  # progress is best effort: go on without it
                    reporter = None

        try:
            submit()
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=WAIT_SECONDS)
                tick()
                for ref in done:
                    index = pending.pop(ref)
                    yield index, self._result(ref, items[index])
                submit()
            tick()
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        finally:
            if reporter is not None:
                reporter.forget.remote(run)

    def submit(
        self, fn: Callable[..., Sequence[Any]], args: Sequence[Any], num_returns: int
    ) -> list[Any]:
        """Submit `fn(*args)` as a Ray task once fewer than `workers` tasks are running.

        Tasks are submitted in dependency order (a task's arguments come from earlier
        tasks), so waiting for the earliest to finish can never wait on a later one.
        """
        ray = self._ray
        if self._running:
            _, self._running = ray.wait(self._running, num_returns=len(self._running), timeout=0)
        while len(self._running) >= self.workers:
            _, self._running = ray.wait(self._running, num_returns=1)
        task = self._graph_task.options(num_returns=num_returns)
        refs = task.remote(driver_env(), num_returns, fn, *args)
        out = [refs] if num_returns == 1 else list(refs)
        self._running.append(out[0])
        self.peak_tasks = max(self.peak_tasks, len(self._running))
        return out

    def get(self, ref: Any) -> Any:
        """Fetch one result of a submitted task."""
        return self._ray.get(ref)

    def _result(self, ref: Any, item: object) -> Any:
        """Return a task's value; re-raise the shard function's own exception unwrapped."""
        ray = self._ray
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause
            if isinstance(cause, BaseException):
                raise cause from None
            raise
        except ray.exceptions.WorkerCrashedError:
            raise DolmakitError(
                f"{_describe(item)}: the Ray worker died {MAX_RETRIES + 1} times running it"
                " (out of memory? see the Ray logs); completed shards are kept, rerun to resume"
            ) from None
        except ray.exceptions.RayError as exc:  # e.g. killed by Ray's memory monitor, node lost
            raise DolmakitError(
                f"{_describe(item)}: {type(exc).__name__}: {exc}; completed shards are kept,"
                " rerun to resume"
            ) from None

    def _progress_actor(self) -> Any:
        # One actor per Ray job, shared by every backend and stage run of this driver (runs are
        # kept apart by their keys). The module holds its handle: Ray ends an actor once no
        # handle to it is left, and the job's end ends it too.
        job = self._ray.get_runtime_context().get_job_id()
        if job not in _progress_actors:
            actor = self._ray.remote(num_cpus=0, max_restarts=1)(ProgressTotals)
            _progress_actors[job] = actor.remote()
        return _progress_actors[job]


class ProgressTotals:
    """Hold the latest (documents, bytes) of every shard of every run (a Ray actor)."""

    def __init__(self) -> None:
        self._shards: dict[tuple[str, int], tuple[int, int]] = {}

    def set(self, key: tuple[str, int], docs: int, nbytes: int) -> None:
        """Record a shard's running totals; a retry restarts them from zero."""
        self._shards[key] = (docs, nbytes)

    def total(self, run: str) -> tuple[int, int]:
        """Return the sums over the shards of one run."""
        docs = nbytes = 0
        for (r, _), (d, b) in self._shards.items():
            if r == run:
                docs += d
                nbytes += b
        return docs, nbytes

    def forget(self, run: str) -> None:
        """Drop a finished run's totals."""
        self._shards = {k: v for k, v in self._shards.items() if k[0] != run}


def driver_env() -> dict[str, str]:
    """Return the driver's settings that tasks carry to workers (ENV_PREFIX, S3_ENV)."""
    return {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX) or k in S3_ENV}


def run_graph_task(
    env: Mapping[str, str], num_returns: int, fn: Callable[..., Sequence[Any]], *args: Any
) -> Any:
    """Run one submitted task in a Ray worker with the driver's settings; one value unlisted."""
    os.environ.update(env)
    values = fn(*args)
    # Ray returns a task of one value as that value, not as a list of one.
    return values[0] if num_returns == 1 else values


def run_task(
    fn: Callable[[T], R],
    item: T,
    env: Mapping[str, str],
    reporter: Any,
    key: tuple[str, int],
) -> R:
    """Run one shard inside a Ray worker with the driver's settings and a progress counter."""
    import ray  # optional dependency: imported where it runs, a Ray worker

    os.environ.update(env)
    counter = LocalCounter()
    if reporter is None:
        install_counter(None)
        return fn(item)
    last = 0.0

    def report(force: bool = False) -> None:
        nonlocal last
        now = time.monotonic()
        if force or now - last >= REPORT_INTERVAL_SECONDS:
            last = now
            ref = reporter.set.remote(key, counter[0], counter[1])
            if force:  # the shard's final totals land before its result does
                # Progress is best effort: never fail a shard over it.
                with contextlib.suppress(Exception):
                    ray.get(ref, timeout=REPORT_TIMEOUT_SECONDS)

    install_counter(counter, report)
    try:
        return fn(item)
    finally:
        install_counter(None)
        report(force=True)


def _describe(item: object) -> str:
    key = getattr(item, "key", None)
    return f"shard {key}" if isinstance(key, str) else "a task"
