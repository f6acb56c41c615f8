"""A small, pure language guess: is this text English (what the sentiment back-ends cover)?

Not a general language identifier. It answers the question the sentiment back-ends need: should
this text be scored with an English lexicon/model? Non-Latin scripts are named by their script
(Han -> "zh", kana -> "ja", Hangul -> "ko", Cyrillic -> "ru", ...). Latin-script text is compared
against short lists of function words for English and six other European languages; English wins
unless another language has clearly more hits, because tweets and short complaints ("ugh. 2 hrs
on hold") often contain no function word at all and must still be scored. Text without any letter
(emoji, numbers, punctuation) is "und": nothing says it is not English.
"""

from __future__ import annotations

import re

_SAMPLE_CHARS = 2_000  # enough to decide; keeps the cost flat on 100 kB texts

# Scripts checked in this order; kana before Han, because Japanese mixes both.
_SCRIPTS: tuple[tuple[str, str], ...] = (
    ("ja", "\u3040-\u30ff"),
    ("ko", "\uac00-\ud7af\u1100-\u11ff"),
    ("zh", "\u4e00-\u9fff\u3400-\u4dbf"),
    ("ru", "\u0400-\u04ff"),
    ("ar", "\u0600-\u06ff\u0750-\u077f"),
    ("he", "\u0590-\u05ff"),
    ("el", "\u0370-\u03ff"),
    ("hi", "\u0900-\u097f"),
    ("th", "\u0e00-\u0e7f"),
)
_NON_LATIN = re.compile("[" + "".join(r for _, r in _SCRIPTS) + "]")
_SCRIPT_RES = tuple((code, re.compile("[" + r + "]")) for code, r in _SCRIPTS)
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")
_WORD = re.compile(r"[a-z\u00e0-\u00ff]+(?:'[a-z\u00e0-\u00ff]+)?")
_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+\.(?:com|org|net)\b|[@#]\w+")  # links, handles, tags

# Frequent words that are (nearly) never English words. Words shared with English ("a", "no",
# "on", "me", "die", "son") are left out on purpose.
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the and is was are were i you it to of in for with my this that not but have has had be been "
        "me we they at so very just will would can could do did does get got what your our an from "
        "all out about there their if or as by like too why how when been am it's i'm don't can't "
        "didn't won't isn't wasn't still never again thanks thank please no yes one my".split()
    ),
    "fr": frozenset(
        "le la les des est et une je nous vous pas dans avec très mais qui que ce cette c'est j'ai "
        "du au aux était été merci bonjour il elle ils sont ma mes ne n'est suis avons leur notre "
        "rien trop bien beaucoup toujours encore depuis fois heures chez vol retard".split()
    ),
    "es": frozenset(
        "el los las es y que del al lo se fue por para con muy pero está estoy gracias hola mi su una "
        "nada todo nunca siempre sin tengo también desde horas vuelo mucho muchas bueno malo más "
        "ya esta este eso".split()
    ),
    "de": frozenset(
        "der das und ist nicht ich ein eine mit sehr aber auf zu es sie wir danke schlecht für "
        "von haben auch noch kein keine nach seit wurde mein meine immer stunden flug".split()
    ),
    "it": frozenset(
        "il gli è non che di molto ma sono grazie della questo questa mi ho anche ancora sempre "
        "niente nessuno volo dopo stato".split()
    ),
    "pt": frozenset(
        "os é não que uma para muito mas obrigado obrigada está foi você nada nunca sempre "
        "ainda horas voo meu minha também já".split()
    ),
    "nl": frozenset(
        "het een en niet ik zeer maar bedankt goed slecht zijn wij voor nog geen "
        "altijd uur vlucht mijn".split()
    ),
}
# word -> the languages it marks, so a text is counted in one pass over its words
_WORD_LANGUAGES: dict[str, tuple[str, ...]] = {}
for _code, _words in _FUNCTION_WORDS.items():
    for _w in _words:
        _WORD_LANGUAGES[_w] = (*_WORD_LANGUAGES.get(_w, ()), _code)


def detect_language(text: str) -> str:
    """The language: "en", another ISO 639-1 code, or "und" when there are no letters to judge by."""
    sample = text[:_SAMPLE_CHARS]
    if _NON_LATIN.search(sample):
        latin = len(_LATIN_LETTER.findall(sample))
        counts = [(len(rx.findall(sample)), code) for code, rx in _SCRIPT_RES]
        n, code = max(counts)
        if code == "zh" and counts[0][0]:  # Han plus any kana is Japanese
            code, n = "ja", n + counts[0][0]
        # A stray foreign word in an English sentence ("the 寿司 was cold") stays English.
        if n * (3 if code in ("zh", "ja", "ko") else 1) >= latin:
            return code
    lowered = sample.lower()
    words = _WORD.findall(lowered)
    if not words:
        return "und" if not _LATIN_LETTER.search(sample) else "en"
    language = _latin_language(words)
    if language != "en":  # links, @handles and #tags ("YOYO.COM") must not make English foreign
        language = _latin_language(_WORD.findall(_NOISE.sub(" ", lowered)))
    return language


def _latin_language(words: list[str]) -> str:
    counts: dict[str, int] = {}
    table = _WORD_LANGUAGES
    # Distinct words: "la la la" is a song, not French. The filter runs in C; most words are not listed.
    for w in filter(table.__contains__, set(words)):
        for code in table[w]:
            counts[code] = counts.get(code, 0) + 1
    en = counts.pop("en", 0)
    if not counts:
        return "en"
    best, best_n = max(counts.items(), key=lambda kv: kv[1])
    # Two hits at least, and clearly more than English: one "de" or "la" proves nothing.
    if best_n >= 2 and best_n > 1.5 * en:
        return best
    return "en"
