"""Text normalisation before discovery: who was addressed and noise go, what happened stays."""

from __future__ import annotations

from cxchange.understand.themes.discover import discover_themes
from cxchange.understand.themes.normalise import Noise, corpus_noise, normalise


def test_handles_links_addresses_placeholders_and_signatures_go() -> None:
    text = (
        "@united my bag was lost at https://x.co/abc, call me on 07700 900123 or ann@example.com. "
        "Account XXXX charged {$12.00} [PHONE]\nRegards, Ann"
    )
    out = normalise(text)
    for gone in (
        "@united",
        "united",
        "https",
        "07700",
        "ann@example.com",
        "XXXX",
        "$12.00",
        "[PHONE]",
        "Ann",
    ):
        assert gone not in out, gone
    assert "bag was lost" in out and "charged" in out
    assert "Sent" not in normalise("The strap broke after a week.\nSent from my iPhone")


def _posts() -> list[str]:
    issues = ["my bag was lost", "the refund is late", "the seat was broken", "the flight was delayed"]
    brands = ["@SouthwestAir", "@united", "@AmericanAir"]
    moods = [
        "sadly",
        "honestly",
        "once more",
        "as usual",
        "today",
        "yesterday",
        "again",
        "twice",
        "now",
        "lol",
    ]
    return [
        f"{brands[i % 3]} {issues[i % 4]} {moods[i // 12]}, the {issues[(i + i // 4) % 4].split()[1]} too. "
        "This message was sent through our customer feedback form."
        for i in range(120)
    ]


def test_corpus_noise_finds_handles_proper_nouns_and_boilerplate() -> None:
    texts = [*_posts(), *[f"Flew with Delta on day {i}, the meal was cold." for i in range(10)]]
    noise = corpus_noise(texts)
    assert {"southwestair", "united", "americanair", "delta"} <= noise.brands
    assert "meal" not in noise.brands and "the" not in noise.brands
    assert "this message was sent through our customer feedback form" in noise.boilerplate
    cleaned = normalise(texts[-1], noise)
    assert "Delta" not in cleaned and "meal was cold" in cleaned
    assert Noise.from_dict(noise.as_dict()) == noise


def test_theme_names_never_a_handle_or_brand() -> None:
    found = discover_themes(_posts(), max_themes=4, seed=0)
    names = " ".join(t.name.lower() for t in found.themes)
    for brand in ("united", "southwest", "americanair", "message", "form"):
        assert brand not in names, names
    assert found.noise is not None and "united" in found.noise.brands


def test_capitalised_nouns_of_other_languages_are_not_brands() -> None:
    german = [f"Die Lieferung kam {i} Tage zu spät und das Paket war beschädigt." for i in range(20)]
    english = [f"I wrote to Acme about order {i}, the box was damaged." for i in range(20)]
    brands = corpus_noise(german + english).brands
    assert "acme" in brands
    assert not {"lieferung", "tage", "paket"} & brands


def test_a_handle_that_is_a_common_word_is_not_a_brand() -> None:
    """One "@all" among hotel reviews made "all" a brand and stripped it from every review."""
    texts = ["Thanks @all the staff were great"] + [
        f"We liked all of it, room {i} was clean." for i in range(30)
    ]
    texts += ["Booked through @marriott again.", "Asked @marriott twice, no answer."]
    noise = corpus_noise(texts)
    assert "marriott" in noise.brands
    assert "all" not in noise.brands
    assert " all " in f" {normalise(texts[1], noise)} "
