"""Recognition: positive feedback that names an employee of the feedback's own unit.

Matching (`match_names`, pure) looks only at the people of the comment's unit, never across units:
- a person's first name, full name ("Priya Shah", score 1.0), or last name written with a capital;
- a nickname of the first name (data/nicknames.yaml: Dan = Daniel, Kate = Katherine …);
- a typo, written with a capital: edit distance 1 (substitution, insertion, deletion or swap) for
  names of 5+ letters;
- everyday words that are also names (will, grace, jolly-looking typos …) only when capitalised
  and not the first word of a sentence; a first name two people of the unit share needs the last
  name after it, or nothing is matched.
The praise must be positive: the clause around the name scores ≥ 0.05; or it is not negative and the
comment as a whole is labelled positive; or the clause (not clearly negative) holds a praise cue
("deserves a pay rise", "ask for", "took the time": `praise_cues` in data/nicknames.yaml).
"""

from __future__ import annotations

import functools
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from cxchange.core.period import Period
from cxchange.core.types import check_page
from cxchange.listen.models import Feedback
from cxchange.org.models import Person
from cxchange.org.tree import load_org_tree
from cxchange.sustain.models import Recognition
from cxchange.understand.models import FeedbackSentiment
from cxchange.understand.sentiment import get_backend, score_mentions_batch, split_clauses
from cxchange.understand.sentiment.lexicon import vader_words

log = logging.getLogger(__name__)

POSITIVE = 0.05
CLEARLY_NEGATIVE = -0.3  # a praise cue is outweighed only by a clearly negative clause
MIN_TYPO_LEN = 5
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’\-]*")
_STOP = frozenset(
    """a about after again all also am an and any are as at be been before being but by can could did do
    does doing for from get got had has have having he her here him his how i if in into is it its just
    me more most my no nor not now of on once only or other our out over own same she so some still such
    than that the their them then there these they this those through to too under until up very was we
    were what when where which while who why will with would you your yet thanks thank one two went
    store branch shop staff team manager lady guy girl man woman""".split()
)


@functools.cache
def _data() -> dict[str, Any]:
    text = (resources.files("cxchange.sustain") / "data" / "nicknames.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text) or {}


@functools.cache
def nickname_groups() -> dict[str, frozenset[str]]:
    """lower-case first name → every name interchangeable with it (itself included)."""
    out: dict[str, set[str]] = defaultdict(set)
    for group in _data().get("groups") or []:
        names = {str(n).strip().lower() for n in group}
        for n in names:
            out[n] |= names
    return {k: frozenset(v) for k, v in out.items()}


@functools.cache
def common_words() -> frozenset[str]:
    """Words that are only names when capitalised: stop words, the sentiment lexicon, name-words."""
    words = set(_STOP) | {str(w).lower() for w in _data().get("name_words") or []}
    # Read as the sentiment back-end reads it: a missing or damaged file is one error naming it.
    words.update(w for w in (v.strip().lower() for v in vader_words()) if w.isalpha())
    return frozenset(words)


def edit_distance_at_most_1(a: str, b: str) -> bool:
    """Optimal string alignment distance ≤ 1 (one substitution, insertion, deletion or adjacent swap)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@dataclass(frozen=True)
class Staff:
    person_id: int
    name: str

    @property
    def first(self) -> str:
        return self.name.split()[0].lower() if self.name.split() else ""

    @property
    def last(self) -> str:
        parts = self.name.split()
        return parts[-1].lower() if len(parts) > 1 else ""


@dataclass(frozen=True)
class Match:
    person_id: int
    matched: str
    score: float
    span: tuple[int, int]


@dataclass
class NameIndex:
    """The name forms of one unit's people, for fast look-up."""

    first: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    nick: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    last: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    typo: dict[str, set[tuple[str, int, str]]] = field(default_factory=lambda: defaultdict(set))
    last_of: dict[int, str] = field(default_factory=dict)

    @classmethod
    def build(cls, staff: Iterable[Staff]) -> NameIndex:
        ix = cls()
        groups = nickname_groups()
        for p in staff:
            if not p.first:
                continue
            ix.first[p.first].add(p.person_id)
            for n in groups.get(p.first, ()):
                if n != p.first:
                    ix.nick[n].add(p.person_id)
            if p.last:
                ix.last[p.last].add(p.person_id)
                ix.last_of[p.person_id] = p.last
            for kind, form in (("first", p.first), ("last", p.last)):
                if len(form) >= MIN_TYPO_LEN:
                    for key in {form, *_deletes(form)}:
                        ix.typo[key].add((form, p.person_id, kind))
        return ix

    def typos(self, word: str) -> list[tuple[int, str]]:
        if len(word) < MIN_TYPO_LEN - 1:
            return []
        found: set[tuple[int, str]] = set()
        for key in {word, *_deletes(word)}:
            for form, pid, kind in self.typo.get(key, ()):
                if len(form) >= MIN_TYPO_LEN and edit_distance_at_most_1(word, form):
                    found.add((pid, kind))
        return sorted(found)


def _tokens(text: str) -> list[tuple[str, int, int, bool]]:
    """(word, start, end, sentence_initial)."""
    out = []
    for m in _TOKEN.finditer(text):
        word = re.sub(r"['’]s$", "", m.group()).strip("'’-")
        if not word:
            continue
        gap_start = m.start()
        while gap_start > 0 and text[gap_start - 1].isspace():
            gap_start -= 1
        prev = text[gap_start - 1] if gap_start > 0 else ""
        initial = prev in ("", ".", "!", "?") or "\n" in text[gap_start : m.start()]
        out.append((word, m.start(), m.start() + len(word), initial))
    return out


def match_names(text: str, index: NameIndex, common: frozenset[str] | None = None) -> list[Match]:
    """People of one unit named in `text`, best match per person."""
    common = common_words() if common is None else common
    toks = _tokens(text or "")
    best: dict[int, Match] = {}

    def keep(m: Match) -> None:
        if m.person_id not in best or best[m.person_id].score < m.score:
            best[m.person_id] = m

    skip = -1
    for i, (word, start, end, initial) in enumerate(toks):
        if i <= skip:
            continue
        low, cap = word.lower(), word[0].isupper()
        is_common = low in common
        if is_common and (not cap or initial):
            continue
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        nxt_low = nxt[0].lower() if nxt else ""
        for pool, score in ((index.first, 0.95), (index.nick, 0.85)):
            pids = pool.get(low)
            if not pids:
                continue
            full = [p for p in pids if nxt and index.last_of.get(p) == nxt_low]
            if len(full) == 1 and nxt is not None:
                keep(Match(full[0], f"{word} {nxt[0]}", 1.0, (start, nxt[2])))
                skip = i + 1
            elif len(pids) == 1:
                keep(Match(next(iter(pids)), word, score, (start, end)))
            break  # an exact first name wins over a nickname; a shared one without surname: nothing
        else:
            if cap and low in index.last and len(index.last[low]) == 1:
                keep(Match(next(iter(index.last[low])), word, 0.8, (start, end)))
                continue
            if is_common or len(low) < MIN_TYPO_LEN - 1:
                continue
            hits = index.typos(low)
            if cap and len({pid for pid, _ in hits}) == 1:  # lower-case typos look like ordinary words
                keep(Match(hits[0][0], word, 0.7, (start, end)))
    return sorted(best.values(), key=lambda m: m.span)


@functools.cache
def _praise_cue() -> re.Pattern[str]:
    cues = sorted({str(c).strip().lower() for c in _data().get("praise_cues") or [] if str(c).strip()})
    if not cues:
        return re.compile(r"(?!x)x")
    return re.compile(r"\b(?:" + "|".join(re.escape(c).replace(r"\ ", r"\s+") for c in cues) + r")\b", re.I)


def _is_praise(clause: float | None, label: str | None, clause_text: str = "") -> bool:
    """Positive clause around the name; or a not-negative clause with a praise cue or a positive comment."""
    if clause is not None and clause >= POSITIVE:
        return True
    if _praise_cue().search(clause_text):  # the lexicon reads "pay rise" as a price rise
        return clause is None or clause > CLEARLY_NEGATIVE
    return label == "positive" and (clause is None or clause > -POSITIVE)


def _clause_text(text: str, span: tuple[int, int]) -> str:
    for a, b in split_clauses(text):
        if a <= span[0] < b:
            return text[a:b]
    return text


# --- service --------------------------------------------------------------------------------------


def _unit_indexes(engine: Engine) -> dict[int, NameIndex]:
    with engine.connect() as conn:
        people = conn.execute(
            select(Person.id, Person.name, Person.unit_id).where(Person.unit_id.is_not(None))
        )
        by_unit: dict[int, list[Staff]] = defaultdict(list)
        for pid, name, uid in people:
            if uid is not None:  # the query keeps only people with a unit
                by_unit[int(uid)].append(Staff(int(pid), name or ""))
    return {uid: NameIndex.build(staff) for uid, staff in by_unit.items()}


def _insert_ignore(engine: Engine, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(Recognition).on_conflict_do_nothing(constraint="uq_recognition_feedback_person")
    else:
        stmt = insert(Recognition).prefix_with("OR IGNORE")
    count = select(func.count()).select_from(Recognition)
    with engine.begin() as conn:  # executemany rowcount is not reliable on every driver: count
        before = conn.scalar(count) or 0
        conn.execute(stmt, rows)
        return int((conn.scalar(count) or 0) - before)


def record_recognitions(
    engine: Engine, *, run_id: int | None = None, backend: str = "fast", chunk: int = 5000
) -> dict[str, Any]:
    """Scan analysed comments (of one run, or all) for praise of a named colleague. Idempotent."""
    indexes = _unit_indexes(engine)
    if not indexes:
        return {"recognitions": 0, "scanned": 0}
    sentiment = get_backend(backend)
    stmt = (
        select(
            Feedback.id, Feedback.text, Feedback.org_unit_id, Feedback.received_at, FeedbackSentiment.label
        )
        .outerjoin(FeedbackSentiment, FeedbackSentiment.feedback_id == Feedback.id)
        .where(Feedback.text.is_not(None), Feedback.org_unit_id.in_(sorted(indexes)))
        .order_by(Feedback.id)
    )
    if run_id is not None:
        stmt = stmt.where(FeedbackSentiment.run_id == run_id)
    made = scanned = 0
    now = datetime.utcnow()
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=chunk).execute(stmt)
        for part in result.partitions():
            # Loaded with the first comments to scan: a run that stored none (it failed) needs no lexicon.
            common = common_words()
            found: list[tuple[Any, list[Match]]] = []
            for row in part:
                scanned += 1
                try:
                    ms = match_names(row.text, indexes[int(row.org_unit_id)], common)
                except Exception as exc:  # one odd comment never stops the scan
                    log.warning("recognition: feedback %s skipped: %s", row.id, exc)
                    continue
                if ms:
                    found.append((row, ms))
            if not found:
                continue
            scores = score_mentions_batch(sentiment, [(r.text, [m.span for m in ms]) for r, ms in found])
            rows = []
            for (r, ms), sc in zip(found, scores, strict=True):
                for m, s in zip(ms, sc, strict=True):
                    if _is_praise(s, r.label, _clause_text(r.text, m.span)):
                        rows.append(
                            {"feedback_id": r.id, "person_id": m.person_id, "unit_id": r.org_unit_id,
                             "matched": m.matched[:200], "score": m.score, "sentiment": s,
                             "received_at": r.received_at, "created_at": now}
                        )  # fmt: skip
            made += _insert_ignore(engine, rows)
    return {"recognitions": made, "scanned": scanned}


def list_recognitions(
    engine: Engine,
    *,
    unit: str | Sequence[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Recognitions, newest first; `unit` is one code or several (each with everything beneath)."""
    check_page(limit)
    tree = load_org_tree(engine)
    stmt = (
        select(Recognition, Person.name, Person.email, Feedback.text)
        .join(Person, Person.id == Recognition.person_id)
        .join(Feedback, Feedback.id == Recognition.feedback_id)
        .order_by(Recognition.received_at.desc(), Recognition.id.desc())
    )
    if unit:
        stmt = stmt.where(Recognition.unit_id.in_(sorted(tree.subtree_ids_of(unit))))
    stmt = Period(since, until).where(stmt, Recognition.received_at)
    if limit:
        stmt = stmt.limit(limit)
    with Session(engine) as s:
        rows = s.execute(stmt).all()
    out = []
    for rec, name, email, text in rows:
        u = tree.units.get(rec.unit_id) if rec.unit_id is not None else None
        out.append(
            {"id": rec.id, "person": name, "email": email, "unit": u.code if u else None,
             "received_at": rec.received_at, "matched": rec.matched, "score": round(rec.score, 2),
             "sentiment": None if rec.sentiment is None else round(rec.sentiment, 3),
             "feedback_id": rec.feedback_id, "text": text}
        )  # fmt: skip
    return out


def recognition_counts(
    engine: Engine, *, since: date | None = None, until: date | None = None
) -> dict[int, int]:
    """unit id → recognitions received in [since, until): for scorecards."""
    stmt = Period(since, until).where(select(Recognition.unit_id, func.count()), Recognition.received_at)
    stmt = stmt.group_by(Recognition.unit_id)
    with engine.connect() as conn:
        return {int(u): int(n) for u, n in conn.execute(stmt) if u is not None}


def people_named(staff: Sequence[tuple[int, str]], text: str) -> list[Match]:
    """Convenience for one-off checks: match `text` against (person id, name) pairs of one unit."""
    return match_names(text, NameIndex.build(Staff(pid, name) for pid, name in staff))
