"""Read, write and list files on local disks and in S3-compatible object storage (`s3://`).

A location is a `pathlib.Path`. Local files are plain paths; objects are `RemotePath`, a
`PosixPath` subclass whose parts are `/<bucket>/<key...>` and whose `str()` is
`s3://<bucket>/<key>`. Being a Path, a remote location passes through every signature typed
`Path` (ShardJob, writers, `attribute_path`), and the pure operations (`/`, `name`, `parent`,
`with_name`, `relative_to`, `parts`) work as on local paths. `RemotePath` overrides the I/O
methods the stages use (`exists`, `is_file`, `is_dir`, `stat`, `iterdir`, `rglob`, `unlink`,
`mkdir`, `read_bytes`, `write_bytes`, `replace`, `resolve`) with pyarrow.fs calls.

Invariants:
- Local paths behave exactly as before: the functions here call `open`, `os.replace` and
  `Path` methods for them, so local bytes and errors do not change.
- Anything that would treat an object as a local file (builtin `open`, `os.*`, `shutil`,
  `mmap`) fails at `os.fspath` with a DolmakitError naming the URI; it never touches a local
  file called `s3:`.
- Never wrap a location in `Path(...)`: that drops the scheme. `location()` parses strings
  (and repairs `s3:/b/k`, what `Path("s3://b/k")` collapses to).
- Errors of object storage (missing bucket or key, refused credentials, unreachable endpoint)
  become one-line `StorageError`s naming the URI. pyarrow's retries and timeouts come from
  $DOLMAKIT_S3_RETRIES (default 3 attempts), $DOLMAKIT_S3_CONNECT_TIMEOUT (5 s) and
  $DOLMAKIT_S3_REQUEST_TIMEOUT (60 s).
- The endpoint is $DOLMAKIT_S3_ENDPOINT, else $AWS_ENDPOINT_URL_S3, else $AWS_ENDPOINT_URL,
  else AWS; region and credentials follow the standard AWS environment and files. One
  filesystem object is cached per process and setting.
- Objects are read and written with `compression=None`: the zstd and gzip readers of
  `dolmakit.io.compression` see the raw frames and keep their truncation checks.
"""

from __future__ import annotations

import fnmatch
import glob as local_glob
import os
import re
import shutil
from collections.abc import Generator
from pathlib import Path, PosixPath, PurePosixPath
from typing import Any, BinaryIO, ClassVar, Self, cast

from dolmakit.errors import StorageError

ENDPOINT_ENV = "DOLMAKIT_S3_ENDPOINT"
RETRIES_ENV = "DOLMAKIT_S3_RETRIES"
CONNECT_TIMEOUT_ENV = "DOLMAKIT_S3_CONNECT_TIMEOUT"
REQUEST_TIMEOUT_ENV = "DOLMAKIT_S3_REQUEST_TIMEOUT"
# Variables that decide how objects are reached; the Ray backend forwards them to tasks.
S3_ENV = (
    ENDPOINT_ENV,
    RETRIES_ENV,
    CONNECT_TIMEOUT_ENV,
    REQUEST_TIMEOUT_ENV,
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_EC2_METADATA_DISABLED",
)
_URI = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):/(/?)(.*)", re.DOTALL)
_GLOB_CHARS = frozenset("*?[")
_filesystems: dict[tuple[str | None, ...], Any] = {}


class RemotePath(PosixPath):
    """An object in S3-compatible storage, as a Path: parts `/<bucket>/<key...>`.

    Relative paths of this class (from `relative_to`) print and behave as plain relative
    paths, so `local_root / remote.relative_to(remote_root)` is an ordinary local path.
    """

    scheme: ClassVar[str] = "s3"

    def __str__(self) -> str:
        plain = super().__str__()
        return f"{self.scheme}:/{plain}" if self.is_absolute() else plain

    def __repr__(self) -> str:
        return f"RemotePath({str(self)!r})"

    def __fspath__(self) -> str:
        if not self.is_absolute():
            return super().__str__()
        raise StorageError(
            f"{self}: this step needs a local file and does not support object storage yet"
        )

    def __bytes__(self) -> bytes:
        return self.__fspath__().encode()

    def __eq__(self, other: object) -> bool:
        if not self.is_absolute():
            return isinstance(other, PurePosixPath) and self.parts == other.parts
        return isinstance(other, RemotePath) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    @property
    def bucket(self) -> str:
        """Return the bucket name."""
        return self.parts[1] if len(self.parts) > 1 else ""

    @property
    def key(self) -> str:
        """Return the object key within the bucket ('' for the bucket itself)."""
        return "/".join(self.parts[2:])

    @property
    def fs_path(self) -> str:
        """Return `<bucket>/<key>`, the path pyarrow's S3FileSystem takes."""
        return "/".join(self.parts[1:])

    def resolve(self, strict: bool = False) -> Self:
        return self

    def absolute(self) -> Self:
        return self

    def expanduser(self) -> Self:
        return self

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        info = _info(self)
        if info.type == _fs().FileType.NotFound:
            raise StorageError(missing_message(self))
        size = info.size or 0
        mtime_ns = info.mtime_ns or 0
        is_dir = info.type == _fs().FileType.Directory
        mode = 0o040755 if is_dir else 0o100644
        secs = mtime_ns // 1_000_000_000
        return os.stat_result(
            (mode, 0, 0, 1, 0, 0, size, secs, secs, secs),
            {"st_mtime_ns": mtime_ns, "st_atime_ns": mtime_ns, "st_ctime_ns": mtime_ns},
        )

    def exists(self, *, follow_symlinks: bool = True) -> bool:
        return bool(_info(self).type != _fs().FileType.NotFound)

    def is_file(self) -> bool:
        return bool(_info(self).type == _fs().FileType.File)

    def is_dir(self) -> bool:
        if not self.key:  # a bucket: exists if it can be listed
            return self.exists()
        return bool(_info(self).type == _fs().FileType.Directory)

    def iterdir(self) -> Generator[Self, None, None]:
        for info in _list(self, recursive=False):
            yield self._child(info.path)

    def rglob(self, pattern: str) -> Generator[Self, None, None]:
        """Yield every object below this prefix whose name matches `pattern` (one component)."""
        if "/" in pattern:
            raise StorageError(f"{self}: rglob({pattern!r}) takes a file name pattern only")
        for info in _list(self, recursive=True):
            child = self._child(info.path)
            if fnmatch.fnmatchcase(child.name, pattern):
                yield child

    def mkdir(self, mode: int = 0o777, parents: bool = False, exist_ok: bool = False) -> None:
        """Do nothing: object stores have no folders, keys carry the whole path."""

    def unlink(self, missing_ok: bool = False) -> None:
        delete(self, missing_ok=missing_ok)

    def read_bytes(self) -> bytes:
        with open_read(self) as src:
            return src.read()

    def write_bytes(self, data: Any) -> int:
        with open_write(self) as out:
            out.write(bytes(data))
        return len(data)

    def replace(self, target: str | os.PathLike[str]) -> Self:
        final = location(target)
        move(self, final)
        return cast(Self, final)

    rename = replace

    def _child(self, fs_path: str) -> Self:
        return type(self)("/" + fs_path)


def location(value: str | os.PathLike[str]) -> Path:
    """Return a local Path or a RemotePath for a string, Path or RemotePath.

    `s3://bucket/key` (and `s3:/bucket/key`, which `Path()` makes of it) is remote; other
    URI schemes are an error; anything else is a local path, unchanged.
    """
    if isinstance(value, RemotePath):
        return value
    text = str(value) if isinstance(value, PurePosixPath) else os.fspath(value)
    match = _URI.fullmatch(text)
    scheme = match.group(1).lower() if match is not None else ""
    if match is None or (not match.group(2) and scheme != RemotePath.scheme):
        return value if isinstance(value, Path) else Path(text)
    rest = match.group(3)
    if scheme != RemotePath.scheme:
        raise StorageError(f"{text}: unsupported storage scheme {scheme!r}; use s3:// or a path")
    rest = rest.strip("/")
    if not rest:
        raise StorageError(f"{text}: no bucket name")
    return RemotePath("/" + rest)


def is_remote(path: str | os.PathLike[str]) -> bool:
    """Return true for an object-storage location."""
    return isinstance(location(path), RemotePath)


# ----------------------------------------------------------------------------- I/O


def open_read(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a file or object for reading raw bytes, as a stream."""
    loc = location(path)
    if not isinstance(loc, RemotePath):
        return open(loc, "rb")
    try:
        stream = filesystem(loc).open_input_stream(loc.fs_path, compression=None)
    except OSError as exc:
        raise storage_error(loc, exc) from None
    return cast(BinaryIO, _Guarded(stream, loc))


def open_random(path: str | os.PathLike[str]) -> Any:
    """Return what pyarrow readers (Parquet) take: a path string, or a seekable object file."""
    loc = location(path)
    if not isinstance(loc, RemotePath):
        return str(loc)
    try:
        return filesystem(loc).open_input_file(loc.fs_path)
    except OSError as exc:
        raise storage_error(loc, exc) from None


def open_write(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a file or object for writing raw bytes (not atomic: see dolmakit.io.atomic).

    An object appears when the stream is closed (S3 multipart upload), also after an error.
    """
    loc = location(path)
    if not isinstance(loc, RemotePath):
        return open(loc, "wb")
    try:
        stream = filesystem(loc).open_output_stream(loc.fs_path, compression=None)
    except OSError as exc:
        raise storage_error(loc, exc) from None
    return cast(BinaryIO, _Guarded(stream, loc))


def open_arrow_output(path: RemotePath) -> Any:
    """Open an object for writing as a pyarrow stream (what pyarrow writers take best)."""
    try:
        return filesystem(path).open_output_stream(path.fs_path, compression=None)
    except OSError as exc:
        raise storage_error(path, exc) from None


class _Guarded:
    """A pyarrow stream whose I/O errors become StorageErrors naming the object."""

    def __init__(self, stream: Any, loc: RemotePath) -> None:
        self._stream = stream
        self._loc = loc

    def read(self, size: int = -1) -> bytes:
        try:
            return bytes(self._stream.read(None if size < 0 else size))
        except OSError as exc:
            raise storage_error(self._loc, exc) from None

    def write(self, data: bytes) -> int:
        try:
            return int(self._stream.write(data))
        except OSError as exc:
            raise storage_error(self._loc, exc) from None

    def flush(self) -> None:
        """Flush nothing: S3 streams upload in parts and complete on close."""

    def close(self) -> None:
        try:
            self._stream.close()
        except OSError as exc:
            raise storage_error(self._loc, exc) from None

    @property
    def closed(self) -> bool:
        return bool(self._stream.closed)

    def writable(self) -> bool:
        return bool(self._stream.writable())

    def readable(self) -> bool:
        return bool(self._stream.readable())

    def __enter__(self) -> _Guarded:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def move(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Rename a file (os.replace) or an object (server-side copy, then delete)."""
    source, target = location(src), location(dst)
    if not isinstance(source, RemotePath) and not isinstance(target, RemotePath):
        os.replace(source, target)
        return
    if not isinstance(source, RemotePath) or not isinstance(target, RemotePath):
        raise StorageError(f"{source} -> {target}: cannot move between local and object storage")
    try:
        filesystem(source).move(source.fs_path, target.fs_path)
    except OSError as exc:
        raise storage_error(source, exc) from None


def delete(path: str | os.PathLike[str], *, missing_ok: bool = True) -> None:
    """Delete one file or object."""
    loc = location(path)
    if not isinstance(loc, RemotePath):
        loc.unlink(missing_ok=missing_ok)
        return
    try:
        filesystem(loc).delete_file(loc.fs_path)
    except FileNotFoundError as exc:
        if not missing_ok:
            raise storage_error(loc, exc) from None
    except OSError as exc:
        raise storage_error(loc, exc) from None


def delete_tree(path: str | os.PathLike[str]) -> None:
    """Delete a folder and everything below it, or every object below a prefix.

    A missing folder or prefix is not an error. A whole bucket is never deleted: the
    location must name a prefix inside one. The prefix is a folder: deleting `s3://b/mix`
    leaves `s3://b/mix2/...` alone.
    """
    loc = location(path)
    if not isinstance(loc, RemotePath):
        if loc.is_dir() and not loc.is_symlink():
            shutil.rmtree(loc)
        elif loc.exists() or loc.is_symlink():
            loc.unlink()
        return
    if not loc.key:
        raise StorageError(f"{loc}: refusing to delete a whole bucket; name a prefix inside it")
    fs = filesystem(loc)
    try:
        if fs.get_file_info(loc.fs_path).type == _fs().FileType.File:
            fs.delete_file(loc.fs_path)
        fs.delete_dir_contents(loc.fs_path, missing_dir_ok=True)
        if fs.get_file_info(loc.fs_path).type != _fs().FileType.NotFound:
            fs.delete_dir(loc.fs_path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise storage_error(loc, exc) from None


def fingerprint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return what tells a file changed: size and mtime locally, size and ETag for objects.

    A missing file gives `{"missing": True}`. (S3 timestamps have one-second resolution,
    ETags change with every write.)
    """
    loc = location(path)
    if not isinstance(loc, RemotePath):
        try:
            st = loc.stat()
        except FileNotFoundError:
            return {"missing": True}
        return {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns}
    if not loc.is_file():
        return {"missing": True}
    try:
        stream = filesystem(loc).open_input_stream(loc.fs_path, compression=None)
    except FileNotFoundError:
        return {"missing": True}
    except OSError as exc:
        raise storage_error(loc, exc) from None
    with stream:
        meta = {_text(k): _text(v) for k, v in stream.metadata().items()}
    etag = meta.get("ETag", "")
    state: dict[str, Any] = {"bytes": int(meta.get("Content-Length") or loc.stat().st_size)}
    if etag:
        state["etag"] = etag.strip('"')
    else:  # stores without ETags: fall back to the modification time
        state["mtime_ns"] = loc.stat().st_mtime_ns
    return state


def make_folder(path: str | os.PathLike[str], what: str = "folder") -> None:
    """Create a local folder and its parents; StorageError names a file standing in the way.

    `what` says what the folder is for (e.g. "the destination"). Object storage has no
    folders: nothing is done for s3:// paths.
    """
    loc = location(path)
    if isinstance(loc, RemotePath):
        return
    try:
        loc.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in (loc, *loc.parents) if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise StorageError(
                f"cannot write {what} {path}: {blocker} is a file, not a folder"
            ) from None
        raise StorageError(f"cannot write {what} {path}: {exc.strerror or exc}") from None


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def size(path: str | os.PathLike[str]) -> int:
    """Return a file's size in bytes, 0 if it cannot be found."""
    try:
        return location(path).stat().st_size
    except (OSError, StorageError):
        return 0


# ----------------------------------------------------------------------------- listing


def list_files(root: str | os.PathLike[str]) -> list[Path]:
    """Return every file below a folder or prefix, recursively (hidden ones included)."""
    loc = location(root)
    if not isinstance(loc, RemotePath):
        return [p for p in loc.rglob("*") if p.is_file()]
    return [loc._child(info.path) for info in _list(loc, recursive=True)]


def glob(pattern: str | os.PathLike[str]) -> list[Path]:
    """Return the paths matching a glob, as `glob.glob(pattern, recursive=True)` does.

    For objects: the prefix before the first component with a wildcard is listed
    recursively and each key matched component by component with the same rules (`*` stays
    within one component and skips names starting with '.', `**` spans components).
    Only objects are returned, not the folders between them.
    """
    loc = location(pattern)
    if not isinstance(loc, RemotePath):
        return [Path(m) for m in local_glob.glob(str(pattern), recursive=True)]
    parts = loc.parts[1:]
    fixed = 0
    while fixed < len(parts) and not _GLOB_CHARS & set(parts[fixed]):
        fixed += 1
    if fixed == len(parts):
        return [loc] if loc.is_file() else []
    if fixed == 0:
        raise StorageError(f"{loc}: wildcards in the bucket name are not supported")
    base = RemotePath("/" + "/".join(parts[:fixed]))
    found: list[Path] = []
    for info in _list(base, recursive=True):
        rest = info.path.split("/")[fixed:]
        if match_components(parts[fixed:], rest):
            found.append(base._child(info.path))
    return found


def match_components(pattern: tuple[str, ...] | list[str], names: list[str]) -> bool:
    """Return true if path components `names` match glob components `pattern` (glob rules)."""
    if not pattern:
        return not names
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        # Non-hidden components, then the rest of the pattern: zero or more of them, but at
        # least one at the end (a trailing '**' lists what is inside a folder).
        least = 0 if rest else 1
        for skip in range(len(names) + 1):
            if skip and names[skip - 1].startswith("."):
                return False
            if skip >= least and match_components(rest, names[skip:]):
                return True
        return False
    if not names:
        return False
    name = names[0]
    if name.startswith(".") and not head.startswith("."):
        return False
    if "**" in head:  # glob treats '**' inside a component like '*'
        head = re.sub(r"\*\*+", "*", head)
    return fnmatch.fnmatchcase(name, head) and match_components(rest, names[1:])


# ----------------------------------------------------------------------------- filesystem


def _fs() -> Any:
    try:
        import pyarrow.fs as pafs
    except ImportError as exc:  # pragma: no cover - pyarrow is a core dependency
        raise StorageError(f"object storage needs pyarrow: pip install pyarrow ({exc})") from None
    return pafs


def endpoint() -> str | None:
    """Return the S3 endpoint URL from the environment, or None for AWS."""
    for name in (ENDPOINT_ENV, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        value = os.environ.get(name)
        if value:
            return value
    return None


def _settings(loc: RemotePath) -> tuple[str | None, ...]:
    env = os.environ
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    return (
        endpoint(),
        region,
        env.get(RETRIES_ENV, "3"),
        env.get(CONNECT_TIMEOUT_ENV, "5"),
        env.get(REQUEST_TIMEOUT_ENV, "60"),
        env.get("AWS_ACCESS_KEY_ID"),
        env.get("AWS_SECRET_ACCESS_KEY"),
        env.get("AWS_SESSION_TOKEN"),
        env.get("AWS_PROFILE"),
        # Without a region or endpoint the bucket's own region is looked up, per bucket.
        loc.bucket if region is None and endpoint() is None else None,
    )


def filesystem(loc: RemotePath) -> Any:
    """Return the (cached) pyarrow S3FileSystem that reaches `loc`."""
    settings = _settings(loc)
    cached = _filesystems.get(settings)
    if cached is not None:
        return cached
    pafs = _fs()
    url, region, retries, connect, request, key_id, secret, token, _, bucket = settings
    options: dict[str, Any] = {
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(
            max_attempts=_number(RETRIES_ENV, retries)
        ),
        "connect_timeout": float(_number(CONNECT_TIMEOUT_ENV, connect)),
        "request_timeout": float(_number(REQUEST_TIMEOUT_ENV, request)),
    }
    if url is not None:
        scheme, _, host = url.partition("://")
        if not host:
            raise StorageError(f"{url}: the S3 endpoint must look like http://HOST:PORT")
        options["endpoint_override"] = host.rstrip("/")
        options["scheme"] = scheme
    if region is not None:
        options["region"] = region
    elif bucket is not None:
        try:
            options["region"] = pafs.resolve_s3_region(bucket)
        except OSError as exc:
            raise storage_error(loc, exc) from None
    else:
        options["region"] = "us-east-1"
    if key_id and secret:
        options["access_key"] = key_id
        options["secret_key"] = secret
        if token:
            options["session_token"] = token
    fs = pafs.S3FileSystem(**options)
    _filesystems[settings] = fs
    return fs


def _number(name: str, value: str | None) -> int:
    try:
        number = int(float(value or ""))
    except ValueError:
        raise StorageError(f"${name}={value!r}: expected a number") from None
    if number < 1:
        raise StorageError(f"${name}={value!r}: must be at least 1")
    return number


def _info(loc: RemotePath) -> Any:
    try:
        return filesystem(loc).get_file_info(loc.fs_path)
    except OSError as exc:
        raise storage_error(loc, exc) from None


def _list(loc: RemotePath, *, recursive: bool) -> list[Any]:
    """List objects (recursive) or objects and common prefixes (not recursive) below `loc`."""
    pafs = _fs()
    try:
        infos = filesystem(loc).get_file_info(
            pafs.FileSelector(loc.fs_path, recursive=recursive, allow_not_found=True)
        )
    except OSError as exc:
        raise storage_error(loc, exc) from None
    if recursive:
        infos = [i for i in infos if i.type == pafs.FileType.File]
    return sorted(infos, key=lambda i: str(i.path))


def missing_message(loc: RemotePath) -> str:
    """Explain a missing object: the whole bucket, or just the key."""
    if loc.key and not RemotePath("/" + loc.bucket).exists():
        return f"{loc}: bucket {loc.bucket!r} does not exist or is not visible to these credentials"
    return f"{loc}: no such object or prefix"


def storage_error(loc: RemotePath, exc: OSError) -> StorageError:
    """Turn a pyarrow S3 error into a one-line error naming the URI and what to check."""
    detail = " ".join(str(exc).split())
    lowered = detail.lower()
    if isinstance(exc, FileNotFoundError):
        return StorageError(f"{loc}: no such object")
    if "no_such_bucket" in lowered or "nosuchbucket" in lowered:
        return StorageError(f"{loc}: bucket {loc.bucket!r} does not exist")
    if any(
        word in lowered
        for word in (
            "network_connection",
            "curlcode",
            "could not connect",
            "timeout",
            "timed out",
            "couldn't connect",
        )
    ):
        where = endpoint() or "AWS S3"
        return StorageError(
            f"{loc}: cannot reach the S3 endpoint {where} (check {ENDPOINT_ENV} and the network)"
        )
    if any(
        word in lowered
        for word in (
            "access_denied",
            "accessdenied",
            "invalidaccesskeyid",
            "invalid_access_key_id",
            "signaturedoesnotmatch",
            "credential",
            "forbidden",
            "403",
        )
    ):
        return StorageError(
            f"{loc}: access denied: no valid S3 credentials (set AWS_ACCESS_KEY_ID and"
            " AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or give the machine a role)"
        )
    first = detail[:300]
    return StorageError(f"{loc}: object storage error: {first}")
