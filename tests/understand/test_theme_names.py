"""Theme names say what a theme is about: a noun or a phrase ending in one, never a lone adjective or verb."""

from __future__ import annotations

import random

from cxchange.understand.themes import discover_themes
from cxchange.understand.themes.naming import name_options, pick_name
from cxchange.understand.themes.text import head_nouns, tokenise

NOT_NOUNS = {"new", "virtual", "hard", "called", "available", "lost", "late", "accepted", "broken", "slow"}


def test_a_noun_beats_a_stronger_adjective() -> None:
    scored = [("hard", 1.0), ("find", 0.8), ("hard find", 0.3), ("branch", 0.2)]
    assert pick_name(scored, nouns=frozenset({"branch"})) == "branch"


def test_a_noun_phrase_beats_its_noun_and_the_parents_name_is_not_repeated() -> None:
    scored = [("card", 1.0), ("virtual", 0.9), ("virtual card", 0.7)]
    assert pick_name(scored, avoid="card", nouns=frozenset({"card"})) == "virtual card"
    assert pick_name([("refund", 1.0), ("late refund", 0.6)], nouns=frozenset({"refund"})) == "late refund"


def test_without_a_noun_a_phrase_then_a_verdict_as_an_experience() -> None:
    nouns = frozenset({"card"})
    assert pick_name([("called", 1.0), ("called twice", 0.4)], nouns=nouns) == "called twice"
    assert name_options([("good", 1.0), ("happy", 0.5)], nouns=nouns)[0] == "good experience"


def test_head_nouns_skip_adjectives_after_a_determiner() -> None:
    texts = ["I want a new card", "my new card is late", "the card was lost", "a virtual card please"] * 3
    parsed = [tokenise(t) for t in texts]
    nouns = head_nouns([p[0] for p in parsed], [p[1] for p in parsed], {})
    assert "card" in nouns
    assert not nouns & {"new", "virtual"}


def _corpus(seed: int) -> list[str]:
    """Requests where an adjective or verb is the commonest word of each subject."""
    rng = random.Random(seed)
    subjects = {
        "card": ["I need a new card", "my new card has not arrived", "where is my new card", "the new card"],
        "virtual": ["can I get a virtual card", "is the virtual card free", "my virtual card is blocked"],
        "hard": ["it is hard to find the branch", "hard to reach the branch", "the branch is hard to find"],
        "called": ["I called the helpline twice", "called the helpline, no answer", "the helpline I called"],
        "late": ["my transfer is late", "the transfer arrived late again", "why is the transfer late"],
    }
    tails = ["", " please", " today", " again", " thanks", " asap"]
    return [rng.choice(v) + rng.choice(tails) for v in subjects.values() for _ in range(60)]


def test_discovered_names_are_never_a_lone_adjective_or_verb() -> None:
    for seed in (0, 1):
        found = discover_themes(_corpus(seed), max_themes=6, seed=seed)
        names = [t.name for t in found.themes]
        assert len(names) >= 3, names
        for name in names:
            words = name.lower().split()
            assert not (len(words) == 1 and words[0] in NOT_NOUNS), names


def test_the_stop_word_copy_is_scikit_learns_list() -> None:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as SKLEARN

    from cxchange.understand.themes.text import ENGLISH_STOP_WORDS

    assert ENGLISH_STOP_WORDS == SKLEARN


def test_a_word_fragment_never_names_a_theme() -> None:
    """ "non-smoking" and "hotels.com" tokenise to "non" and "com": a 31,436-review hotel set had themes
    named "Non" and "Com"."""
    nouns = frozenset({"non", "com", "room", "booking"})
    assert pick_name([("non", 1.0), ("non smoking", 0.4), ("room", 0.3)], nouns=nouns) != "non"
    assert pick_name([("com", 1.0), ("booking", 0.5)], nouns=nouns) == "booking"
    assert pick_name([("com", 1.0)], nouns=nouns) == "com"  # nothing else to call it


def test_a_phrase_names_a_theme_only_for_its_own_noun() -> None:
    """A staff theme of hotel reviews was named "Recommend hotel": a phrase about another subject."""
    nouns = frozenset({"staff", "hotel"})
    scored = [("staff", 1.0), ("friendly", 0.9), ("recommend hotel", 0.6), ("friendly staff", 0.5)]
    assert pick_name(scored, nouns=nouns) == "friendly staff"
    assert pick_name(scored[:3], nouns=nouns) == "staff"


def test_a_noun_far_down_the_terms_never_names_the_theme() -> None:
    """Restaurant reviews: the noun test misses "biryani" ("the chicken biryani": a noun after a noun), and
    a noun at rank 20 ("aroma") named the biryani theme. A name comes from what the theme is most about."""
    scored = [
        ("biryani", 1.0),
        ("chicken biryani", 0.5),
        ("mutton biryani", 0.4),
        ("dum", 0.3),
        ("piece", 0.3),
    ]
    scored += [(f"word{i}", 0.2 - i / 100) for i in range(12)] + [("aroma", 0.02)]
    nouns = frozenset({"aroma", "piece"})
    assert pick_name(scored, nouns=nouns) == "piece"  # a noun among the strongest five still leads
    assert pick_name([t for t in scored if t[0] != "piece"], nouns=nouns) == "chicken biryani"
    # among the keywords (the ten strongest), a phrase of the theme's own words before a noun further down
    late = [("paratha", 1.0), ("paneer", 0.6), ("oily", 0.5), ("stuffing", 0.4), ("spicy", 0.3)]
    late += [("mark", 0.2), ("paneer paratha", 0.15), ("thanks team", 0.14)]
    assert pick_name(late, nouns=frozenset({"mark", "team"})) == "paneer paratha"
