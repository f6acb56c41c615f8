"""The fast back-end's rules keep to clauses and sentences (issue 18; sentiment/scope.py).

VADER's negation looks three words back across commas, its contrast rule weighs the whole text around
its first "but", and "United" the airline is read as the adjective. Each test below reads a word's
valence (or a text's score) that VADER's reading gets wrong.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cxchange.understand.sentiment import get_backend
from cxchange.understand.sentiment.lexicon import engine
from cxchange.understand.sentiment.scope import CLAUSE, SENTENCE, token_breaks


def valence(text: str, word: str, nth: int = 0) -> float:
    """The valence the rules give the nth occurrence of `word` in `text`."""
    eng = engine()
    words, breaks = eng.tokens(text)
    values = eng.valences(words, breaks)
    return [v for w, v in zip(words, values, strict=True) if w.lower() == word][nth]


def lexicon(word: str) -> float:
    return engine().lexicon[word]


def compound(text: str) -> float:
    [s] = get_backend("fast").score([text])
    assert s.score is not None
    return s.score


# ------------------------------------------------------------------ where clauses and sentences end


def test_token_breaks_mark_clause_and_sentence_ends_not_emoticons() -> None:
    tokens = "No legroom, horrible IFE; seats: ok... :) great!) (fine) 3.5 e.g".split()
    assert token_breaks(tokens) == [0, CLAUSE, 0, CLAUSE, CLAUSE, SENTENCE, 0, SENTENCE, 0, 0, 0]


def test_a_line_break_ends_a_sentence() -> None:
    words, breaks = engine().tokens("No parking\nhorrible staff")
    assert words == ["No", "parking", "horrible", "staff"] and breaks == [0, SENTENCE, 0, SENTENCE]
    assert valence("No parking\nhorrible staff", "horrible") == lexicon("horrible")


# ------------------------------------------------------------------ negation ends with its clause


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("No legroom, horrible IFE, and an unpleasing position.", "horrible"),  # the issue's review
        ("Not the cheapest; great value though.", "great"),
        ("Never again: terrible airline.", "terrible"),
        ("I did not expect much. Great crew!", "great"),
        ("Not bad but terrible", "terrible"),  # a contrast word starts a new clause
    ],
)
def test_negation_does_not_reach_past_its_clause(text: str, word: str) -> None:
    v = valence(text, word)
    assert (v > 0) == (lexicon(word) > 0), (text, word, v)


def test_negation_still_negates_inside_its_clause() -> None:
    assert valence("No horrible surprises.", "horrible") > 0
    assert valence("The seat was not comfortable, sadly.", "comfortable") < 0
    # "not A, B, nor C": the commas of a list closed by "nor" keep the negation running over it
    assert valence("It is not smart, handsome, nor funny.", "handsome") < 0


# ------------------------------------------------------------------ the contrast rule per sentence


def test_contrast_weighs_its_own_sentence_not_the_whole_text() -> None:
    text = "The food was horrible. The staff were friendly but the room was dirty. The bed was comfortable."
    assert valence(text, "horrible") == pytest.approx(lexicon("horrible"))  # VADER: halved
    assert valence(text, "comfortable") == pytest.approx(lexicon("comfortable"))  # VADER: x 1.5
    assert valence(text, "friendly") == pytest.approx(0.5 * lexicon("friendly"))
    assert valence(text, "dirty") == pytest.approx(1.5 * lexicon("dirty"))


def test_a_sentence_opening_with_but_halves_only_the_sentence_before() -> None:
    text = "Awful seat. Nice crew. But the food was horrible."
    assert valence(text, "awful") == pytest.approx(lexicon("awful"))
    assert valence(text, "nice") == pytest.approx(0.5 * lexicon("nice"))
    assert valence(text, "horrible") == pytest.approx(1.5 * lexicon("horrible"))


def test_each_sentence_has_its_own_contrast() -> None:
    text = "Good seat but awful food. Bad start but a great ending."
    assert valence(text, "bad") == pytest.approx(0.5 * lexicon("bad"))  # VADER: x 1.5 after the first but
    assert valence(text, "great") == pytest.approx(1.5 * lexicon("great"))


# ------------------------------------------------------------------ expectation frames


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("The room was supposed to be comfortable.", "comfortable"),
        ("It should have been better.", "better"),
        ("The legroom could have been better for the price.", "better"),
        ("This layout would seem comfortable but it wasn't.", "comfortable"),
        ("The crew seemed friendly, but the service was slow.", "friendly"),
        ("The wifi was great but it did not last.", "great"),  # no: "last" goes on after "not"
        ("The seat was comfortable, but it wasn't.", "comfortable"),
        ("Nice hotel but it was not.", "nice"),
    ],
)
def test_expectation_frames_read_as_the_negation_of_what_they_expect(text: str, word: str) -> None:
    expected_negated = "did not last" not in text
    v = valence(text, word)
    assert (v < 0) == expected_negated, (text, word, v)


def test_a_contrast_that_goes_on_is_not_an_elliptic_negation() -> None:
    text = "The seat was comfortable but it wasn't clean."
    assert valence(text, "comfortable") > 0 and valence(text, "clean") < 0


def test_frames_negate_once() -> None:
    # "would seem" and "but it wasn't" both mark "comfortable": negated once, not back to positive
    assert valence("It would seem comfortable but it wasn't.", "comfortable") < 0


def test_the_issues_seat_review_is_negative() -> None:
    text = (
        "This layout would seem comfortable but it wasn't. In fact it was horrible. No legroom, horrible "
        "IFE, and an unpleasing position. Recline wasn't too bad and neither the width. But because "
        "United is using that personal entertainment thing they should at least add power outlets."
    )
    assert compound(text) < -0.5  # VADER's rules: +0.81


# ------------------------------------------------------------------ names that are lexicon words


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("But because United is using that thing they should add outlets.", "united"),
        ("We flew Spirit Airlines to Denver.", "spirit"),
        ("We stayed at a Best Western near the airport.", "best"),
    ],
)
def test_a_capitalised_word_used_as_a_name_has_no_valence(text: str, word: str) -> None:
    assert valence(text, word) == 0.0


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("United we stand.", "united"),  # first in its sentence: cannot tell
        ("The crew were united and kind.", "united"),  # not capitalised
        ("Wow Great Food", "great"),  # a capitalised run that opens its clause: a heading
        ("Pros: Friendly Staff", "friendly"),
        ("GREAT crew, I loved it", "great"),  # shouting, not a name
        ("The crew was Great.", "great"),  # capitalised alone, no name cue
        ("Review of the Best Hotel In Town", "best"),  # title case ("In"): capitals name nothing
    ],
)
def test_other_capitalised_lexicon_words_keep_their_valence(text: str, word: str) -> None:
    assert valence(text, word) != 0.0


# ------------------------------------------------------------------ as a user runs it


def test_cxchange_sentiment_reads_clauses(tmp_path: Path) -> None:
    texts = ["No legroom, horrible IFE", "This layout would seem comfortable but it wasn't."]
    cli = Path(sys.executable).parent / "cxchange"
    env = {**os.environ, "NO_COLOR": "1", "CXCHANGE_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    proc = subprocess.run(
        [str(cli), "sentiment", *texts, "--backend", "fast", "--format", "json"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [r["label"] for r in out] == ["negative", "negative"], out


def test_the_training_feature_cache_key_covers_every_lexicon_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """train/sentiment.py caches features under a hash of the lexicon's sources: a rule changed in a
    module it does not hash would train the model on stale features."""
    import ast
    import importlib.util

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("cx_train_sentiment_scope", root / "train" / "sentiment.py")
    assert spec is not None and spec.loader is not None
    train = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, train)  # dataclasses look their module up there
    spec.loader.exec_module(train)
    package = "cxchange.understand.sentiment."
    lexicon_py = root / "src" / "cxchange" / "understand" / "sentiment" / "lexicon.py"
    imported = {
        node.module.removeprefix(package) + ".py"
        for node in ast.walk(ast.parse(lexicon_py.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(package)
    }
    assert imported and imported <= set(train.LEXICON_SOURCES) - {"lexicon.py"}, imported
