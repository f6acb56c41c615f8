"""Believable comments composed from a row's planted facts (themes, polarity, score class).

Wording is data: the phrase banks in ``phrases.yaml`` (openers, clauses per theme and polarity,
connectors, closers, emoji); this module adds the seeded choices, typos and planted PII.
"""

from __future__ import annotations

import random
from typing import Any

from cxchange.demo.company import (
    EMERGING_THEME,
    EMOJI_RATE,
    FILLER_RATE,
    STAFF,
    THEMES,
    TYPO_COMMENT_RATE,
    TYPO_WORD_RATE,
)


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _luhn_card(r: random.Random) -> str:
    digits = [4] + [r.randrange(10) for _ in range(14)]
    total = sum(x if i % 2 else sum(divmod(2 * x, 10)) for i, x in enumerate(reversed(digits)))
    return "".join(map(str, [*digits, (10 - total % 10) % 10]))


class _Vals(dict):
    """Placeholder values drawn afresh at each use (why: one template, many surface forms)."""

    def __init__(self, r: random.Random, bank: dict[str, Any]) -> None:
        super().__init__()
        intens, items = bank["intensifiers"], bank["items"]
        self.draws = {
            "intens": lambda: r.choice(intens) if r.random() < 0.55 else "",
            "minutes": lambda: str(5 * r.randint(3, 18)),
            "quick": lambda: str(r.randint(2, 5)),
            "hours": lambda: str(r.randint(2, 4)),
            "days": lambda: str(r.randint(3, 21)),
            "weeks": lambda: str(r.randint(2, 8)),
            "years": lambda: str(r.randint(2, 15)),
            "times": lambda: str(r.randint(3, 6)),
            "nth": lambda: r.choice(["second", "third", "fourth", "fifth"]),
            "amount": lambda: str(r.choice([5, 8, 10, 12, 15, 20, 25, 30, 40, 45, 60, 75])),
            "order": lambda: f"LK{r.randint(1_000_000, 9_999_999)}",
            "item": lambda: r.choice(items),
        }

    def __missing__(self, key: str) -> str:
        return self.draws[key]()


class Composer:
    """Turns a row's planted facts (themes, polarity, score class) into a believable comment."""

    def __init__(self, bank: dict[str, Any], r: random.Random) -> None:
        self.r, self.vals, b = r, _Vals(r, bank), bank
        self.clauses = [(b["themes"][t]["negative"], b["themes"][t]["positive"]) for t in THEMES]
        self.emerging, self.praise = b["emerging"][EMERGING_THEME]["phrases"], b["praise"]
        self.con, self.openers, self.cl = b["connectors"], b["openers"], b["closers"]
        self.generic = {1: b["generic"]["positive"], -1: b["generic"]["negative"], 0: b["generic"]["neutral"]}
        self.closers = {1: self.cl["positive"], -1: self.cl["negative"], 0: self.cl["neutral"]}
        self.rclosers = {
            1: self.cl["review_positive"] + self.cl["positive"],
            -1: self.cl["review_negative"] + self.cl["negative"],
            0: self.cl["neutral"],
        }
        self.emoji, self.filler, self.pii_b = b["emoji"], b["filler"], b["pii"]
        self.enders = [".", ".", ".", ".", "!", "!!", "...", ""]

    def fill(self, tmpl: str) -> str:
        return tmpl.format_map(self.vals) if "{" in tmpl else tmpl

    def comment(
        self, kind: str, states: list[int], em: bool, name: str | None, store: str, senti: int, pii: int
    ) -> str:
        r, con = self.r, self.con
        self.vals["store"], self.vals["name"] = store, name or ""
        parts = [
            (
                s,
                self.fill(
                    r.choice(self.praise if (s > 0 and name and j == STAFF) else self.clauses[j][s > 0])
                ),
            )
            for j, s in enumerate(states)
            if s
        ]
        if em:
            parts.append((-1, self.fill(r.choice(self.emerging))))
        if not parts:
            if kind == "survey" and r.random() < FILLER_RATE:
                return r.choice(self.filler)
            body = r.choice(self.generic[senti])
        else:
            if len(parts) > 1:
                r.shuffle(parts)
            body, prev = parts[0][1], parts[0][0]
            for pol, clause in parts[1:]:
                pool = (
                    con["addition"]
                    if pol == prev
                    else (con["contrast"] + (con["to_negative"] if pol < 0 else con["to_positive"]))
                )
                conn = r.choice(pool)
                body += conn + (_cap(clause) if conn.rstrip()[-1:] in ".!" else clause)
                prev = pol
        ender, tone = r.choice(self.enders), senti  # closers/emoji follow the clauses, else the score
        if parts and (bal := sum(p for p, _ in parts)):
            tone = 1 if bal > 0 else -1
        if r.random() < 0.22:
            opener = self.fill(r.choice(self.openers[kind]))
            if not opener.endswith(","):
                body = _cap(body)
            elif not parts:  # generic phrases are capitalised; clauses start lower-case (or "I", a name)
                body = body[:1].lower() + body[1:]
            text = f"{opener} {body}"
        else:
            text = _cap(body)
        if r.random() < 0.3:
            closers = self.rclosers if kind == "review" else self.closers
            text += (ender or ".") + " " + r.choice(closers[tone])
        else:
            text += ender
        text = text.replace("  ", " ")
        if r.random() < TYPO_COMMENT_RATE:
            text = self.typos(text)
        if pii:
            text += " " + self.pii(pii)
        if tone and r.random() < EMOJI_RATE:
            text += " " + r.choice(self.emoji["positive" if tone > 0 else "negative"])
        u = r.random()
        return text.lower() if u < 0.04 else text.upper() if (u > 0.985 and tone < 0) else text

    def typos(self, text: str) -> str:
        """Seeded swaps/drops/doubles in lower-case words (names and PII are left intact)."""
        r, words = self.r, text.split(" ")
        for i, w in enumerate(words):
            if len(w) >= 4 and w.isalpha() and w.islower() and r.random() < TYPO_WORD_RATE:
                j, op = r.randrange(len(w) - 1), r.random()
                words[i] = (
                    w[:j] + w[j + 1] + w[j] + w[j + 2 :]
                    if op < 0.45
                    else w[:j] + w[j + 1 :]
                    if op < 0.8
                    else w[:j] + w[j] + w[j:]
                )
        return " ".join(words)

    def pii(self, kind: int) -> str:
        r, b = self.r, self.pii_b
        if kind == 1:
            num = str(r.randint(1, 99)) if r.random() < 0.5 else ""
            email = f"{r.choice(b['local_parts'])}{num}@{r.choice(b['email_domains'])}"
            return r.choice(b["email"]).format(email=email)
        if kind == 2:
            k = r.randint(0, 999)
            return r.choice(b["phone"]).format(
                phone=r.choice([f"07700 900{k:03d}", f"+44 7700 900{k:03d}", f"0161 496 0{k:03d}"])
            )
        card, sep = _luhn_card(r), r.choice([" ", "-", ""])
        return r.choice(b["card"]).format(card=sep.join(card[i : i + 4] for i in range(0, 16, 4)))
