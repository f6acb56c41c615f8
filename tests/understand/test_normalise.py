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


def test_companies_named_with_their_legal_form_go() -> None:
    """16 CFPB complaints about "LVNV Funding LLC" named a theme "Funding llc": the company's words
    are common ones (funding, credit, recovery) written in lower case elsewhere, so the proper-noun
    test kept them. A run of capitalised words before a legal form is a company: who, not what."""
    text = (
        "LVNV Funding LLC reported a debt. Portfolio Recovery Associates, LLC and CITI BANK N.A. called, "
        "so did Midland Credit Management Inc. about the funding of my loan."
    )
    out = normalise(text)
    for gone in ("LVNV", "Funding", "LLC", "Portfolio", "Associates", "CITI", "N.A.", "Midland", "Inc"):
        assert gone not in out
    assert "reported a debt" in out and "called" in out and "the funding of my loan" in out
    # a legal form's letters inside a word, or a capital after it, is not a company
    kept = "Incredible service. The Corporate rate was limited, Ltd edition mugs aside."
    assert normalise(kept) == kept


def test_names_write_acronyms_as_the_corpus_does() -> None:
    """Banking requests named themes "Atm", "Nearest atm", "Card pin", "Eu": words the customers write
    in capitals keep them in a theme's name; a word shouted in one review does not."""
    texts = [
        *[f"Where is the nearest ATM to withdraw cash {i}?" for i in range(12)],
        *[f"The ATM kept my card after I typed my PIN on day {i}." for i in range(12)],
        *[f"I forgot the PIN of my card, attempt {i}." for i in range(12)],
        *[f"The delivery of my new card is late, week {i}." for i in range(12)],
        "The delivery of my new card is LATE and the CARD is lost!",
    ]
    noise = corpus_noise(texts)
    assert {"atm", "pin"} <= noise.acronyms and not {"card", "late"} & noise.acronyms
    names = [t.name for t in discover_themes(texts, max_themes=3, seed=0).themes]
    words = {w for name in names for w in name.split(" ")}
    assert words & {"ATM", "PIN"}, names
    assert not words & {"Atm", "atm", "Pin", "pin", "CARD", "LATE"}, names


def test_company_names_are_found_in_bounded_time() -> None:
    """A long run of capitalised words before no legal form made the company pattern backtrack: one
    20,000-character text took 7.8 s (every comment analysed against discovered themes runs it)."""
    import time

    started = time.perf_counter()
    normalise("Inc " + "A" * 20_000)
    normalise("LLC " + "Abc-" * 5_000)
    normalise(" ".join(["Word"] * 4_000) + " Inc.")
    assert time.perf_counter() - started < 0.5


def test_an_acronyms_plural_is_not_a_name() -> None:
    """An acronym's plural, "ATMs" or "CRAs", starts with a capital and is not all capitals, so the
    proper-noun test made "atms" (banking77) and "cras" (CFPB) brands, removed from every request."""
    texts = [f"Why did the ATMs near me decline my card on day {i}? The CRAs and TV's too." for i in range(9)]
    texts += [f"Flew with Delta on day {i}, the meal was cold." for i in range(10)]
    brands = corpus_noise(texts).brands
    assert not {"atms", "cras", "tv's", "tv"} & brands and "delta" in brands
