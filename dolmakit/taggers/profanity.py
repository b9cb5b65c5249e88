"""alt-profanity-check's model, read and evaluated without importing scikit-learn.

The `toxicity` tagger's model is a TF-IDF vectorizer and five sigmoid-calibrated linear SVMs
(scikit-learn's CalibratedClassifierCV), pickled with joblib. Importing scikit-learn to
unpickle it costs each worker process about a second of CPU, more than tagging 10 MB takes.
`load_profanity_model` reads the same files with joblib alone (scikit-learn's classes become
plain attribute holders) and `ProfanityModel.probabilities` repeats scikit-learn's arithmetic
step by step on the same numbers with the same kernels:

1. TF-IDF: each count times its word's idf, then each row divided by its L2 norm (a row of
   zeros stays zeros); the sums of squares are added in column order, as scikit-learn's
   `inplace_csr_row_normalize_l2` does.
2. Each SVM: the row's dot product with the weights (scipy's sparse matrix product, which
   scikit-learn calls), plus the intercept.
3. Each calibration: `expit(-(a * score + b))` with scipy's `expit`.
4. The mean of the five probabilities: added in order from 0, divided by 5.

Only model files whose sha256 is in `KNOWN_FILES` are read this way (tests check the
probabilities equal scikit-learn's bit for bit on them); for any other file the tagger uses
scikit-learn itself.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dolmakit.native import load_native

# sha256 of (model.joblib, vectorizer.joblib) of the alt-profanity-check wheels checked.
KNOWN_FILES: frozenset[tuple[str, str]] = frozenset(
    {
        (  # alt-profanity-check 1.9.1
            "aeafc04849d4d93db4721cf30a86ebf22085595294b8a07d51918e7fa98f538b",
            "19c5200dc6a41f026e0558e2f164f5fe8d8f58e502b46b37e4385037fcfa4831",
        )
    }
)


@dataclass(frozen=True)
class ProfanityModel:
    """The numbers of the model: vocabulary, idf and five calibrated linear classifiers."""

    vocabulary: dict[str, int]  # word -> column
    token_pattern: str
    idf: npt.NDArray[np.float64]  # per column
    weights: npt.NDArray[np.float64]  # columns x classifiers
    intercepts: npt.NDArray[np.float64]  # per classifier
    slopes: npt.NDArray[np.float64]  # calibration a, per classifier
    offsets: npt.NDArray[np.float64]  # calibration b, per classifier

    def row_probabilities(self, columns: bytes, lengths: list[int]) -> list[float]:
        """Return P(toxic) per row of words, given as vocabulary columns (native int64 bytes).

        Compiled (`dolmakit._textstats.profanity_scores`) when built: the same steps in the
        same order, with no scipy import; else through `probabilities`.
        """
        native = NATIVE_SCORES
        if native is None:
            return self.probabilities(count_matrix(columns, lengths, len(self.vocabulary)))
        return list(
            native(
                columns, lengths, len(self.vocabulary), len(self.intercepts), self.idf,
                self.weights, self.intercepts, self.slopes, self.offsets,
            )
        )  # fmt: skip

    def probabilities(self, counts: Any) -> list[float]:
        """Return P(toxic) per row of a CSR count matrix (float64, sorted column indices)."""
        sparse, expit = _scipy()
        data = counts.data * self.idf[counts.indices]
        rows = len(counts.indptr) - 1
        squares = sparse.csr_matrix((data * data, counts.indices, counts.indptr), counts.shape)
        norms = np.sqrt(squares @ np.ones(counts.shape[1]))
        norms[norms == 0.0] = 1.0  # an empty row is left as it is (x / 1.0 == x)
        data /= np.repeat(norms, np.diff(counts.indptr))
        tfidf = sparse.csr_matrix((data, counts.indices, counts.indptr), counts.shape)
        total = np.zeros(rows)
        for k in range(len(self.intercepts)):
            scores = tfidf @ self.weights[:, k : k + 1] + self.intercepts[k : k + 1]
            total += expit(-(self.slopes[k] * scores.reshape(-1) + self.offsets[k]))
        total /= len(self.intercepts)
        return [float(p) for p in total]


def count_matrix(columns: bytes, lengths: list[int], width: int) -> Any:
    """Return the CSR word counts (float64, indices sorted) of rows of given lengths.

    `columns` holds the vocabulary column of each word (native int64), row after row.
    """
    sparse, _ = _scipy()
    cols = np.frombuffer(columns, dtype=np.int64)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    data = np.ones(len(cols), dtype=np.float64)
    matrix = sparse.csr_matrix((data, (rows, cols)), shape=(len(lengths), width))
    matrix.sum_duplicates()
    return matrix


# The compiled scorer, or None (not built, or DOLMAKIT_PURE_PYTHON=1), looked up once.
NATIVE_SCORES: Any = getattr(load_native("_textstats"), "profanity_scores", None)


def model_files() -> tuple[Path, Path] | None:
    """Return the paths of alt-profanity-check's model and vectorizer, without importing it."""
    spec = importlib.util.find_spec("profanity_check")
    if spec is None or not spec.submodule_search_locations:
        return None
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    model, vectorizer = data / "model.joblib", data / "vectorizer.joblib"
    return (model, vectorizer) if model.is_file() and vectorizer.is_file() else None


def load_profanity_model() -> ProfanityModel | None:
    """Return the model read without scikit-learn, or None (unknown files: use scikit-learn)."""
    files = model_files()
    if files is None:
        return None
    digests = tuple(hashlib.sha256(path.read_bytes()).hexdigest() for path in files)
    if digests not in KNOWN_FILES:
        return None
    model, vectorizer = (_unpickle(path) for path in files)
    return _from_state(model, vectorizer)


class _State:
    """Stands in for a pickled scikit-learn object: keeps its attributes, nothing else."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def _unpickle(path: Path) -> Any:
    """Read a joblib pickle, with every scikit-learn class replaced by `_State`."""
    from joblib.numpy_pickle import NumpyUnpickler  # type: ignore[import-untyped]

    class Unpickler(NumpyUnpickler):  # type: ignore[misc]
        def find_class(self, module: str, name: str) -> Any:
            if module.partition(".")[0] == "sklearn":
                return type(name, (_State,), {"__module__": module})
            return super().find_class(module, name)

    with path.open("rb") as handle:
        return Unpickler(str(path), handle, None).load()


def _from_state(model: Any, vectorizer: Any) -> ProfanityModel:
    """Return the numbers of the unpickled objects, checking they are what this module repeats."""
    tfidf = vectorizer._tfidf
    settings = (
        vectorizer.analyzer, vectorizer.ngram_range, vectorizer.lowercase, tfidf.norm,
        tfidf.use_idf, tfidf.sublinear_tf, model.method, list(model.classes_),
    )  # fmt: skip
    expected = ("word", (1, 1), True, "l2", True, False, "sigmoid", [0, 1])
    if settings != expected:
        raise ValueError(f"unexpected profanity model settings {settings}")
    parts = model.calibrated_classifiers_
    for part in parts:
        if list(part.classes) != [0, 1] or list(part.estimator.classes_) != [0, 1]:
            raise ValueError("unexpected profanity model classes")
        if len(part.calibrators) != 1 or part.estimator.coef_.shape[0] != 1:
            raise ValueError("unexpected profanity model shape")
    return ProfanityModel(
        vocabulary={str(word): int(column) for word, column in vectorizer.vocabulary_.items()},
        token_pattern=str(vectorizer.token_pattern),
        idf=np.asarray(tfidf.idf_, dtype=np.float64),
        weights=np.ascontiguousarray(
            np.stack([p.estimator.coef_[0] for p in parts], axis=1), dtype=np.float64
        ),
        intercepts=np.array([p.estimator.intercept_[0] for p in parts], dtype=np.float64),
        slopes=np.array([p.calibrators[0].a_ for p in parts], dtype=np.float64),
        offsets=np.array([p.calibrators[0].b_ for p in parts], dtype=np.float64),
    )


def _scipy() -> tuple[Any, Any]:
    """Return scipy.sparse and scipy.special.expit (scipy comes with the toxicity extra)."""
    from scipy import sparse  # type: ignore[import-untyped]
    from scipy.special import expit  # type: ignore[import-untyped]

    return sparse, expit
