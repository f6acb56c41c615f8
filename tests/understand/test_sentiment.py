"""Sentiment back-ends: customer language, edge cases (empty, HTML, 100 kB, emoji, other languages),
VADER fidelity of the fast back-end, the registry, and hypothesis properties."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxchange.core.errors import CxError
from cxchange.understand.sentiment import BACKENDS, Sentiment, get_backend, label_for
from cxchange.understand.sentiment.language import detect_language
from cxchange.understand.sentiment.learned import MODEL_PATH
from cxchange.understand.sentiment.lexicon import DATA, MAX_CHARS, clean_text, engine

BACKEND_NAMES = ("fast", "best")


@pytest.fixture(params=BACKEND_NAMES, scope="module")
def backend(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    return get_backend(request.param)


def one(backend, text: str) -> Sentiment:  # type: ignore[no-untyped-def]
    [s] = backend.score([text])
    return s


# ------------------------------------------------------------------ customer language


@pytest.mark.parametrize(
    "text",
    [
        "still waiting for my refund",
        "thanks for nothing",
        "On hold for 2 hours and nobody called back.",
        "They cancelled my flight again",
        "lost my bag",
        "What a waste of time, total runaround",
        "never received the package",
        "no refund, no apology",
        "My flight was delayed",
        "😡",
    ],
)
def test_complaints_are_negative(backend, text: str) -> None:  # type: ignore[no-untyped-def]
    s = one(backend, text)
    assert s.label == "negative", (backend.name, text, s)
    assert s.score is not None and s.score < 0


@pytest.mark.parametrize(
    "text",
    [
        "not bad at all",
        "They fixed it quickly, thank you!",
        "The agent went above and beyond",
        "🙂",
        "👍👍",
        "Great service :)",
    ],
)
def test_praise_is_positive(backend, text: str) -> None:  # type: ignore[no-untyped-def]
    s = one(backend, text)
    assert s.score is not None and s.score > 0, (backend.name, text, s)
    assert s.label in ("positive", "neutral") if text == "not bad at all" else s.label == "positive"


def test_contrast_puts_weight_on_what_follows_but(backend) -> None:  # type: ignore[no-untyped-def]
    bad_last = one(backend, "The staff were lovely but the queue was endless").score
    good_last = one(backend, "The queue was endless but the staff were lovely").score
    assert bad_last is not None and good_last is not None
    assert bad_last < good_last


def test_emphasis_strengthens(backend) -> None:  # type: ignore[no-untyped-def]
    plain = one(backend, "the service was bad").score
    loud = one(backend, "the service was BAD!!!").score
    assert plain is not None and loud is not None and loud < 0 and plain < 0
    # VADER's rule makes shouting stronger; the learned model weighs "!!!" as its training reviews
    # do (praise shouts as often as complaints), so only the sign is promised for it.
    if backend.name == "fast":
        assert loud < plain


# ------------------------------------------------------------------ edge cases


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", "<p> </p>"])
def test_empty_texts(backend, text: str) -> None:  # type: ignore[no-untyped-def]
    assert one(backend, text) == Sentiment(None, "empty", "und")


def test_html_is_stripped(backend) -> None:  # type: ignore[no-untyped-def]
    html = '<div class="c"><p>Great <b>service</b> &amp; friendly staff</p><script>bad()</script></div>'
    assert one(backend, html) == one(backend, "Great service & friendly staff")


def test_long_text_is_fast_and_bounded(backend) -> None:  # type: ignore[no-untyped-def]
    text = ("The staff were rude and I waited for hours. " * 2400)[:100_000]
    assert len(text) == 100_000
    started = time.perf_counter()
    s = one(backend, text)
    assert time.perf_counter() - started < 2.0
    assert s.score is not None and -1 <= s.score <= 1 and s.label == "negative"
    assert len(clean_text(text)) <= MAX_CHARS


def test_text_without_spaces_or_words(backend) -> None:  # type: ignore[no-untyped-def]
    for text in ("x" * 50_000, "!!!???", "12345", "...", "http://example.com/a?b=c"):
        s = one(backend, text)
        assert s.score is None or -1 <= s.score <= 1


def test_emoji_only_texts_are_scored(backend) -> None:  # type: ignore[no-untyped-def]
    angry, happy = one(backend, "😡😡"), one(backend, "😍🎉")
    assert angry.score is not None and angry.score < 0 and angry.language == "und"
    assert happy.score is not None and happy.score > 0


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Le vol a été annulé et je suis très déçu du service", "fr"),
        ("El vuelo fue cancelado y nadie me ayudó, muy mal servicio", "es"),
        ("航班又延误了，客服态度很差", "zh"),
        ("Der Flug war sehr spät und das Personal war nicht freundlich", "de"),
    ],
)
def test_other_languages_are_unsupported(backend, text: str, language: str) -> None:  # type: ignore[no-untyped-def]
    assert one(backend, text) == Sentiment(None, "unsupported", language)


def test_output_follows_input(backend) -> None:  # type: ignore[no-untyped-def]
    texts = ["great", "", "awful", "Très bien merci beaucoup", "ok", "terrible service"]
    batch = backend.score(texts)
    assert [s.label for s in batch][:3] == ["positive", "empty", "negative"]
    assert batch == [one(backend, t) for t in texts]
    assert backend.score([]) == []


# ------------------------------------------------------------------ the fast back-end is VADER underneath


@pytest.mark.parametrize(
    ("text", "vader"),
    [  # vaderSentiment 3.3.2's compound scores for its own README examples
        ("VADER is smart, handsome, and funny.", 0.8316),
        ("VADER is VERY SMART, handsome, and FUNNY!!!", 0.9342),
        ("VADER is not smart, handsome, nor funny.", -0.7424),
        ("At least it isn't a horrible book.", 0.431),
        ("The book was only kind of good.", 0.3832),
        ("The plot was good, but the characters are uncompelling and the dialog is not great.", -0.7042),
        ("Today SUX!", -0.5461),
        ("Make sure you :) or :D today!", 0.8633),
        ("Sentiment analysis has never been this good!", 0.5672),
        ("With VADER, sentiment analysis is the shit!", 0.6476),
        ("Roger Dodger is one of the least compelling variations on this theme.", -0.1695),
    ],
)
def test_fast_reproduces_vader(text: str, vader: float) -> None:
    assert one(get_backend("fast"), text).score == pytest.approx(vader, abs=1e-4)


def test_cx_lexicon_phrases_become_single_tokens() -> None:
    eng = engine()
    words = eng.words("Thanks for nothing, I was ON HOLD FOR 2 HOURS")
    assert len(words) == 4 and words[2] == "was"
    assert words[3].isupper()  # shouting survives the phrase token: ALL CAPS emphasis still applies
    assert eng.lexicon[words[0]] < 0 and eng.lexicon[words[3].lower()] < 0


def test_shipped_data_files() -> None:
    for name in ("vader_lexicon.txt", "emoji_utf8_lexicon.txt", "cx_lexicon.yaml", "LICENSE-vader.txt"):
        assert (DATA / name).is_file()
    assert "MIT License" in (DATA / "LICENSE-vader.txt").read_text(encoding="utf-8")
    assert MODEL_PATH.is_file() and MODEL_PATH.stat().st_size < 5_000_000


# ------------------------------------------------------------------ language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("still waiting for my refund", "en"),
        ("ugh. 2 hrs on hold", "en"),
        ("lol", "en"),
        ("Gracias", "en"),  # one word proves nothing
        ("the café was nice", "en"),
        ("Muchas gracias por todo, el servicio es muy bueno", "es"),
        ("Merci beaucoup, très bon service", "fr"),
        ("Obrigado, o serviço foi muito bom e não tive problemas", "pt"),
        ("Il servizio è stato molto lento e non sono contento", "it"),
        ("Het was niet goed en ik ben zeer boos", "nl"),
        ("ちょっと遅いです", "ja"),
        ("서비스가 너무 느려요", "ko"),
        ("Обслуживание ужасное", "ru"),
        ("the 寿司 was cold", "en"),
        ("😡😡😡", "und"),
        ("123 456", "und"),
        ("", "und"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


# ------------------------------------------------------------------ registry


def test_registry_names_caching_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(BACKENDS) == {"fast", "best", "minilm"}
    assert get_backend("fast") is get_backend("fast")
    assert get_backend(" Best ").name == "best"
    monkeypatch.setenv("CXCHANGE_SENTIMENT_BACKEND", "best")
    assert get_backend().name == "best"
    monkeypatch.delenv("CXCHANGE_SENTIMENT_BACKEND")
    assert get_backend().name == "fast"
    with pytest.raises(CxError, match=r"unknown sentiment back-end 'huge'.*fast, best, minilm"):
        get_backend("huge")


def test_import_loads_no_model() -> None:
    code = (
        "import sys, cxchange.understand.sentiment as s\n"
        "assert 'cxchange.understand.sentiment.learned' not in sys.modules\n"
        "assert 'numpy' not in sys.modules and 'yaml' not in sys.modules\n"
        "from cxchange.understand.sentiment import lexicon\n"
        "assert lexicon.engine.cache_info().currsize == 0\n"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stderr


def test_label_rule() -> None:
    assert [label_for(x) for x in (-0.5, -0.05, 0.0, 0.049, 0.05)] == [
        "negative", "negative", "neutral", "neutral", "positive",
    ]  # fmt: skip


# ------------------------------------------------------------------ properties

_text = st.one_of(
    st.text(max_size=200),
    st.lists(
        st.sampled_from(
            ["not", "very", "good", "bad", "BAD", "but", "!!!", "still", "waiting", "on", "hold", "for", "2",
             "hours", "thanks", "nothing", ":)", "😡", "🙂", "<b>", "&amp;", "no", "refund", "kind", "of",
             "least", "never", "so", "the", "le", "très", "bien", "sooo", "cancelled", "my", "flight",
             "again"]
        ),
        max_size=40,
    ).map(" ".join),
)  # fmt: skip


@pytest.mark.parametrize("name", BACKEND_NAMES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(_text, max_size=8))
def test_properties(name: str, texts: list[str]) -> None:
    backend = get_backend(name)
    out = backend.score(texts)
    assert len(out) == len(texts)
    for s in out:
        assert isinstance(s, Sentiment)
        if s.score is None:
            assert s.label in ("empty", "unsupported")
        else:
            assert -1.0 <= s.score <= 1.0
            assert s.label in ("negative", "neutral", "positive")
    assert backend.score(texts) == out  # deterministic
    assert backend.score(texts[::-1]) == out[::-1]  # each text scored on its own, order kept
