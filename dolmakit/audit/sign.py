"""Sign a mix so that a forger who also rewrites the manifest's hashes is still caught.

`audit verify` checks files against the manifest, and the manifest against its own content
hash; someone who edits a shard and recomputes every hash passes both. A detached Ed25519
signature over the content hash closes that gap: only the holder of the private key can make
a signature that verifies under the published public key.

- `generate_key(path)` writes `path` (private key, PKCS#8 PEM, mode 0600) and `path.pub`.
  Keys are never written into a mix folder.
- `sign_mix(mix, key)` writes `<mix>/manifest.sig`: the format, the content hash it signs,
  the public key's fingerprint and the signature. The signed message is
  `dolmakit.mix.signature/1\\n<content_sha256>`, and the content hash is recomputed from the
  manifest, never read from it.
- `signature_problems(mix, public_key)` is what `audit verify --public-key` adds.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import msgspec

from dolmakit.audit.folder import MixFolder
from dolmakit.errors import DolmakitError
from dolmakit.io import storage
from dolmakit.io.atomic import write_bytes_atomic
from dolmakit.io.lock import exclusive
from dolmakit.mix.manifest import MANIFEST_NAME, content_hash, read_manifest

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

SIGNATURE_NAME = "manifest.sig"
SIGNATURE_FORMAT = "dolmakit.mix.signature/1"


class Signature(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The contents of `manifest.sig`."""

    format: str
    algorithm: str
    content_sha256: str
    key_fingerprint: str
    signature: str


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as exc:
        raise DolmakitError(
            f"signing needs the cryptography package: pip install 'dolmakit[sign]' ({exc})"
        ) from None
    return serialization, ed25519


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """Return `SHA256:<base64>` of the raw 32-byte public key (as OpenSSH prints keys)."""
    serialization, _ = _crypto()
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def _message(content_sha256: str) -> bytes:
    return f"{SIGNATURE_FORMAT}\n{content_sha256}".encode()


def _inside_a_mix(path: Path) -> Path | None:
    for folder in [path.parent, *path.parent.parents]:
        if (folder / MANIFEST_NAME).is_file():
            return folder
    return None


def generate_key(path: str | Path, *, force: bool = False) -> str:
    """Write a new private key to `path` and its public key to `path.pub`; return the fingerprint.

    Refuses to overwrite an existing key (unless `force`) and to write into a mix folder.
    """
    serialization, ed25519 = _crypto()
    path = Path(path)
    public = path.with_name(path.name + ".pub")
    if storage.is_remote(path):
        raise DolmakitError(f"{path}: keys are written to a local file only")
    mix = _inside_a_mix(path.resolve())
    if mix is not None:
        raise DolmakitError(f"{path}: inside the mix {mix}; keep keys out of the data you publish")
    for existing in (path, public):
        if existing.exists() and not force:
            raise DolmakitError(f"{existing}: exists; pass --force to replace the key")
    key = ed25519.Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private_pem)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return fingerprint(key.public_key())


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """Read an Ed25519 private key (PEM); DolmakitError naming the file if it is not one."""
    serialization, ed25519 = _crypto()
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError as exc:
        raise DolmakitError(f"{path}: cannot read the key: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise DolmakitError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise DolmakitError(f"{path}: not an Ed25519 key (make one with dolmakit audit keygen)")
    return cast("Ed25519PrivateKey", key)


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """Read an Ed25519 public key (PEM); DolmakitError naming the file if it is not one."""
    serialization, ed25519 = _crypto()
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except OSError as exc:
        raise DolmakitError(f"{path}: cannot read the key: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise DolmakitError(f"{path}: not a PEM public key ({exc})") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise DolmakitError(f"{path}: not an Ed25519 public key")
    return cast("Ed25519PublicKey", key)


def sign_mix(mix_dir: str | Path, key_path: str | Path) -> Signature:
    """Sign the mix's content hash with the private key at `key_path`; write manifest.sig.

    A manifest whose recorded content hash does not match its content is refused: signing it
    would vouch for an edit (run `dolmakit audit verify` to see what changed).
    """
    key = load_private_key(key_path)
    folder = storage.location(mix_dir)
    read_manifest(folder)  # a missing or unreadable mix is named before its lock is made
    with exclusive(folder, "audit sign"):
        manifest = read_manifest(folder)
        content = content_hash(manifest)
        if content != manifest.content_sha256:
            raise DolmakitError(
                f"{folder / MANIFEST_NAME}: the content hash does not match the manifest (it was"
                " edited); refusing to sign, run dolmakit audit verify"
            )
        signature = Signature(
            format=SIGNATURE_FORMAT,
            algorithm="ed25519",
            content_sha256=content,
            key_fingerprint=fingerprint(key.public_key()),
            signature=base64.b64encode(key.sign(_message(content))).decode(),
        )
        write_bytes_atomic(
            folder / SIGNATURE_NAME, msgspec.json.format(msgspec.json.encode(signature))
        )
    return signature


class SigningStatus(msgspec.Struct, frozen=True):
    """Whether a mix is signed, and by which key: what the card and the summary show."""

    signed: bool
    key_fingerprint: str | None
    note: str

    def describe(self) -> str:
        """Return the fingerprint with how to check it, or why the mix counts as not signed."""
        if self.signed:
            return (
                f"Ed25519 key {self.key_fingerprint} ({SIGNATURE_NAME}); check it with"
                " dolmakit audit verify --public-key KEY.pub"
            )
        return self.note


def signing_status(mix_dir: str | Path, content_sha256: str) -> SigningStatus:
    """Return who signed the mix whose content hash is `content_sha256`, or why no one did.

    The signature is not checked here (that needs the public key: `audit verify
    --public-key`); one made for another content hash, or unreadable, does not count.
    """
    try:
        signature = read_signature(mix_dir)
    except DolmakitError as exc:
        return SigningStatus(False, None, f"not signed: {SIGNATURE_NAME} is unreadable: {exc}")
    if signature is None:
        return SigningStatus(False, None, "not signed (dolmakit audit sign)")
    if signature.content_sha256 != content_sha256:
        return SigningStatus(
            False,
            signature.key_fingerprint,
            f"not signed: {SIGNATURE_NAME} was made for another content hash, it does not"
            " vouch for this mix",
        )
    return SigningStatus(True, signature.key_fingerprint, "signed")


def read_signature(mix_dir: str | Path) -> Signature | None:
    """Return the mix's signature, None if it has none; DolmakitError if it is malformed."""
    path = storage.location(mix_dir) / SIGNATURE_NAME
    if not path.is_file():
        return None
    try:
        signature = msgspec.json.decode(path.read_bytes(), type=Signature)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DolmakitError(f"{path}: not a dolmakit signature ({exc})") from None
    if signature.format != SIGNATURE_FORMAT or signature.algorithm != "ed25519":
        raise DolmakitError(f"{path}: unknown signature format {signature.format!r}")
    return signature


def signature_problems(mix: MixFolder, public_key_path: str | Path) -> list[str]:
    """Return what is wrong with the mix's signature under the given public key ([] if valid)."""
    from cryptography.exceptions import InvalidSignature

    public_key = load_public_key(public_key_path)
    expected = fingerprint(public_key)
    try:
        signature = read_signature(mix.folder)
    except DolmakitError as exc:
        return [str(exc)]
    if signature is None:
        return [f"no {SIGNATURE_NAME}: the mix is not signed"]
    if signature.key_fingerprint != expected:
        return [f"signed by key {signature.key_fingerprint}, not by {expected} (the key given)"]
    content = content_hash(mix.manifest)
    try:
        public_key.verify(base64.b64decode(signature.signature), _message(content))
    except (InvalidSignature, ValueError):
        if signature.content_sha256 != content:
            return [
                f"the manifest's content changed since it was signed (content hash"
                f" {content[:16]}…, signed {signature.content_sha256[:16]}…)"
            ]
        return ["the signature does not verify under the key given"]
    return []
