"""Run shards as Ray tasks on a local or remote Ray cluster (extra: `dolmakit[ray]`).

Same contract as the other backends: results are per shard and outputs are written under
names derived from inputs, so bytes never depend on where a task ran. A task whose worker
dies is retried by Ray (`max_retries`); the shard function's atomic writes make a retry safe.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from dolmakit.errors import DolmakitError

T = TypeVar("T")
R = TypeVar("R")
MAX_RETRIES = 3


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise DolmakitError("the Ray backend needs Ray: pip install 'dolmakit[ray]'") from None
    return ray


class RayBackend:
    """Run each shard as one Ray task; start a local Ray unless an address is given."""

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        self._ray = _import_ray()
        self.address = address
        if not self._ray.is_initialized():
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address is None:
                kwargs["num_cpus"] = workers or os.cpu_count() or 1
            else:
                kwargs["address"] = address
            self._ray.init(**kwargs)
        self.workers = int(self._ray.cluster_resources().get("CPU", 1))

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        on_tick: Callable[[int, int], None] | None = None,
    ) -> Iterator[tuple[int, R]]:
        ray = self._ray
        task = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(_apply)
        fn_ref = ray.put(fn)
        refs = {task.remote(fn_ref, item): i for i, item in enumerate(items)}
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=0.5)
                for ref in done:
                    yield refs[ref], ray.get(ref)
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise


def _apply(fn: Callable[[T], R], item: T) -> R:
    return fn(item)
