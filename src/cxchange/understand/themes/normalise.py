"""Text normalisation before theme discovery: keep what happened, drop who was addressed and noise.

Pure and deterministic. Two steps:

1. `corpus_noise(texts)` looks at the whole corpus once and returns what to strip from every text:
   *brands* (words of @handles, and proper nouns: words written capitalised nearly every time they
   occur mid-sentence, such as company, product or person names) and *boilerplate* (sentences repeated
   word for word across many comments: form text, legal footers, survey prompts).
2. `normalise(text, noise)` removes @mentions, URLs, e-mail addresses, phone numbers, redaction
   placeholders ("XXXX", "[PHONE]", "{$12.00}"), companies named with their legal form ("LVNV Funding
   LLC"), signatures ("Sent from my iPhone", "Regards, Ann"),
   the boilerplate sentences and the brand words.

Why brands go: on social posts the commonest words are the companies addressed ("@united"), and a
theme named "United" says nothing about what went wrong. Acronyms in capitals (ATM, APR) are kept:
they name things, not who was addressed.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Noise", "corpus_noise", "normalise"]

MAX_CHARS = 20_000  # a comment's subject is clear from its first pages; bounds the time on 100 kB texts
PROPER_SHARE = 0.9  # a word is a name when capitalised in at least this share of its mid-sentence uses
PROPER_MIN = 5  # ... and seen mid-sentence at least this often
ACRONYM_SHARE = 0.6  # a word written in capitals in at least this share of its mid-sentence uses: ATM
COMMON_SHARE = 0.5  # a handle's word capitalised in less than this share of its plain uses is a common word
TITLE_CASE_SHARE = 0.2  # a text with more capitalised mid-sentence words than this is not English prose
BOILERPLATE_SHARE = 0.02  # a sentence repeated in this share of the texts (at least 5) is boilerplate
BOILERPLATE_WORDS = 5  # ... when it has at least this many words (short ones are real verdicts: "Love it!")

_TAG = re.compile(r"<[^>]{0,300}>")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_HANDLE = re.compile(r"(?<![\w@])@(\w{1,30})")
_PHONE = re.compile(r"(?<!\w)\+?\(?\d{2,5}\)?[\s.-]?\d{3,4}[\s.-]?\d{3,4}(?!\w)")
# Redaction placeholders: cxchange's own ([EMAIL], [PHONE], [CARD]), CFPB's XXXX and XX/XX/XXXX, {name}.
_PLACEHOLDER = re.compile(r"\[[A-Z_ ]{2,20}\]|\bX{2,}\b|\{[^{}\s]{1,30}\}", re.I)
# A sign-off followed by a name at the very end ("Regards, Ann Lee"); a bare "Thanks!" is the comment's.
_SIGNATURE = re.compile(
    r"(?i:\bsent from my [\w ]{2,30}$)"
    r"|(?:(?:^|(?<=[\n.!]))\s*(?i:(?:best |kind |warm )?(?:regards|sincerely|cheers|thanks|thank you|best))\b"
    r"[ ,.!-]*\s*[A-Z][\w.'-]*(?: [A-Z][\w.'-]*)?\s*$)",
)
# A company by its legal form (possessive runs, from a word's start: no backtracking on long capitalised
# runs): up to five capitalised words before LLC, Inc., Ltd, Corp., PLC, GmbH, N.A.
# ("LVNV Funding LLC", "Portfolio Recovery Associates, LLC"). Its words are common ones, written in lower
# case elsewhere, so the proper-noun test keeps them, and 16 CFPB complaints named a theme "Funding llc".
_COMPANY = re.compile(
    r"(?<![\w&'’-])(?:[A-Z][\w&'’-]*+\s+(?:(?:of|and|&)\s+)?){0,4}[A-Z][\w&'’-]*+,?\s+"
    r"(?:LLC|L\.L\.C\.|LLP|Inc\b\.?|INC\b\.?|Ltd\b\.?|LTD\b\.?|Limited|Corp\b\.?|CORP\b\.?|Corporation|PLC|plc|GmbH"
    r"|N\.A\.)(?!\w)"
)
# Substrings a legal form needs: a C-speed test before the regex (a pattern search cost 0.6 s on 31k reviews).
_LEGAL_FORMS = (
    "LLC",
    "L.L.C",
    "LLP",
    "Inc",
    "INC",
    "Ltd",
    "LTD",
    "Limited",
    "Corp",
    "CORP",
    "PLC",
    "plc",
    "GmbH",
    "N.A.",
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?\n]*")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_STARTS = frozenset('.!?\n:;"(')  # after these a word may be capitalised for being first


@dataclass(frozen=True)
class Noise:
    """What to strip from every text of a corpus (found by `corpus_noise`)."""

    brands: frozenset[str] = field(default_factory=frozenset)  # lower-case words
    boilerplate: frozenset[str] = field(default_factory=frozenset)  # normalised sentences
    # Not stripped: words this corpus writes in capitals (ATM, PIN, EU), lower-case, so a theme's name
    # writes them so too ("Nearest ATM", not "Nearest atm"). Only discovery's naming uses them; not stored.
    acronyms: frozenset[str] = field(default_factory=frozenset, compare=False)

    def as_dict(self) -> dict[str, list[str]]:
        return {"brands": sorted(self.brands), "boilerplate": sorted(self.boilerplate)}

    @classmethod
    def from_dict(cls, d: dict[str, list[str]]) -> Noise:
        return cls(frozenset(d.get("brands", ())), frozenset(d.get("boilerplate", ())))


def _basic(text: str | None) -> str:
    """Markup, links, addresses, numbers that identify someone, placeholders, companies named with their
    legal form and signatures out."""
    if not text or not isinstance(text, str):
        return ""
    t = text[:MAX_CHARS]
    if "<" in t or "&" in t:
        t = _TAG.sub(" ", html.unescape(t))
    t = _URL.sub(" ", t)
    if "@" in t:
        t = _HANDLE.sub(" ", _EMAIL.sub(" ", t))
    t = _PHONE.sub(" ", t)
    t = _PLACEHOLDER.sub(" ", t)
    if any(form in t for form in _LEGAL_FORMS):
        t = _COMPANY.sub(" ", t)
    tail = len(t) - 200  # a signature sits at the end
    m = _SIGNATURE.search(t, max(0, tail))
    if m is not None and m.start() > 0:
        t = t[: m.start()]
    return t


def _sentence_key(s: str) -> str:
    return " ".join(w.lower() for w in _WORD.findall(s))


def corpus_noise(texts: Sequence[str | None]) -> Noise:
    """Brands and boilerplate sentences of this corpus (see the module doc)."""
    handles: Counter[str] = Counter()
    upper: Counter[str] = Counter()  # mid-sentence uses written Capitalised
    capitals: Counter[str] = Counter()  # mid-sentence uses written in CAPITALS (ATM), of 2-5 letters
    mid: Counter[str] = Counter()  # all mid-sentence uses
    sentences: Counter[str] = Counter()
    n = 0
    for raw in texts:
        if not raw or not isinstance(raw, str):
            continue
        n += 1
        t = raw[:MAX_CHARS]
        if "@" in t:
            handles.update(h.lower() for h in _HANDLE.findall(t))
        t = _basic(t)
        # Boilerplate sits beside a comment's own words: a sentence that is a whole comment is the
        # comment (many people write the same thing), never boilerplate.
        keys = {_sentence_key(s) for s in _SENTENCE.findall(t)}
        keys.discard("")
        if len(keys) > 1:
            sentences.update(k for k in keys if k.count(" ") + 1 >= BOILERPLATE_WORDS)
        words = _mid_sentence_words(t)
        capital = [w for w in words if w[:1].isupper() and not w.isupper() and not _acronym_form(w)]
        # Where many words are capitalised (German nouns, Title Case), capitals do not mark names.
        if len(capital) > TITLE_CASE_SHARE * len(words):
            continue
        mid.update(w.lower() for w in words)
        upper.update(w.lower() for w in capital)
        capitals.update(w.lower() for w in words if 2 <= len(w) <= 5 and w.isupper())
    # A handle is a name unless its word is common in plain text and mostly written in lower case: "@all"
    # or "@home" once in 31,000 hotel reviews must not strip every "all" and "home" from them.
    brands = {
        h
        for h, c in handles.items()
        if (c >= 2 or len(handles) <= 20) and not (mid[h] >= PROPER_MIN and upper[h] < COMMON_SHARE * mid[h])
    }
    for h in list(brands):  # "@virgin_atlantic" is written "virginatlantic" too
        brands.add(h.replace("_", ""))
    brands |= {w for w, c in upper.items() if c >= PROPER_MIN and c >= PROPER_SHARE * mid[w]}
    cut = max(5, BOILERPLATE_SHARE * n)
    boiler = {s for s, c in sentences.items() if c >= cut}
    # Most of a word's uses in capitals (a shouted review or two do not make "great" an acronym).
    acronyms = {w for w, c in capitals.items() if c >= PROPER_MIN and c >= ACRONYM_SHARE * mid[w]}
    return Noise(frozenset(b for b in brands if len(b) > 1), frozenset(boiler), frozenset(acronyms))


def _acronym_form(word: str) -> bool:
    """An acronym's plural or possessive ("ATMs", "CRAs", "TV's"): not a name written Capitalised, which
    made banking77's "atms" and CFPB's "cras" brands, left out of every text."""
    stem = re.sub(r"(?:['’]s|s)$", "", word)
    return len(stem) >= 2 and stem.isupper()


def _mid_sentence_words(t: str) -> list[str]:
    """Words not at the start of a sentence (there every word is capitalised)."""
    out, last_end = [], -1  # -1: the next word starts the text
    for m in _WORD.finditer(t):
        gap = t[max(last_end, 0) : m.start()]
        if last_end >= 0 and not any(c in _STARTS for c in gap):
            out.append(m.group())
        last_end = m.end()
    return out


def normalise(text: str | None, noise: Noise | None = None) -> str:
    """``text`` without links, handles, addresses, placeholders, signatures, boilerplate and brands."""
    t = _basic(text)
    if noise is None or not t:
        return t
    if noise.boilerplate:
        t = " ".join(s for s in _SENTENCE.findall(t) if _sentence_key(s) not in noise.boilerplate)
    if noise.brands:
        t = _WORD.sub(lambda m: " " if m.group().lower() in noise.brands else m.group(), t)
    return t
