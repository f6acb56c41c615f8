"""The clause and sentence scope of the fast back-end's rules (lexicon.py), and the words they need.

VADER lets a negation reach three words back and weighs a whole text around its first "but", across
commas and sentences; reviews are read wrong that way ("No legroom, horrible IFE": "horrible" negated).
Here `token_breaks` finds the clause and sentence ends the tokeniser strips, and the rules below keep
to them: negation to its clause (`clause_ids`), the contrast rule to its sentence (`contrast`);
`expectations` reads "supposed to be X", "would seem X but ...", "X but it wasn't" as the negation of
X, and `proper_noun` tells a capitalised lexicon word used as a name ("United is using ...").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

N_SCALAR = -0.74  # negation flips and weakens

NEGATE = frozenset(
    "aint arent cannot cant couldnt darent didnt doesnt ain't aren't can't couldn't daren't didn't "
    "doesn't dont hadnt hasnt havent isnt mightnt mustnt neither don't hadn't hasn't haven't isn't "
    "mightn't mustn't neednt needn't never none nope nor not nothing nowhere oughtnt shant shouldnt "
    "uhuh wasnt werent oughtn't shan't shouldn't uh-uh wasn't weren't without wont wouldnt won't "
    "wouldn't rarely seldom despite".split()
)
CONTRAST = frozenset({"but", "however"})  # VADER has "but"; "however" shifts weight the same way

# Token breaks (`token_breaks`): the token ends a clause (, ; :) or a sentence (. ! ? ... or a line).
CLAUSE, SENTENCE = 1, 2
_ENDERS = frozenset(",;:.!?\"')]\u2026")
# A word (not an emoticon such as ":)") followed by clause or sentence punctuation, closers allowed.
_BREAK = re.compile(r"[\w%$][\"')\]]*(?:([,;:])|[.!?\u2026]+)[\"')\]]*$")
# Expectation frames: what they expect did not happen ("supposed to be quiet", "should have been
# better"): up to three words after them, in their clause, read negated.
_FRAMES = (
    ("supposed", "to", "be"),
    ("meant", "to", "be"),
    *((m, "have", "been") for m in "should could would might".split()),
)
_FRAME_FIRST = frozenset(f[0] for f in _FRAMES)
# Appearance verbs: "would seem comfortable but ..." says it was not, when a contrast follows.
_SEEM = frozenset("seem seems seemed appear appears appeared".split())
FRAME_WORDS = _FRAME_FIRST | _SEEM  # a text without any of them has no expectation frame
# The subjects and auxiliaries of an elliptic negation: "..., but it wasn't", "but they did not".
_SUBJECTS = frozenset("it they that this he she i we you these those".split())
_AUX = frozenset("is was are were am did does do has have had will would could can should".split())
# Finite verbs after a capitalised word mark it as a subject noun ("United is using ..."): an adjective
# does not stand before them.
_FINITE = frozenset(
    "is was are were has had have will would does did can could should may might must".split()
)


def negated(word: str) -> bool:
    return word in NEGATE or "n't" in word


def clause_ids(lows: list[str], breaks: Sequence[int]) -> list[int]:
    """A clause number per word: a clause ends after a break and before a contrast word. The commas of a
    sentence with "nor" after them do not end one: in "not smart, handsome, nor funny" the negation
    runs over the list."""
    if "nor" in lows:
        breaks = list(breaks)
        ahead = False  # a "nor" follows in this sentence
        for i in range(len(lows) - 1, -1, -1):
            if breaks[i] == SENTENCE:
                ahead = False
            elif breaks[i] == CLAUSE and ahead:
                breaks[i] = 0
            if lows[i] == "nor":
                ahead = True
    ids, c = [], 0
    for w, b in zip(lows, breaks, strict=True):
        if w in CONTRAST:
            c += 1
        ids.append(c)
        if b:
            c += 1
    return ids


def _sentences(breaks: Sequence[int]) -> list[tuple[int, int]]:
    """(start, end) word positions of each sentence."""
    out, start = [], 0
    for i, b in enumerate(breaks):
        if b == SENTENCE:
            out.append((start, i + 1))
            start = i + 1
    if start < len(breaks):
        out.append((start, len(breaks)))
    return out


def _titled(word: str) -> bool:
    return len(word) > 1 and word[0].isupper() and not word.isupper()


# Function words that prose writes in lower case inside a sentence; title case capitalises them.
_TITLE_CASE = frozenset("The And Of In To For With At On Or Is Was Are From By".split())


def title_case(words: list[str], breaks: Sequence[int]) -> bool:
    """Whether the text is written in title case ("The Best Hotel In Town"): then a capitalised word
    says nothing about names."""
    return any(words[j] in _TITLE_CASE and not breaks[j - 1] for j in range(1, len(words)))


def proper_noun(words: list[str], breaks: Sequence[int], i: int) -> bool:
    """Whether capitalised word i, not first in its clause, is used as a name: a subject before a finite
    verb ("because United is using ...") or in a run of capitalised words that does not start its clause
    ("we flew Spirit Airlines"; "Wow Great Food" starts its clause: a heading, not a name)."""
    n = len(words)
    if i + 1 < n and not breaks[i] and words[i + 1].lower() in _FINITE:
        return True
    start = i
    while start > 0 and not breaks[start - 1] and _titled(words[start - 1]):
        start -= 1
    if start == 0 or breaks[start - 1]:
        return False  # the run opens its clause
    return start < i or (i + 1 < n and not breaks[i] and _titled(words[i + 1]))


def expectations(out: list[float], lows: list[str], breaks: Sequence[int], clause: list[int]) -> None:
    """Expectation frames read as the negation of what was expected, each word negated once:
    "supposed to be X" / "should have been X" (X: up to three words after, in the frame's clause);
    "would seem X but ..." (from the verb to the contrast word of its sentence); "X but it wasn't"
    (the clause before a contrast word whose own clause is only a subject and a negated auxiliary)."""
    n = len(lows)
    flipped: set[int] = set()

    def flip(j: int) -> None:
        if out[j] and j not in flipped:
            out[j] *= N_SCALAR
            flipped.add(j)

    for p, w in enumerate(lows):
        if w in _FRAME_FIRST and tuple(lows[p : p + 3]) in _FRAMES:
            for j in range(p + 3, min(p + 6, n)):
                if clause[j] != clause[p]:
                    break
                flip(j)
        elif w in _SEEM:
            for c in range(p + 1, n):
                if lows[c] in CONTRAST:
                    for j in range(p + 1, c):
                        flip(j)
                    break
                if breaks[c] == SENTENCE:
                    break
        elif w in CONTRAST and _elliptic_negation(lows, breaks, p):
            j = p - 1
            while j >= 0 and lows[j] not in CONTRAST:
                flip(j)
                if j == 0 or breaks[j - 1]:
                    break
                j -= 1


def _elliptic_negation(lows: list[str], breaks: Sequence[int], c: int) -> bool:
    """Whether the clause after contrast word c is "it wasn't" / "they did not": the negation of what
    came before it."""
    tail: list[str] = []
    for j in range(c + 1, len(lows)):
        tail.append(lows[j])
        if breaks[j] or len(tail) > 3:  # the clause ends here, or goes on: not elliptic
            break
    if len(tail) == 2:
        return tail[0] in _SUBJECTS and negated(tail[1])
    if len(tail) == 3:
        return tail[0] in _SUBJECTS and tail[1] in _AUX and tail[2] in ("not", "never")
    return False


def contrast(out: list[float], lows: list[str], breaks: Sequence[int]) -> None:
    """VADER's contrast rule per sentence: the words before the sentence's first "but"/"however" count
    half, the words after it 1.5 times; one that opens a sentence halves the sentence before."""
    previous: tuple[int, int] | None = None
    for start, end in _sentences(breaks):
        c = next((j for j in range(start, end) if lows[j] in CONTRAST), None)
        if c is not None:
            before = range(start, c) if c > start or previous is None else range(*previous)
            for j in before:
                out[j] *= 0.5
            out[c] = 0.0
            for j in range(c + 1, end):
                out[j] *= 1.5
        previous = (start, end)


def token_breaks(tokens: list[str]) -> list[int]:
    """Per token of a whitespace split: CLAUSE when it ends in , ; or :, SENTENCE in . ! ? or ..., else 0."""
    out = [0] * len(tokens)
    for i, w in enumerate(tokens):
        if w[-1] in _ENDERS:  # most tokens end in a letter: no regex for them
            m = _BREAK.search(w)
            if m:
                out[i] = CLAUSE if m.group(1) else SENTENCE
    return out
