"""Text for discovery: stop and verdict words, tokenising, folding inflections, subjects, key phrases.

Shared by discovery and by the saved model that places new comments (relevance.py): both must read
a comment the same way.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "DETERMINERS",
    "GENERIC_WORDS",
    "STOP_WORDS",
    "find_subjects",
    "fold_map",
    "head_nouns",
    "is_generic",
    "text_terms",
    "tokenise",
]

NOUN_SHARE = 0.4  # a word is a noun when at least this share of its uses follow a determiner


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# sklearn's English list minus words that are subjects in feedback (a bill, a call, interest on a loan,
# the top or back of a garment, thick or thin fabric, a full refund).
_KEEP = _words(
    "bill call interest amount system top bottom thick thin fire full front side back empty "
    "serious made move detail fill"
)
# Contractions lose their apostrophe in tokenising; filler, intensifiers and meta words carry no subject.
_FILLER = _words(
    """
    im ive id ill youre youve youd theyre theyve weve wasnt isnt arent dont didnt doesnt cant couldnt wont
    wouldnt shouldnt havent hasnt hadnt thats theres whats heres lets aint gonna wanna gotta yeah yes na
    nope none nothing comment comments nil nah idk tbh lol btw pls plz hi hello hey dear regards sincerely
    just really actually literally basically simply truly definitely maybe probably also like little
    got get gets getting go goes going went gone come came coming say says said tell told know knew think
    thought want wanted need needed make makes making use used using lot lots bit way thing things stuff
    someone anyone everyone people person day days week weeks month months year years today yesterday
    time times did does doing having let oh etc absolutely extremely incredibly genuinely super properly
    seriously totally completely utterly review reviews reviewer reviewers feedback survey xx xxx xxxx us
    """
)
# scikit-learn's English list, read from a copy: importing scikit-learn for it cost every import a
# second (the after-import work tokenises through this module); tests check the copy is the same list.
ENGLISH_STOP_WORDS: frozenset[str] = frozenset(
    line.strip()
    for line in (Path(__file__).parent / "data" / "english_stop_words.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)
STOP_WORDS: frozenset[str] = frozenset((ENGLISH_STOP_WORDS - _KEEP) | _FILLER)
DETERMINERS = _words("the this these that those my our your their a an its his her")
# Overall verdicts and generic nouns: they say how, not what. Not here on purpose: quality, value,
# friendly, helpful, rude, slow - they name a subject (product, price, staff, speed).
GENERIC_WORDS: frozenset[str] = _words(
    """
    good great excellent bad poor terrible awful horrible dreadful shocking appalling fantastic brilliant
    amazing awesome wonderful superb perfect outstanding lovely nice fine decent average mediocre ok okay
    happy unhappy pleased satisfied dissatisfied disappointed disappointing disappoint impressed
    impressive love loved hate hated like liked best worst better worse recommend recommended
    recommendation fault complain complaint complaints complaining joke rubbish useless pathetic disgrace
    disgraceful unacceptable acceptable frustrating frustrated annoyed annoying fab fabulous cool glad
    sorry shame overall experience service services company companies customer customers business job
    star stars everything anything thanks thank cheers smooth easy painless hassle efficient professional
    """
)

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[.!?;:,()\[\]\"/|\n\-–—]+")


def tokenise(text: str) -> tuple[list[str | None], list[int]]:
    """Lower-case words with stop words and punctuation as None (phrase breaks), and the positions of
    words at most two words after a determiner ("this dress", "the long queue"): candidate nouns."""
    out: list[str | None] = []
    heads: list[int] = []
    since_det = 9  # words since the last determiner
    for m in _TOKEN.findall(text.lower()):
        if m.isdigit():  # a count ("waited 40 minutes") neither is a word nor breaks a phrase
            continue
        w = m.replace("'", "").replace("’", "") if ("'" in m or "’" in m) else m
        if not w.isalpha():  # punctuation, or a code such as an order ref (LK3587696): a phrase break
            since_det = 9
            if out and out[-1] is not None:
                out.append(None)
            continue
        since_det = 0 if w in DETERMINERS else since_det + 1
        if len(w) < 2 or w in STOP_WORDS:
            if out and out[-1] is not None:
                out.append(None)
            continue
        if since_det <= 2:
            heads.append(len(out))
        out.append(w)
    return out, heads


def fold_map(counts: Counter[str]) -> dict[str, str]:
    """Map inflected forms onto a base form seen in the same corpus (a tiny data-driven stemmer)."""

    def bases(w: str) -> Iterable[str]:
        if w.endswith(("ies", "ied")):
            yield w[:-3] + "y"
        if w.endswith("es"):
            yield w[:-2]
        if w.endswith("s") and not w.endswith(("ss", "us", "is")):
            yield w[:-1]
        if w.endswith("ing"):
            yield from (w[:-3], w[:-3] + "e")
            if len(w) > 5 and w[-4] == w[-5]:
                yield w[:-4]
        if w.endswith("ed"):
            yield from (w[:-2], w[:-1])
            if len(w) > 4 and w[-3] == w[-4]:
                yield w[:-3]

    fold: dict[str, str] = {}
    for w, c in counts.items():
        # The most common base that is not a rare typo ("lov" must not swallow "loved").
        options = [
            b for b in bases(w) if len(b) >= 3 and b not in STOP_WORDS and counts.get(b, 0) >= max(2, c / 20)
        ]
        if options:
            fold[w] = max(options, key=lambda b: counts[b])
    return {w: fold.get(b, b) for w, b in fold.items()}  # settle chains in one more pass


def _head_words(toks: list[str | None], hs: list[int], fold: dict[str, str]) -> list[tuple[int, str]]:
    """(position, folded word) of each head `tokenise` found (a head is a word, never a phrase break)."""
    return [(i, fold.get(t, t)) for i in hs if (t := toks[i]) is not None]


def find_subjects(
    tokens: list[list[str | None]], heads: list[list[int]], fold: dict[str, str]
) -> tuple[list[str | None], frozenset[str]]:
    """Per text, its first noun after a determiner (folded), or None; and the corpus's nouns."""
    after: Counter[str] = Counter()
    total: Counter[str] = Counter()
    folded = [[w for _, w in _head_words(toks, hs, fold)] for toks, hs in zip(tokens, heads, strict=True)]
    for toks, words in zip(tokens, folded, strict=True):
        total.update(fold.get(t, t) for t in toks if t is not None)
        after.update(words)
    nouns = {w for w, c in after.items() if c >= NOUN_SHARE * total[w] and total[w] >= 5} - GENERIC_WORDS
    first = [next((w for w in ws if w in nouns), None) for ws in folded]
    return first, frozenset(nouns)


def head_nouns(
    tokens: list[list[str | None]], heads: list[list[int]], fold: dict[str, str]
) -> frozenset[str]:
    """Words this corpus uses as the head of a determiner phrase: what a theme's name may end with.

    A word after "the", "my"... is a noun when it mostly comes there (as for subjects), but not when it
    mostly modifies the next word ("a new card": new) nor when it mostly follows a noun there ("the
    transfer arrived": arrived). Why not the subjects' nouns: those count adjectives too, which named
    themes "New" or "Virtual".
    """
    total: Counter[str] = Counter()
    after: Counter[str] = Counter()
    modifies: Counter[str] = Counter()  # followed by another word of the same run
    follows: Counter[tuple[str, str]] = Counter()  # (word, the word before it in the run)
    for toks, hs in zip(tokens, heads, strict=True):
        total.update(fold.get(t, t) for t in toks if t is not None)
        run = set(hs)
        for i, w in _head_words(toks, hs, fold):
            after[w] += 1
            if i + 1 in run:
                modifies[w] += 1
            if i - 1 in run and (before := toks[i - 1]) is not None:  # a head: always a word
                follows[(w, fold.get(before, before))] += 1
    nouns = {
        w for w, c in after.items() if c >= NOUN_SHARE * total[w] and total[w] >= 5 and modifies[w] < 0.5 * c
    } - GENERIC_WORDS
    after_noun: Counter[str] = Counter()
    for (w, before), c in follows.items():
        if before in nouns:
            after_noun[w] += c
    return frozenset(w for w in nouns if after_noun[w] < 0.5 * after[w])


def text_terms(tokens: list[str | None], fold: dict[str, str]) -> list[str]:
    """Unigrams and adjacent-pair key phrases (stop words and punctuation break a phrase)."""
    words = [fold.get(t, t) if t is not None else None for t in tokens]
    out: list[str] = [w for w in words if w is not None]
    out += [f"{a} {b}" for a, b in itertools.pairwise(words) if a is not None and b is not None and a != b]
    return out


def is_generic(term: str) -> bool:
    return all(part in GENERIC_WORDS for part in term.split(" "))
