"""A loopback S3 server (moto) started once per test session, and a fresh bucket per test.

Nothing leaves the machine: the server listens on 127.0.0.1 (a free port), the AWS
variables are dummies, and the EC2 metadata lookup is off. Tests that use `s3_bucket` get
the environment dolmakit reads ($DOLMAKIT_S3_ENDPOINT, ...) for their duration only.
"""

from __future__ import annotations

import itertools
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dolmakit.io.storage import RemotePath

_buckets = itertools.count()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """Yield the endpoint URL of a moto S3 server on 127.0.0.1."""
    pytest.importorskip("moto.server", reason="the S3 tests need moto: pip install 'moto[server]'")
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_environment(endpoint: str) -> dict[str, str]:
    """Return the variables that point dolmakit (and its workers) at the loopback server."""
    return {
        "DOLMAKIT_S3_ENDPOINT": endpoint,
        # moto's threaded server can answer a listing with a 500 while another worker deletes a
        # key of that prefix (KeyError inside moto, seen under load); real S3 clients retry
        # such answers, and so does dolmakit by default (3 attempts)
        "DOLMAKIT_S3_RETRIES": "3",
        "DOLMAKIT_S3_CONNECT_TIMEOUT": "2",
        "DOLMAKIT_S3_REQUEST_TIMEOUT": "30",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.fixture
def s3_bucket(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> RemotePath:
    """Create an empty bucket on the loopback server; return it as `s3://<bucket>`."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_environment(s3_server).items():
        monkeypatch.setenv(name, value)
    return make_bucket(s3_server, f"test-{next(_buckets)}")


def make_bucket(s3_server: str, name: str) -> RemotePath:
    """Create bucket `name` on the loopback server; return it as `s3://<name>`."""
    import pyarrow.fs as pafs

    fs = pafs.S3FileSystem(
        endpoint_override=s3_server.partition("://")[2],
        scheme="http",
        region="us-east-1",
        access_key="testing",
        secret_key="testing",
        allow_bucket_creation=True,
    )
    fs.create_dir(name)
    return RemotePath(f"/{name}")


def set_moto_auth(endpoint: str, unauthenticated_requests: float) -> None:
    """Make the moto server check credentials after this many requests (inf: never)."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=str(unauthenticated_requests).encode(),
        headers={"Content-Type": "text/plain"},  # a form type would hide the body from moto
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def upload_tree(local: Path, remote: RemotePath) -> None:
    """Copy every file under `local` to the same relative keys under `remote`."""
    for path in sorted(local.rglob("*")):
        if path.is_file():
            (remote / path.relative_to(local).as_posix()).write_bytes(path.read_bytes())


def tree_bytes(root: Path) -> dict[str, Any]:
    """Return {relative path: bytes} of every file below a local folder or an S3 prefix.

    Output locks are left out: a local run leaves its `.dolmakit/lock` file (a flock, not a
    product), and object storage has no locks.
    """
    from dolmakit.io.lock import LOCK_NAMES
    from dolmakit.io.storage import list_files

    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in list_files(root)
        if not (p.name in LOCK_NAMES and p.parent.name == ".dolmakit")
    }
