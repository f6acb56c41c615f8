"""A small company of its own for the end-to-end tests: not the demo, files as a user would have them.

Two regions of two stores each, a handful of people, and a survey export of ~1,200 answers over the
14 months up to yesterday (dates are relative to today, so case and alert windows see recent rows),
with a Store column, a Region attribute, a CSAT question, free-text comments naming what went wrong
or right, and a pilot region (North) that gets better after the initiative's start.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

UNITS = [
    ("CO", "Acme Retail", "", "company"),
    ("N", "North", "CO", "region"),
    ("S", "South", "CO", "region"),
    ("N1", "Leeds", "N", "store"),
    ("N2", "York", "N", "store"),
    ("S1", "Bath", "S", "store"),
    ("S2", "Exeter", "S", "store"),
]
PEOPLE = [
    ("Ada Lovelace", "ada@acme.test", "CO", "exec"),
    ("Ben Carter", "ben@acme.test", "CO", "change lead"),
    ("Priya Shah", "priya@acme.test", "N1", "store manager"),
    ("Tom Reed", "tom@acme.test", "N2", "agent"),
    ("Maria Lopez", "maria@acme.test", "S1", "agent"),
    ("Owen Price", "owen@acme.test", "S2", "store manager"),
]
STAFF_OF = {"N1": "Priya", "N2": "Tom", "S1": "Maria", "S2": "Owen"}

NEGATIVE = [
    "waited forty minutes in the queue and nobody came to help",
    "the checkout queue was endless and only one till was open",
    "I was charged twice on my bill and still no refund",
    "the price went up again without any notice",
    "my delivery arrived a week late and the box was damaged",
    "the app keeps logging me out when I try to pay",
    "staff were rude and could not answer a simple question",
    "returned the jacket a month ago and the refund never came",
]
POSITIVE = [
    "{staff} was brilliant and sorted my return in minutes",
    "friendly staff and no queue at all",
    "great value for money, prices are fair",
    "delivery was quick and the parcel arrived early",
    "the store was clean and easy to find things in",
    "{staff} at the till was really helpful and kind",
]
NEUTRAL = ["bought a few things", "it was fine, nothing special", "came in for a coat"]


def _nps_for(kind: str, rng: random.Random, boost: float) -> int:
    if kind == "neg":
        base = rng.choice([0, 1, 2, 3, 4, 5, 6, 6, 7])
    elif kind == "pos":
        base = rng.choice([8, 9, 9, 10, 10, 10])
    else:
        base = rng.choice([6, 7, 7, 8, 8, 9])
    return max(0, min(10, base + (1 if rng.random() < boost else 0)))


def initiative_start(today: date) -> date:
    return today - timedelta(days=150)


def make_feedback(path: Path, today: date, rows: int = 1200, seed: int = 11) -> None:
    """Survey export with the columns a survey tool writes; North improves after the initiative starts."""
    rng = random.Random(seed)
    start = initiative_start(today)
    first = today - timedelta(days=420)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Response ID", "Submitted", "Store", "Region", "How likely to recommend (0-10)",
                      "Satisfaction (1-5)", "Customer", "What could we do better?"])  # fmt: skip
        for i in range(rows):
            day = first + timedelta(days=rng.randrange((today - first).days))  # up to yesterday
            store = rng.choice(["N1", "N2", "S1", "S2"])
            after = day >= start and store.startswith("N")
            p_neg = 0.22 if after else 0.42
            r = rng.random()
            kind = "neg" if r < p_neg else ("pos" if r < p_neg + 0.45 else "neu")
            phrase = rng.choice({"neg": NEGATIVE, "pos": POSITIVE, "neu": NEUTRAL}[kind])
            comment = phrase.format(staff=STAFF_OF[store]).capitalize() + "."
            if rng.random() < 0.15:
                comment = ""  # some answers carry only a score
            nps = _nps_for(kind, rng, 0.3 if after else 0.0)
            csat = max(1, min(5, round(nps / 2.2) + rng.choice([0, 0, 1, -1])))
            region = "North" if store.startswith("N") else "South"
            at = f"{day.isoformat()} {rng.randrange(8, 20):02d}:{rng.randrange(60):02d}"
            out.writerow([f"R{i:05d}", at, store, region, nps, csat, f"C{rng.randrange(400):04d}", comment])


def write_world(folder: Path, today: date) -> dict[str, Path]:
    files = {
        "units": folder / "units.csv",
        "people": folder / "people.csv",
        "feedback": folder / "survey.csv",
        "readiness": folder / "adkar.csv",
        "raci": folder / "raci.csv",
        "comments_only": folder / "comments_only.csv",
        "scores_only": folder / "scores_only.csv",
    }
    with files["units"].open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "name", "parent", "level"])
        w.writerows(UNITS)
    with files["people"].open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "email", "unit", "role"])
        w.writerows(PEOPLE)
    make_feedback(files["feedback"], today)
    rng = random.Random(5)
    with files["readiness"].open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["unit", "awareness", "desire", "knowledge", "ability", "reinforcement"])
        for unit in ("N1", "N2", "S1", "S2"):
            for _ in range(6):
                w.writerow([unit, *(rng.randint(lo, hi) for lo, hi in ((3, 5), (1, 4), (3, 5), (2, 5))), 4])
    with files["raci"].open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["activity", "ada@acme.test", "ben@acme.test", "priya@acme.test"])
        w.writerow(["Approve budget", "A/R", "C", "I"])
        w.writerow(["Run the pilot", "I", "A", "R"])
        w.writerow(["Train staff", "", "A", "R"])
    with files["comments_only"].open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "date", "comment"])
        for i in range(30):
            day = (today - timedelta(days=40 + i)).isoformat()
            w.writerow([f"c{i}", day, rng.choice(NEGATIVE + NEUTRAL)])
    with files["scores_only"].open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "date", "nps"])
        for i in range(30):
            w.writerow([f"s{i}", (today - timedelta(days=40 + i)).isoformat(), rng.randint(0, 10)])
    return files
