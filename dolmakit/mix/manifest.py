"""The mix manifest: build it, hash its content, read and write `manifest.json`.

The content hash covers everything but `timing`, `location` and the hash itself
(docs/manifest.md): where the data was and when the build ran are not content.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from dolmakit.errors import DolmakitError
from dolmakit.io import storage
from dolmakit.io.atomic import write_bytes_atomic

FORMAT = "dolmakit.mix.manifest/1"
MANIFEST_NAME = "manifest.json"
UNHASHED = ("timing", "location", "content_sha256")


def content_hash(manifest: dict[str, Any]) -> str:
    """Return the sha256 of a manifest's content (without `timing`, `location`, the hash)."""
    content = {k: v for k, v in manifest.items() if k not in UNHASHED}
    data = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()


def encode_manifest(manifest: dict[str, Any]) -> bytes:
    """Return the bytes of manifest.json: sorted keys, two-space indent, trailing newline."""
    return (json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def write_manifest(mix_dir: Path, manifest: dict[str, Any]) -> Path:
    """Set `content_sha256` and write manifest.json atomically; return its path."""
    manifest["content_sha256"] = content_hash(manifest)
    path = mix_dir / MANIFEST_NAME
    write_bytes_atomic(path, encode_manifest(manifest))
    return path


def read_manifest(mix_dir: str | Path) -> dict[str, Any]:
    """Read the manifest.json of a mix directory; DolmakitError if absent or unreadable."""
    path = storage.location(mix_dir) / MANIFEST_NAME
    if isinstance(path, storage.RemotePath) and not path.is_file():
        raise DolmakitError(f"{path}: no manifest (not a complete mix)")
    try:
        obj = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise DolmakitError(f"{path}: no manifest (not a complete mix)") from None
    except (OSError, ValueError) as exc:
        raise DolmakitError(f"{path}: unreadable manifest: {exc}") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise DolmakitError(f"{path}: not a dolmakit mix manifest ({FORMAT})")
    return obj
