"""A local Ray (2 CPUs) started once per test session, shared by the tests/test_ray*.py modules.

Modules import `ray_cluster` from here; whichever module uses it first starts Ray and the
session's end shuts it down. Ray's session files go under /tmp/ray_dolmakit (a short path:
Ray's Unix sockets must fit in 107 bytes, which pytest's tmp paths can exceed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

RAY_TEMP_DIR = "/tmp/ray_dolmakit"
TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """Yield the `ray` module with a local 2-CPU Ray running; return its GCS address via .gcs."""
    ray = pytest.importorskip("ray")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    started = False
    if not ray.is_initialized():
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            logging_level="warning",
            _temp_dir=RAY_TEMP_DIR,
            # Workers import test helpers by the names pytest gave their modules.
            runtime_env={"env_vars": {"PYTHONPATH": f"{TESTS}:{TESTS.parent}"}},
        )
        started = True
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def gcs_address(ray: Any) -> str:
    """Return the address another driver passes to join the running local Ray."""
    return str(ray.get_runtime_context().gcs_address)
