"""The fast back-end's data files (VADER's lexicon, the CX lexicon, the emoji descriptions) damaged or
missing: one ModelError naming the file and how to reinstall, never a traceback and never a lexicon that
loads empty and scores everything neutral. And texts whose letters hide behind Unicode: read as the
words they show."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cxchange.understand.sentiment import get_backend
from cxchange.understand.sentiment.base import ModelError
from cxchange.understand.sentiment.learned import ModelError as LearnedModelError
from cxchange.understand.sentiment.lexicon import DATA, _Engine, clean_text


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(DATA, folder, ignore=shutil.ignore_patterns("*.npz"))
    return folder


def _truncate(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:40]), encoding="utf-8")


DAMAGE: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "vader missing": ("vader_lexicon.txt", Path.unlink, "missing"),
    "vader empty": ("vader_lexicon.txt", lambda p: p.write_text(""), "holds 0 words"),
    "vader cut short": ("vader_lexicon.txt", _truncate, "holds 40 words"),
    "vader garbled": ("vader_lexicon.txt", lambda p: p.write_text("good\t1.9\nbad\tvery\n"), "line 2"),
    "vader not UTF-8": ("vader_lexicon.txt", lambda p: p.write_bytes(bytes(range(256))), "unreadable"),
    "cx missing": ("cx_lexicon.yaml", Path.unlink, "missing"),
    "cx not YAML": ("cx_lexicon.yaml", lambda p: p.write_text("words: [unclosed\n\tx\n"), "not valid YAML"),
    "cx not a table": ("cx_lexicon.yaml", lambda p: p.write_text("- a list\n"), "'words' table"),
    "cx value not a number": ("cx_lexicon.yaml", lambda p: p.write_text("words:\n  rude: very\n"), "'rude'"),
    "cx unknown slot": (
        "cx_lexicon.yaml", lambda p: p.write_text("words: {}\nphrases:\n  'waited {nothing}': -2\n"), "slot"),
    "emoji missing": ("emoji_utf8_lexicon.txt", Path.unlink, "missing"),
    "emoji empty": ("emoji_utf8_lexicon.txt", lambda p: p.write_text(""), "emoji"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_data_file_is_one_clear_error(tmp_path: Path, case: str) -> None:
    name, damage, what = DAMAGE[case]
    folder = _copy(tmp_path)
    damage(folder / name)
    with pytest.raises(ModelError) as caught:
        _Engine(folder)
    message = str(caught.value)
    assert name in message and what in message and "reinstall" in message, message


def test_the_shipped_files_load_and_the_error_class_is_shared() -> None:
    assert len(_Engine(DATA).lexicon) > 7000
    assert LearnedModelError is ModelError  # `learned.ModelError` is still the name callers catch


def test_letters_behind_unicode_read_as_the_words_they_show() -> None:
    assert clean_text("ｔｅｒｒｉｂｌｅ ｓｅｒｖｉｃｅ") == "terrible service"
    assert clean_text("\u202eThe staff were very rude\u202c") == "The staff were very rude"
    assert clean_text("\u2067rude\u2069 \U0001d42b\U0001d42e\U0001d41d\U0001d41e") == "rude rude"
    assert clean_text("½ price, ℹ info, café") == "½ price, ℹ info, café"  # other forms are kept
    for name in ("fast", "best"):
        texts = ["ｔｅｒｒｉｂｌｅ ｓｅｒｖｉｃｅ", "\u202ethe staff were rude"]
        labels = [s.label for s in get_backend(name).score(texts)]
        assert labels == ["negative", "negative"], name


def test_recognition_reads_the_lexicon_as_sentiment_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recognition's common words come from VADER's lexicon too: a missing file was a raw FileNotFoundError
    in every command's close-the-loop step; now the same ModelError naming it."""
    from cxchange.sustain import recognition
    from cxchange.understand.sentiment import lexicon

    folder = _copy(tmp_path)
    (folder / "vader_lexicon.txt").unlink()
    monkeypatch.setattr(lexicon, "DATA", folder)
    lexicon.vader_words.cache_clear()
    recognition.common_words.cache_clear()
    try:
        with pytest.raises(ModelError, match=r"vader_lexicon\.txt: the sentiment lexicon file is missing"):
            recognition.common_words()
    finally:
        lexicon.vader_words.cache_clear()
        recognition.common_words.cache_clear()
    monkeypatch.undo()
    assert "rude" in recognition.common_words()
