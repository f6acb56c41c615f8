"""A discovered theme set's own matcher: relevance, thresholds, determinism and storage."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from cxchange.understand.themes.discover import discover_themes
from cxchange.understand.themes.relevance import FORMAT, ModelFileError, ThemeModel

SUBJECTS = {
    "delivery": ["the parcel arrived late", "courier lost my parcel", "delivery took two weeks"],
    "refund": ["still waiting for my refund", "refund never arrived", "they refused a refund"],
    "staff": ["the staff were rude", "staff member was unhelpful", "rude staff at the desk"],
}


def _corpus(n: int = 240, seed: int = 1) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    keys = sorted(SUBJECTS)
    for i in range(n):
        k = keys[i % 3]
        phrase = SUBJECTS[k][int(rng.integers(3))]
        texts.append(f"{phrase}, account number {int(rng.integers(1000))} and the order was placed online")
        labels.append(k)
    return texts, labels


def _found() -> tuple[object, list[str], list[str]]:
    texts, labels = _corpus()
    found = discover_themes(texts, max_themes=3, seed=0, with_model=True)
    assert found.model is not None
    return found, texts, labels


def _model() -> tuple[ThemeModel, list[str], list[str]]:
    found, texts, labels = _found()
    return found.model, texts, labels  # type: ignore[attr-defined]


def test_primary_theme_follows_discovery_and_generic_words_do_not_tag() -> None:
    found, texts, labels = _found()
    model: ThemeModel = found.model  # type: ignore[attr-defined]
    picked = model.assign(texts, groups=[int(c) for c in model.classes])  # rows -> discovery's themes
    primary = [p[0][0] if p else -1 for p in picked]
    # The comments get the theme discovery gave them, and each theme holds one planted subject only
    # (the words every comment shares, "account", "order", "online", do not decide).
    assert np.mean(np.array(primary) == found.labels) >= 0.95  # type: ignore[attr-defined]
    for theme in set(primary):
        assert len({lab for lab, p in zip(labels, primary, strict=True) if p == theme}) == 1
    assert np.median([len(p) for p in picked]) <= 3
    for p in picked:  # most relevant first, relevances in 0..1
        rel = [r for _, r, _ in p]
        assert rel == sorted(rel, reverse=True) and all(0 < r <= 1 for r in rel)
    # The shared words alone ("account", "order", "online") are not enough for a theme.
    assert (
        model.assign(["account order online"])[0] == []
        or model.assign(["account order online"])[0][0][1] < 0.9
    )


def test_unknown_words_get_no_theme_and_scoring_is_deterministic() -> None:
    model, texts, _ = _model()
    assert model.assign(["", "😀", "zzz qqq"]) == [[], [], []]
    assert model.assign(texts[:20]) == model.assign(texts[:20])


def test_merged_rows_add_up_and_deleted_rows_drop() -> None:
    model, texts, _ = _model()
    rows = list(range(len(model.classes)))
    merged = model.assign(texts, groups=[0 if r < 2 else r for r in rows])
    assert all(p and p[0][1] <= 1.0 for p in merged)
    dropped = model.assign(texts, groups=[None if r == 0 else r for r in rows])
    assert all(t != 0 for p in dropped for t, _, _ in p)
    with pytest.raises(ValueError):
        model.assign(texts, groups=[0])


def test_round_trip_and_format_check(monkeypatch: pytest.MonkeyPatch) -> None:
    from cxchange.understand.themes import relevance

    model, texts, _ = _model()
    back = ThemeModel.from_bytes(model.to_bytes())
    assert back.assign(texts) == model.assign(texts)
    assert back.min_relevance == model.min_relevance
    with pytest.raises(ModelFileError):
        ThemeModel.from_bytes(b"not a model")
    monkeypatch.setattr(relevance, "FORMAT", FORMAT + 1)
    newer = model.to_bytes()
    monkeypatch.setattr(relevance, "FORMAT", FORMAT)
    with pytest.raises(ModelFileError, match="format"):
        ThemeModel.from_bytes(newer)


# --- the centroid matcher of embedding discovery (static embedder) -----------------------------------


def _static_found() -> tuple[object, list[str], list[str]]:
    texts, labels = _corpus(300, seed=2)
    found = discover_themes(texts, max_themes=3, seed=0, embedder="static", with_model=True)
    assert found.model is not None and found.model.centroids is not None  # type: ignore[attr-defined]
    return found, texts, labels


def test_centroid_matcher_assigns_as_discovery_grouped_and_round_trips() -> None:
    found, texts, _ = _static_found()
    model: ThemeModel = found.model  # type: ignore[attr-defined]
    assert model.embedder == "static" and model.centre is not None
    picked = model.assign(texts, groups=[int(c) for c in model.classes])
    primary = np.array([p[0][0] if p else -1 for p in picked])
    assert np.mean(primary == found.labels) >= 0.95  # type: ignore[attr-defined]
    assert np.median([len(p) for p in picked]) <= 3
    for p in picked:
        rel = [r for _, r, _ in p]
        assert rel == sorted(rel, reverse=True)
    back = ThemeModel.from_bytes(model.to_bytes())
    assert back.embedder == "static" and np.allclose(back.centroids, model.centroids, atol=1e-6)  # type: ignore[arg-type]
    assert back.assign(texts[:30]) == model.assign(texts[:30]) == model.assign(texts[:30])
    # A comment with no word piece the table knows gets no theme, never a guess.
    assert model.assign(["", "   "]) == [[], []]


def test_a_comment_of_only_handles_links_or_numbers_gets_no_theme(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing but an @handle, a link or a number: no theme, whichever centroid its embedding lies near.
    MiniLM embeds the "4" left of "@brand 4" (the static table has no vector for it), and a discovery on
    such comments that found one theme ("#fail") gave it to 39 of 40 of them (eval/tour_bad_input.py);
    here an embedder that gives every string the vector of a comment about a theme stands for it."""
    found, texts, _ = _static_found()
    model: ThemeModel = found.model  # type: ignore[attr-defined]
    [about] = model.assign(texts[:1])
    assert about  # the comment whose vector every string gets is about a theme
    vector = ThemeModel._embed(model, texts[:1])
    monkeypatch.setattr(model, "_embed", lambda strings: np.repeat(vector, len(strings), axis=0))
    bare = [
        "@HarbourHotels 4",
        "https://t.co/x9Yq2",
        "www.harbour.example 8",
        "@a_shop https://t.co/ab 12",
        "7",
    ]
    assert model.assign(bare) == [[] for _ in bare]
    assert [p[0][0] for p in model.assign(["@HarbourHotels the parcel arrived late"])] == [about[0][0]]


def test_centroid_matcher_that_names_an_unknown_embedder_is_an_error() -> None:
    found, texts, _ = _static_found()
    model: ThemeModel = found.model  # type: ignore[attr-defined]
    model.embedder = "word2vec"
    with pytest.raises(ValueError, match="word2vec"):
        model.assign(texts[:2])


def test_a_small_theme_is_not_outvoted_by_the_largest_one() -> None:
    """One theme of 60 % and four of 10 %, each comment named by one word of its theme among twenty
    shared ones. Unweighted, the regressions gave the large theme 96 % of the comments (in and out of
    the fit); with balanced class weights the matcher keeps discovery's proportions."""
    from cxchange.understand.themes.normalise import Noise
    from cxchange.understand.themes.relevance import fit_model

    rng = np.random.default_rng(0)
    shared = [f"common{i}" for i in range(50)]
    pools = [[f"topic{c}word{j}" for j in range(40)] for c in range(5)]
    y = rng.choice(5, 1500, p=[0.6, 0.1, 0.1, 0.1, 0.1])
    docs = [[*rng.choice(shared, 20).tolist(), str(rng.choice(pools[c]))] for c in y]
    held = rng.random(len(y)) < 0.3
    model = fit_model(docs, np.where(held, -1, y), fold={}, noise=Noise())
    assert model is not None
    x, _ = model.features_of_terms(docs)
    predicted = model.classes[model.probabilities(x).argmax(1)]
    for part in (held, ~held):
        assert np.mean(predicted[part] == y[part]) >= 0.85
        assert np.mean(predicted[part] == 0) <= np.mean(y[part] == 0) + 0.08


# --- the projection matcher of TF-IDF discovery (long texts) -----------------------------------------

LONG_SUBJECTS = {
    "mortgage": "mortgage escrow servicer modification foreclosure lender appraisal refinance closing",
    "collection": "collector collection agency validate creditor lawsuit garnish settlement owed",
    "card": "card purchase charged twice fraudulent statement annual fee merchant chargeback",
    "report": "bureau report inquiry inaccurate tradeline score equifax experian transunion",
}
FILLER = (
    "contacted several times phone letter nobody answer weeks attached copies sent stress help resolved "
    "asked manager promised call back never email received told wait department transferred hold"
).split()


def _long_corpus(n: int, seed: int) -> tuple[list[str], list[str]]:
    """Complaint-like narratives of about 60 words: a dozen words of one planted subject among words every
    subject shares, in seeded sentences (no two texts repeat a sentence: repeats are boilerplate)."""
    rng = np.random.default_rng(seed)
    keys = sorted(LONG_SUBJECTS)
    texts, labels = [], []
    for i in range(n):
        k = keys[i % len(keys)]
        words = [*rng.choice(LONG_SUBJECTS[k].split(), 12), *rng.choice(FILLER, 40)]
        rng.shuffle(words)
        sentences = [" ".join(["the", *words[j : j + 8]]) for j in range(0, len(words), 8)]
        texts.append(". ".join(x.capitalize() for x in sentences) + ".")
        labels.append(k)
    return texts, labels


def test_projection_matcher_reproduces_discovery_on_long_texts() -> None:
    """The saved matcher of TF-IDF discovery gives every comment discovery's own label (exactly, not
    mostly: the regression matcher it replaced agreed on 56-67 % of new comments), the same alone as in
    a batch, and places new comments of a planted subject in the theme that subject's comments got."""
    texts, labels = _long_corpus(400, seed=3)
    fit, new = texts[:320], texts[320:]
    # max_themes 8: long texts get FINE_FLOOR (0.5) x the top-level slots as fine topics, here 4
    found = discover_themes(fit, max_themes=8, seed=0, embedder="tfidf", with_model=True)
    model: ThemeModel = found.model  # type: ignore[attr-defined]
    assert model.projection is not None and model.centroids is None
    picked = model.assign(fit)
    primary = np.array([int(model.classes[p[0][0]]) if p else -1 for p in picked])
    assert np.array_equal(primary, found.labels)  # type: ignore[attr-defined]
    assert [model.assign([t])[0] for t in fit[:40]] == picked[:40]
    assert np.median([len(p) for p in picked]) <= 3
    # New comments: the theme that most of the fitted comments of their subject were given.
    fitted = list(zip(found.labels.tolist(), labels[:320], strict=True))  # type: ignore[attr-defined]
    home = {k: Counter(x for x, lab in fitted if lab == k).most_common(1)[0][0] for k in LONG_SUBJECTS}
    assert len(set(home.values())) == len(LONG_SUBJECTS)  # discovery found the four subjects
    got = [int(model.classes[p[0][0]]) if p else -1 for p in model.assign(new)]
    assert np.mean([g == home[lab] for g, lab in zip(got, labels[320:], strict=True)]) >= 0.95
    # Stored and read back, it places comments the same way; a comment with no known word gets none.
    back = ThemeModel.from_bytes(model.to_bytes())
    assert back.projection is not None and back.assign(new) == model.assign(new)
    assert model.assign(["", "zzz qqq"]) == [[], []]


def test_a_format_2_regression_matcher_still_loads_and_assigns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Taxonomies saved before the projection matcher (format 2, per-theme regressions) keep working."""
    from cxchange.understand.themes import discover, relevance

    texts, _ = _long_corpus(200, seed=4)
    monkeypatch.setattr(discover, "TFIDF_MATCHER", "regression")
    found = discover_themes(texts, max_themes=4, seed=0, embedder="tfidf", with_model=True)
    model: ThemeModel = found.model  # type: ignore[attr-defined]
    assert model.projection is None
    monkeypatch.setattr(relevance, "FORMAT", 2)
    old = model.to_bytes()
    monkeypatch.setattr(relevance, "FORMAT", FORMAT)
    back = ThemeModel.from_bytes(old)
    assert back.projection is None and back.assign(texts[:30]) == model.assign(texts[:30])
    assert all(p for p in back.assign(texts[:30]))


def test_projection_matcher_gives_every_demo_comment_discoverys_label() -> None:
    """On the demo's comments (TF-IDF path) the regression matcher it replaced gave 3.6 % of the very
    comments discovery had just grouped another theme; the projection gives none."""
    from cxchange.demo import generate

    texts = [t for t in generate(600, seed=5).planted["text"].to_list() if t]
    found = discover_themes(texts, seed=0, embedder="tfidf", with_model=True)
    model: ThemeModel = found.model  # type: ignore[attr-defined]
    primary = [int(model.classes[p[0][0]]) if p else -1 for p in model.assign(texts)]
    assert primary == found.labels.tolist()  # type: ignore[attr-defined]


def test_subject_concentration_counts_the_commonest_subjects_share() -> None:
    from cxchange.understand.themes.discover import subject_concentration

    subjects = ["dress", "dress", "dress", "top", "plot", None]
    assert subject_concentration(subjects, 1) == pytest.approx(3 / 6)
    assert subject_concentration(subjects, 2) == pytest.approx(4 / 6)
    assert subject_concentration(subjects, 10) == pytest.approx(5 / 6)
    assert subject_concentration([], 3) == 0.0 and subject_concentration([None, None], 3) == 0.0


def test_long_corpora_get_the_subject_lift_only_when_their_subjects_concentrate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With SUBJECT_SHARE_MIN set, a long corpus whose comments open on a few nouns ("This dress ...")
    is lifted, one whose first nouns scatter is not; without it, SUBJECT_LIFT applies to both."""
    from cxchange.understand.themes import discover

    scattered, labels = _long_corpus(200, seed=6)
    garments = dict(zip(sorted(LONG_SUBJECTS), ("dress", "jacket", "sweater", "skirt"), strict=True))
    rng = np.random.default_rng(7)  # each opening worded apart (a repeated sentence is boilerplate)
    opening = [" ".join(rng.choice(FILLER, 3)) for _ in labels]
    concentrated = [
        f"This {garments[k]} {o}. {t}" for t, k, o in zip(scattered, labels, opening, strict=True)
    ]

    def lift(texts: list[str]) -> float:
        found = discover_themes(texts, max_themes=6, seed=0, embedder="tfidf", with_model=True)
        return float(found.model.projection.lift)  # type: ignore[attr-defined]

    monkeypatch.setattr(discover, "SUBJECT_LIFT", 0.75)
    monkeypatch.setattr(discover, "SUBJECT_SHARE_MIN", None)
    assert lift(scattered) == lift(concentrated) == 0.75
    monkeypatch.setattr(discover, "SUBJECT_SHARE_MIN", 1 / 3)
    assert lift(concentrated) == 0.75
    assert lift(scattered) == 0.0
