"""The fast sentiment back-end: VADER's rules and lexicon, reimplemented, plus customer-service language.

Scoring follows VADER (Hutto & Gilbert 2014; data/LICENSE-vader.txt): every lexicon word gets its
valence, adjusted by up to three preceding intensifiers/dampeners, negations ("not", "n't",
"never", ...), ALL CAPS emphasis, "least" and VADER's idioms; words before a contrast ("but",
"however") count half and words after it 1.5 times; "!" (up to 4) and "??" add emphasis; the sum
is squashed into [-1, 1] by x / sqrt(x^2 + 15) (VADER's compound score).

What is different from vaderSentiment:

* data/cx_lexicon.yaml adds words, multi-word phrases ("still waiting", "on hold for 2 hours",
  "thanks for nothing"), intensifiers and emoji valences that customers use. A phrase becomes one
  token before the rules run, so its words are not scored on their own.
* "ok." and "no!" are looked up without the punctuation (VADER keeps short tokens whole, so they
  miss the lexicon); letters repeated 3+ times ("sooo", "loooove") are looked up shortened.
* HTML tags are removed and entities decoded; curly quotes become straight ones.
* Texts that are empty after cleaning -> Sentiment(None, "empty"); text that is not English
  (language.detect_language) -> Sentiment(None, "unsupported", language).
* Only the first MAX_CHARS characters are scored, cut at a sentence end: the compound score
  saturates long before that, and the cost of a 100 kB text stays that of a long review.
* Clauses bound the rules (VADER's scope reaches across them and misreads reviews, e.g. "No legroom,
  horrible IFE" read "horrible" as negated): a negation reaches only words of its own clause (a
  clause ends at , ; : . ! ? a line break and before a contrast word; the commas of a "not A, B, nor
  C" list do not end it); the contrast rule weighs each sentence around its own first "but"/"however"
  (a sentence that opens with one also halves the sentence before it), not the whole text around the
  text's first; expectation frames read as the negation of what they expect ("supposed to be X",
  "should have been X", "would seem X but ...", "X but it wasn't"); and a capitalised lexicon word
  inside a clause that is used as a name ("United is using ...", "Spirit Airlines") carries no
  valence (`_proper_noun`).
* It is faster: tables are built once, lookups are dict/set hits, the rules walk one lowered word
  list instead of re-lowering the text for every word.
"""

from __future__ import annotations

import functools
import html
import math
import re
import string
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from pathlib import Path
from typing import Any

from cxchange.understand.sentiment.base import REINSTALL, UNSUPPORTED, ModelError, Sentiment, label_for
from cxchange.understand.sentiment.language import detect_language
from cxchange.understand.sentiment.scope import (
    CONTRAST,
    FRAME_WORDS,
    N_SCALAR,
    NEGATE,
    SENTENCE,
    clause_ids,
    contrast,
    expectations,
    negated,
    proper_noun,
    title_case,
    token_breaks,
)

DATA = Path(__file__).parent / "data"
MAX_CHARS = 10_000  # longer texts are scored on their first ~10,000 characters (see module doc)

# VADER's empirically derived constants.
B_INCR = 0.293  # intensifier ("very")
B_DECR = -0.293  # dampener ("slightly")
C_INCR = 0.733  # an ALL CAPS word among lower-case ones
ALPHA = 15.0  # compound normalisation x / sqrt(x^2 + ALPHA)
EXCLAIM = 0.292  # per "!" (at most 4)
QUESTION = 0.18  # per "?" when there are 2 or 3; 0.96 for more

_UP = (
    "absolutely amazingly awfully completely considerable considerably decidedly deeply effing enormous "
    "enormously entirely especially exceptional exceptionally extreme extremely fabulously flipping "
    "flippin frackin fracking fricking frickin frigging friggin fully fuckin fucking fuggin fugging "
    "greatly hella highly hugely incredible incredibly intensely major majorly more most particularly "
    "purely quite really remarkably so substantially thoroughly total totally tremendous tremendously "
    "uber unbelievably unusually utter utterly very"
)
_DOWN = (
    "almost barely hardly kinda kindof kind-of less little marginal marginally occasional occasionally "
    "partly scarce scarcely slight slightly somewhat sorta sortof sort-of"
)
BOOSTERS: dict[str, float] = {
    **dict.fromkeys(_UP.split(), B_INCR),
    **dict.fromkeys(_DOWN.split(), B_DECR),
    "just enough": B_DECR,
    "kind of": B_DECR,
    "sort of": B_DECR,
}
SPECIAL_CASES = {
    "the shit": 3.0, "the bomb": 3.0, "bad ass": 1.5, "badass": 1.5, "bus stop": 0.0, "yeah right": -2.0,
    "kiss of death": -1.5, "to die for": 3.0, "beating heart": 3.5,
}  # fmt: skip
_PUNCT = string.punctuation
_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[a-zA-Z/!][^<>]{0,1000}>", re.S | re.I)
_ELONGATED = re.compile(r"([a-z])\1{2,}", re.I)
_SENTENCE_END = re.compile(r"[.!?]+[\s\"')\]]")
_QUOTES = {0x2018: "'", 0x2019: "'", 0x201B: "'", 0x2032: "'", 0x201C: '"', 0x201D: '"', 0x00A0: " "}
# Zero-width spaces, direction marks, word joiners, BOM, soft hyphen: a text of only these is empty,
# and "ru\u200bde" is "rude". The zero-width joiner stays: emoji sequences need it (see _MODIFIERS).
# Bidirectional embeddings, overrides and isolates (U+202A-202E, U+2066-2069, U+061C) are invisible too:
# "\u202eThe staff were very rude\u202c" read as neutral ("rude\u202c" is no word).
_INVISIBLE = dict.fromkeys(
    [0x00AD, 0x200B, 0x200C, 0x200E, 0x200F, 0x2060, 0x2061, 0x2062, 0x2063, 0xFEFF, 0x061C,
     *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)  # fmt: skip
# Letters written in another width or "font" (full-width "ｒｕｄｅ", mathematical bold "𝐫𝐮𝐝𝐞", as pasted
# from phones and social media) are read as the plain letters they stand for (their NFKC form); other
# characters keep their form (NFKC would also turn "ℹ" into "i" and "½" into "1⁄2").
_WIDE = re.compile(r"[\uFF01-\uFF5E\U0001D400-\U0001D7FF]+")
# Emoji modifiers (skin tone, variation selector, zero-width joiner) carry no sentiment.
_MODIFIERS = {0xFE0F: "", 0xFE0E: "", 0x200D: " ", **dict.fromkeys(range(0x1F3FB, 0x1F400), "")}


@dataclass(frozen=True, slots=True)
class Analysis:
    """The lexicon's view of one text; the learned back-end uses all of it as features."""

    compound: float  # VADER-style score in [-1, 1]
    total: float  # the valence sum before normalisation, emphasis included
    positive: float  # sum of positive valences (VADER's pos_sum: each + 1)
    negative: float  # sum of negative valences (each - 1), <= 0
    hits: int  # tokens with a non-zero valence
    tokens: int
    emphasis: float  # from "!" and "?"


def clean_text(text: str) -> str:
    """Invisible format characters and tags out, entities decoded, curly quotes straightened, cut to
    MAX_CHARS at a sentence end."""
    if not text.isascii():
        text = text.translate(_INVISIBLE)
        text = _WIDE.sub(lambda m: unicodedata.normalize("NFKC", m[0]), text)
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if len(text) > MAX_CHARS:
        head = text[:MAX_CHARS]
        ends = [m.end() for m in _SENTENCE_END.finditer(head, MAX_CHARS // 2)]
        text = head[: ends[-1]] if ends else head
    return text


def prepare(text: str | None) -> tuple[str, str] | Sentiment:
    """(clean text, language) for a text to score, or the Sentiment of one that cannot be scored."""
    if not isinstance(text, str):  # a None or number from a data frame cell
        text = "" if text is None else str(text)
    if not text or text.isspace():
        return Sentiment(None, "empty", "und")
    text = clean_text(text)
    if not text or text.isspace():
        return Sentiment(None, "empty", "und")
    language = detect_language(text)
    if language not in ("en", "und"):
        return Sentiment(None, UNSUPPORTED, language)
    return text, language


def score_prepared(
    texts: Sequence[str], predict: Callable[[list[str]], Iterable[tuple[float | None, str]]]
) -> list[Sentiment]:
    """Each text's Sentiment: those `prepare` cannot score as it says, the rest from one `predict` call
    over their clean texts ((score, label) pairs, in order): the trained back-ends share this."""
    out: list[Sentiment | None] = []
    todo: list[int] = []
    clean: list[str] = []
    languages: list[str] = []
    for i, text in enumerate(texts):
        prepared = prepare(text)
        if isinstance(prepared, Sentiment):
            out.append(prepared)
        else:
            out.append(None)
            todo.append(i)
            clean.append(prepared[0])
            languages.append(prepared[1])
    if todo:
        for i, (score, label), language in zip(todo, predict(clean), languages, strict=True):
            out[i] = Sentiment(score, label, language)
    return [s for s in out if s is not None]


class _Engine:
    """The tables (built once, on first use) and the rules."""

    def __init__(self, data: Path = DATA) -> None:
        import yaml

        self.lexicon = _vader(data / "vader_lexicon.txt")
        cx_path = data / "cx_lexicon.yaml"
        try:
            cx = yaml.safe_load(_read(cx_path))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" line {mark.line + 1}" if mark is not None else ""
            why = getattr(exc, "problem", exc)
            raise ModelError(f"{cx_path}:{at} not valid YAML ({why}); {REINSTALL}") from None
        if not isinstance(cx, dict) or not isinstance(cx.get("words"), dict):
            raise ModelError(f"{cx_path}: expected a mapping with a 'words' table; {REINSTALL}")
        self.lexicon.update(_valences(cx, "words", cx_path))
        self.boosters = {**BOOSTERS, **_valences(cx, "boosters", cx_path)}
        # Words that are sentiment words alone but intensify a sentiment word right after them:
        # "pretty rude" is very rude, not half nice; "a pretty dress" stays positive.
        self.context_boosters = _valences(cx, "context_boosters", cx_path)
        self.idiom_words = frozenset(
            w for key in (*SPECIAL_CASES, *self.boosters) if " " in key for w in key.split()
        )

        table: dict[int, str] = {**_QUOTES, **_MODIFIERS}
        emoji_path = data / "emoji_utf8_lexicon.txt"
        for line in _read(emoji_path).splitlines():
            emoji, _, description = line.partition("\t")
            if len(emoji) == 1 and description:
                table[ord(emoji)] = f" {description} "
        if len(table) < len(_QUOTES) + len(_MODIFIERS) + MIN_EMOJI:
            raise ModelError(f"{emoji_path}: holds {len(table)} emoji, not the shipped ~3,500; {REINSTALL}")
        for n, (emoji, valence) in enumerate(_valences(cx, "emoji", cx_path).items()):
            token = f"cxemoji{n}"
            self.lexicon[token] = valence
            for ch in str(emoji):  # an emoji written with a variation selector keeps its base char
                if ord(ch) not in _MODIFIERS:
                    table[ord(ch)] = f" {token} "
        self.table = table

        slots = {k: str(v) for k, v in (cx.get("slots") or {}).items()}
        patterns = sorted(
            _valences(cx, "phrases", cx_path).items(),
            key=lambda pv: (-len(_split_phrase(pv[0])), -len(pv[0])),  # longer phrases first
        )
        # One regex per phrase, tried only when one of its key words is in the text: a single
        # alternation of ~100 phrases costs milliseconds per review, the key-word index microseconds.
        self.phrases: list[tuple[re.Pattern[str], str, list[frozenset[str]]]] = []
        self.phrase_index: dict[str, list[int]] = {}
        self.phrase_always: list[int] = []
        for n, (pattern, valence) in enumerate(patterns):
            token = f"cxphrase{n}"
            self.lexicon[token] = valence
            try:
                rx = re.compile(r"(?<![\w'])" + _phrase_regex(pattern, slots) + r"(?![\w'])", re.I)
            except (ValueError, re.error) as exc:
                raise ModelError(f"{cx_path}: phrases: {pattern!r}: {exc}; {REINSTALL}") from None
            required = _required_words(pattern, slots)
            self.phrases.append((rx, token, required[1:]))
            if not required:
                self.phrase_always.append(n)
            for key in required[0] if required else ():
                self.phrase_index.setdefault(key, []).append(n)

    # ------------------------------------------------------------------ text -> tokens

    def _replace_phrases(self, text: str) -> str:
        index = self.phrase_index
        candidates = set(self.phrase_always)
        present = set(_KEY_WORD.findall(text.lower()))
        for w in index.keys() & present:
            candidates.update(index[w])
        if not candidates:
            return text
        found = []  # (start, priority, end, token); priority: longer phrases first
        for n in candidates:
            rx, token, others = self.phrases[n]
            if others and not all(not keys.isdisjoint(present) for keys in others):
                continue  # another word the phrase needs is missing: no regex scan
            for m in rx.finditer(text):
                found.append((m.start(), n, m.end(), token.upper() if m.group(0).isupper() else token))
        if not found:
            return text
        found.sort()
        out, pos = [], 0
        for start, _, end, token in found:
            if start >= pos:  # leftmost match wins; at the same start, the longer phrase
                out.append(text[pos:start])
                out.append(f" {token}")  # punctuation after it stays attached and is stripped
                pos = end
        out.append(text[pos:])
        return "".join(out)

    def words(self, text: str) -> list[str]:
        """Emoji to words, phrases to tokens, then VADER's split: punctuation off, emoticons kept."""
        return self.tokens(text)[0]

    def tokens(self, text: str) -> tuple[list[str], list[int]]:
        """The words (`words`) and, for each, whether it ends a clause (CLAUSE), a sentence (SENTENCE)
        or neither (0): the punctuation the split strips, and line ends."""
        if not text.isascii():
            text = text.translate(self.table)
        text = self._replace_phrases(text)
        if "\n" in text:  # a line break ends a sentence ("Great location\nRude staff")
            tokens, breaks = [], []
            for line in text.splitlines():
                words = line.split()
                if words:
                    tokens.extend(words)
                    breaks.extend(token_breaks(words))
                    breaks[-1] = SENTENCE
        else:
            tokens = text.split()
            breaks = token_breaks(tokens)
        # Most tokens have no punctuation to strip (s is w): the comprehension keeps them as they are.
        out = [
            s if len(s) > 2 or len(s) == len(w) else self._short(w, s)
            for w, s in zip(tokens, map(str.strip, tokens, repeat(_PUNCT)), strict=True)
        ]
        if _ELONGATED.search(text):
            out = [self._unelongate(w) for w in out]
        return out, breaks

    def _short(self, w: str, s: str) -> str:
        """A token of at most 2 characters once stripped: keep an emoticon (":)", ":D", "<3") whole,
        but look up "ok." and "no!" as words (VADER keeps them whole and misses them)."""
        if not s or w.lower() in self.lexicon or s.lower() not in self.lexicon:
            return w
        return s

    def _unelongate(self, w: str) -> str:
        lw = w.lower()
        if lw in self.lexicon or not _ELONGATED.search(lw):
            return w
        for repl in (r"\1\1", r"\1"):
            short = _ELONGATED.sub(repl, lw)
            if short in self.lexicon or short in self.boosters:
                return short.upper() if w.isupper() else short
        return w

    # ------------------------------------------------------------------ the rules

    def valences(self, words: list[str], breaks: Sequence[int] | None = None) -> list[float]:
        """Each word's valence. `breaks` (from `tokens`) marks clause and sentence ends, which bound the
        rules; without it the words are one sentence of one clause (VADER's reading)."""
        lex, boosters, ctx = self.lexicon, self.boosters, self.context_boosters
        lows = list(map(str.lower, words))
        n = len(words)
        if breaks is None:
            breaks = [0] * n
        n_upper = sum(map(str.isupper, words))
        cap_diff = 0 < n_upper < n  # only some words shout
        # Set operations (in C) tell whether the negation and idiom rules can fire at all in this text.
        has_negation = not NEGATE.isdisjoint(lows) or "n't" in " ".join(lows)
        has_idiom = not self.idiom_words.isdisjoint(lows)
        has_no = "no" in lows
        has_contrast = not CONTRAST.isdisjoint(lows)
        has_frame = not FRAME_WORDS.isdisjoint(lows)
        clause = clause_ids(lows, breaks) if has_negation or has_no or has_contrast or has_frame else []
        titles: bool | None = None  # title case: no capitalised word is read as a name
        out = [0.0] * n
        for i in compress(range(n), map(lex.__contains__, lows)):  # lexicon words only, found in C
            lw = lows[i]
            if lw in boosters or (lw == "kind" and i + 1 < n and lows[i + 1] == "of"):
                continue
            if lw in ctx and i + 1 < n and lows[i + 1] in lex:
                continue  # acts on the next word instead (see context_boosters)
            w = words[i]
            if i and w[0].isupper() and not breaks[i - 1] and not w.isupper():
                if titles is None:
                    titles = title_case(words, breaks)
                if not titles and proper_noun(words, breaks, i):
                    continue
            base = lex[lw]
            v = base
            if has_no:
                if lw == "no" and i + 1 < n and lows[i + 1] in lex and clause[i + 1] == clause[i]:
                    v = 0.0  # "no" negates the next word instead of counting itself
                if (
                    (i > 0 and lows[i - 1] == "no" and clause[i - 1] == clause[i])
                    or (i > 1 and lows[i - 2] == "no" and clause[i - 2] == clause[i])
                    or (
                        i > 2
                        and lows[i - 3] == "no"
                        and lows[i - 1] in ("or", "nor")
                        and clause[i - 3] == clause[i]
                    )
                ):
                    v = base * N_SCALAR
            if cap_diff and w.isupper():
                v += C_INCR if v > 0 else -C_INCR
            for k in range(min(i, 3)):  # up to three preceding non-lexicon words modify it
                prev = lows[i - k - 1]
                if prev in lex:
                    if k or prev not in ctx:
                        continue
                    s = ctx[prev]
                else:
                    s = boosters.get(prev, 0.0)
                if s:
                    if v < 0:
                        s = -s
                    if cap_diff and words[i - k - 1].isupper():
                        s += C_INCR if v > 0 else -C_INCR
                    v += s * (1.0, 0.95, 0.9)[k]
                if has_negation:
                    v = _negation(v, lows, k, i, clause[i - k - 1] == clause[i])
                elif k == 2 and lows[i - 1] in ("so", "this"):
                    v *= 1.25  # VADER's emphasis quirk, kept for fidelity (see _negation)
                if k == 2 and has_idiom:
                    v = self._idioms(v, lows, i)
            least = i > 0 and lows[i - 1] == "least" and "least" not in lex
            if least and (i == 1 or lows[i - 2] not in ("at", "very")):
                v *= N_SCALAR  # "the least helpful", but not "at least helpful"
            out[i] = v
        if has_frame or has_contrast:
            expectations(out, lows, breaks, clause)
        if has_contrast:
            contrast(out, lows, breaks)
        return out

    def _idioms(self, v: float, lows: list[str], i: int) -> float:
        if self.idiom_words.isdisjoint(lows[i - 3 : i + 3]):
            return v  # no idiom or multi-word booster near this word
        w0, w1, w2, w3 = lows[i], lows[i - 1], lows[i - 2], lows[i - 3]
        for seq in (f"{w1} {w0}", f"{w2} {w1} {w0}", f"{w2} {w1}", f"{w3} {w2} {w1}", f"{w3} {w2}"):
            if seq in SPECIAL_CASES:
                v = SPECIAL_CASES[seq]
                break
        n = len(lows)
        if n - 1 > i and f"{w0} {lows[i + 1]}" in SPECIAL_CASES:
            v = SPECIAL_CASES[f"{w0} {lows[i + 1]}"]
        if n - 1 > i + 1 and f"{w0} {lows[i + 1]} {lows[i + 2]}" in SPECIAL_CASES:
            v = SPECIAL_CASES[f"{w0} {lows[i + 1]} {lows[i + 2]}"]
        for gram in (f"{w3} {w2} {w1}", f"{w3} {w2}", f"{w2} {w1}"):
            v += self.boosters.get(gram, 0.0)
        return v

    def _total(self, text: str) -> tuple[list[float], float, float]:
        """Valences, their sum with punctuation emphasis, and the emphasis."""
        vals = self.valences(*self.tokens(text))
        total = math.fsum(vals)
        emphasis = 0.0
        if total:
            emphasis = min(text.count("!"), 4) * EXCLAIM
            q = text.count("?")
            if q > 1:
                emphasis += q * QUESTION if q <= 3 else 0.96
            total += emphasis if total > 0 else -emphasis
        return vals, total, emphasis

    def compound(self, text: str) -> float:
        """VADER's compound score: the sum squashed into [-1, 1] by x / sqrt(x^2 + 15)."""
        total = self._total(text)[1]
        return max(-1.0, min(1.0, total / math.sqrt(total * total + ALPHA)))

    def analyse(self, text: str) -> Analysis:
        vals, total, emphasis = self._total(text)
        compound = max(-1.0, min(1.0, total / math.sqrt(total * total + ALPHA)))
        pos = sum(v + 1.0 for v in vals if v > 0)
        neg = sum(v - 1.0 for v in vals if v < 0)
        hits = sum(1 for v in vals if v)
        return Analysis(compound, total, pos, neg, hits, len(vals), emphasis)


def _split_phrase(pattern: str) -> list[str]:
    """Split on spaces outside parentheses: "(no one|nobody) called back" -> 3 parts."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in pattern.strip():
        depth += (ch == "(") - (ch == ")")
        if ch == " " and depth == 0:
            if cur:
                parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if cur:
        parts.append("".join(cur))
    return parts


_SLOT = re.compile(r"\{(\w+)\}")
_KEY_WORD = re.compile(r"[a-z0-9][a-z0-9']*")
_PLAIN = re.compile(r"[a-z0-9][a-z0-9' -]*")


def _first_words(alternative: str, slots: dict[str, str]) -> set[str] | None:
    """Words an alternative can start with, or None when a slot makes that open-ended."""
    first = alternative.split()[0]
    m = _SLOT.fullmatch(first)
    if not m:
        return {first.lower()}
    options = slots[m.group(1)].split("|")
    if not all(_PLAIN.fullmatch(o) for o in options):
        return None
    return {o.split()[0] for o in options}


_COMMON = frozenset(
    "a an the my our your his her their it this that is was are were be been being has have had got get "
    "i you we they he she on in at to for of and or no not so".split()
)


def _required_words(pattern: str, slots: dict[str, str]) -> list[frozenset[str]]:
    """For each required position whose words are known, the words it can start with; the rarest set
    first. The phrase can only match a text that has a word of every set."""
    required = []
    for part in _split_phrase(pattern):
        if part.endswith("?") and len(part) > 1:
            continue
        if part.startswith("(") and part.endswith(")"):
            part = part[1:-1]
        keys: set[str] = set()
        for alternative in part.split("|"):
            words = _first_words(alternative, slots)
            if words is None:
                break
            keys |= words
        else:
            required.append(frozenset(keys))
    return sorted(required, key=lambda keys: (len(keys & _COMMON), len(keys)))


def _phrase_regex(pattern: str, slots: dict[str, str]) -> str:
    """The phrase syntax of cx_lexicon.yaml as a regular expression (no capturing groups)."""

    def alternative(text: str) -> str:
        pieces = []
        for word in text.split():
            m = _SLOT.fullmatch(word)
            if m:
                if m.group(1) not in slots:
                    raise ValueError(f"cx_lexicon.yaml: unknown slot {{{m.group(1)}}} in {pattern!r}")
                pieces.append("(?:" + slots[m.group(1)].replace(" ", r"\s+") + ")")
            else:
                pieces.append(re.escape(word))
        return r"\s+".join(pieces)

    out = ""
    for n, part in enumerate(_split_phrase(pattern)):
        optional = part.endswith("?") and len(part) > 1
        if optional:
            part = part[:-1]
        if part.startswith("(") and part.endswith(")"):
            part = part[1:-1]
        rx = "(?:" + "|".join(alternative(a) for a in part.split("|")) + ")"
        if n == 0:
            out = f"(?:{rx}\\s+)?" if optional else rx
        elif optional:
            out += f"(?:\\s+{rx})?"
        else:
            out += r"\s+" + rx
    return out


def _negation(v: float, lows: list[str], k: int, i: int, scoped: bool) -> float:
    """VADER's negation check for the word k+1 places before word i (its quirks kept); `scoped`: that
    word is in word i's clause (a negation in another clause does not reach it)."""
    if not scoped:
        return v * 1.25 if k == 2 and lows[i - 1] in ("so", "this") else v
    if k == 0:
        return v * N_SCALAR if negated(lows[i - 1]) else v
    if k == 1:
        if lows[i - 2] == "never" and lows[i - 1] in ("so", "this"):
            return v * 1.25  # "never so good" is emphasis, not negation
        if lows[i - 2] == "without" and lows[i - 1] == "doubt":
            return v
        return v * N_SCALAR if negated(lows[i - 2]) else v
    if (lows[i - 3] == "never" and lows[i - 2] in ("so", "this")) or lows[i - 1] in ("so", "this"):
        return v * 1.25
    if lows[i - 3] == "without" and "doubt" in (lows[i - 2], lows[i - 1]):
        return v
    return v * N_SCALAR if negated(lows[i - 3]) else v


MIN_VADER = 5000  # words a whole VADER lexicon holds at the least (the shipped one: 7,517)
MIN_EMOJI = 1000  # emoji a whole emoji lexicon describes at the least (the shipped one: ~3,500)


def _read(path: Path) -> str:
    """A shipped data file's text; ModelError naming it when it is missing or unreadable."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelError(f"{path}: the sentiment lexicon file is missing; {REINSTALL}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: the sentiment lexicon file is unreadable ({exc}); {REINSTALL}") from None


def _vader(path: Path) -> dict[str, float]:
    """word -> valence of VADER's lexicon (word TAB mean TAB sd TAB ratings); a line that does not read
    or a file cut short is a ModelError naming it: an empty lexicon would score everything neutral."""
    out: dict[str, float] = {}
    for number, line in enumerate(_read(path).splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            out[parts[0]] = float(parts[1])
        except (IndexError, ValueError):
            why = f"line {number} is not WORD<TAB>VALENCE: {line[:60]!r}"
            raise ModelError(f"{path}: {why}; {REINSTALL}") from None
    if len(out) < MIN_VADER:
        raise ModelError(f"{path}: holds {len(out)} words, not the shipped ~7,500 (cut short?); {REINSTALL}")
    return out


def _valences(doc: dict[str, Any], table: str, path: Path) -> dict[str, float]:
    """The entry -> number table `table` of cx_lexicon.yaml (words, boosters, phrases …), keys lower-cased
    except phrases and emoji; a value that is not a number is a ModelError naming the entry."""
    entries = doc.get(table) or {}
    if not isinstance(entries, dict):
        raise ModelError(f"{path}: '{table}' must be a table of entries and numbers; {REINSTALL}")
    out: dict[str, float] = {}
    for key, value in entries.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ModelError(f"{path}: {table}: {key!r} has {value!r}, not a number; {REINSTALL}")
        out[str(key) if table in ("phrases", "emoji") else str(key).lower()] = float(value)
    return out


@functools.cache
def vader_words() -> frozenset[str]:
    """The words of VADER's lexicon, read as `engine` reads them (a damaged file: a ModelError naming it)."""
    return frozenset(_vader(DATA / "vader_lexicon.txt"))


@functools.cache
def engine() -> _Engine:
    """The shared tables, loaded on first use (about 50 ms), never at import."""
    return _Engine()


class LexiconSentiment:
    """The fast back-end: no model, no torch; about as explainable as sentiment gets."""

    name = "fast"

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        eng = engine()
        out: list[Sentiment] = []
        for text in texts:
            prepared = prepare(text)
            if isinstance(prepared, Sentiment):
                out.append(prepared)
                continue
            clean, language = prepared
            compound = eng.compound(clean)
            out.append(Sentiment(compound, label_for(compound), language))
        return out

    def analyse(self, texts: Sequence[str]) -> list[Analysis | Sentiment]:
        """The full lexicon analysis per text, or the Sentiment of a text that cannot be scored."""
        eng = engine()
        out: list[Analysis | Sentiment] = []
        for text in texts:
            prepared = prepare(text)
            out.append(prepared if isinstance(prepared, Sentiment) else eng.analyse(prepared[0]))
        return out
