"""The whole web recipe (taggers/web.yaml) gives exactly the stored attribute bytes.

`golden/taggers_web/web.attributes.jsonl` was written by `dolmakit tag` at main 9ba8082,
before lid_fasttext and toxicity kept per-text results in a memo and before the compiled
sentence and paragraph splitters: the documents (two of each benchmark-corpus file, cut to
700 characters, and hand-made ones with a copied document, repeated paragraphs and
sentences, Greek capitals whose lowercase depends on context, and a blank text) repeat
text within and across batches, so memo hits, misses and emptied memos are all exercised.
Any batch size and any memo size must give the same bytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_taggers_models_lid import needs_fasttext

from dolmakit.run.backends import SerialBackend
from dolmakit.run.options import RunOptions
from dolmakit.taggers.base import load_tagger
from dolmakit.taggers.memo import TextMemo
from dolmakit.taggers.recipes import load_recipe
from dolmakit.taggers.stage import tag

GOLDEN = Path(__file__).parent / "golden" / "taggers_web"
RECIPE = Path(__file__).parents[1] / "taggers" / "web.yaml"


def tag_golden(tmp_path: Path, batch_size: int) -> str:
    docs = tmp_path / "ds" / "documents" / "documents.jsonl"
    docs.parent.mkdir(parents=True)
    shutil.copy(GOLDEN / "documents.jsonl", docs)
    tag(
        [docs],
        "web",
        RECIPE,
        batch_size=batch_size,
        run_options=RunOptions(backend=SerialBackend(), progress=False),
    )
    return (tmp_path / "ds" / "attributes" / "web" / "documents.jsonl").read_text()


@needs_fasttext
@pytest.mark.parametrize(("batch_size", "memo_size"), [(512, None), (4, None), (3, 2), (1, 1)])
def test_web_recipe_gives_the_golden_bytes(
    tmp_path: Path, batch_size: int, memo_size: int | None
) -> None:
    pytest.importorskip("profanity_check")
    # load_tagger caches the instances the stage uses: give them fresh memos of this size.
    for spec in load_recipe(RECIPE).taggers:
        tagger = load_tagger(spec.name, dict(spec.params))
        if hasattr(tagger, "memo"):
            tagger.memo = TextMemo() if memo_size is None else TextMemo(memo_size)
    assert tag_golden(tmp_path, batch_size) == (GOLDEN / "web.attributes.jsonl").read_text()
    memo = load_tagger("toxicity").memo  # type: ignore[attr-defined]
    assert memo.entries and len(memo.entries) <= (memo_size or memo.max_entries)


def test_memo_empties_when_full() -> None:
    memo: TextMemo[int] = TextMemo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1 and memo.get("c") is None
    memo.put("c", 3)
    assert memo.entries == {"c": 3}
    with pytest.raises(ValueError, match="at least 1"):
        TextMemo(0)
