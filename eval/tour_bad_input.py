"""The "Bad input" sections of issues 15 (themes), 17 (outcomes) and 18 (sentiment), tried as a user tries
them: the installed `cxchange` as subprocesses on fresh SQLite stores (files under a temporary folder),
each with its own org, never the demo. Comments come from ../shared/eval (the Datafiniti hotel reviews).

    python eval/tour_bad_input.py [--rows-large 200000] [--out eval/results/tour_bad_input.json]

For every command it records the exit code, the seconds and the peak RSS of the process, whether stdout
or stderr holds a traceback, whether an empty answer came with exit 0, and whether the message names
what is wrong (the words each case expects: a file, a row, a column, a unit, a count). A case expects
either a refusal (exit 1, one line on stderr naming the problem) or an answer (exit 0, something
printed); `problems` lists every way a command fell short of that. The outcome cases are also asked
through the HTTP API and the initiative page of `cxchange serve`. The model-artefact cases run a copy
of the package (PYTHONPATH) whose data file is removed or corrupted: the worktree is never touched.
Nothing is tuned here. Writes eval/results/tour_bad_input.json.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import html
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = Path(os.environ.get("CXCHANGE_EVAL_DATA", ROOT.parent / "shared" / "eval"))
if not DATA.exists():
    DATA = Path("/work/shared/eval")
CX = str(Path(sys.executable).with_name("cxchange"))
PACKAGE = ROOT / "src" / "cxchange"
TODAY = date(2026, 11, 30)  # feedback dates are fixed, so every run builds the same stores

# An org of its own (S3 has no feedback at all: a control unit without data), as the user's units.csv.
UNITS_CSV = """code,name,parent,level
CO,Harbour Hotels,,company
N,North,CO,region
S,South,CO,region
N1,Leeds,N,hotel
N2,York,N,hotel
S1,Bath,S,hotel
S2,Exeter,S,hotel
S3,Truro,S,hotel
"""
PEOPLE = [("Sam Sponsor", "sam@harbour.test", "CO", "exec"), ("Olu Owner", "olu@harbour.test", "N", "lead")]


def hotel_texts() -> list[tuple[str, int]]:
    """(review text, 1-5 stars) of the Datafiniti hotel reviews that have both."""
    with (DATA / "hotel_reviews_datafiniti.csv").open(encoding="utf-8") as f:
        rows = [(r["text"].strip(), r["reviews.rating"]) for r in csv.DictReader(f)]
    return [(t, int(float(s))) for t, s in rows if t and s.replace(".", "").isdigit() and 1 <= float(s) <= 5]


# ---------------------------------------------------------------------------------------------------------
# Running commands


class Store:
    """One fresh SQLite store in its own folder; `run` records each command as a user would see it."""

    def __init__(self, folder: Path, log: list[dict[str, Any]], env: dict[str, str] | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.log = log
        self.env = {
            **os.environ,
            "CXCHANGE_DATABASE_URL": f"sqlite:///{folder / 'cx.db'}",
            "NO_COLOR": "1",
            "COLUMNS": "200",
            "CXCHANGE_SECRET_KEY": "tour-bad-input",
            **(env or {}),
        }
        self.env.pop("CXCHANGE_SENTIMENT_BACKEND", None)
        self.command: list[str] = [CX]

    def run(
        self,
        case: str,
        *args: str,
        expect: str = "answer",
        names: Sequence[str] = (),
        check: Callable[[str], list[str]] | None = None,
        timeout: float = 3600,
        quiet: bool = False,
        explained_empty: bool = False,
        empty_is_answer: bool = False,
    ) -> dict[str, Any]:
        """Run `cxchange ARGS`; `expect`: "answer" (exit 0 and something printed), "refuse" (exit 1 and one
        line on stderr), "either" (one of the two). `names`: words the message (or the answer) must hold.
        `check(stdout)`: further problems of an answer. `quiet`: a setup step, kept out of the log.
        `explained_empty`: an empty answer with exit 0 is the design when stderr says why (and names).
        `empty_is_answer`: an empty list is what is asked for (a check that nothing was imported)."""
        out_path, err_path = self.folder / ".stdout", self.folder / ".stderr"
        began = time.perf_counter()
        with out_path.open("w") as out, err_path.open("w") as err:
            proc = subprocess.Popen(
                [*self.command, *args],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.folder,
            )
            code, rss_kb = _wait(proc, timeout)
        seconds = time.perf_counter() - began
        stdout = out_path.read_text(encoding="utf-8", errors="replace")
        stderr = err_path.read_text(encoding="utf-8", errors="replace")
        explained = explained_empty or empty_is_answer
        record = judge(case, ["cxchange", *args], code, stdout, stderr, expect, names, check, explained)
        if empty_is_answer:
            record["problems"] = [p for p in record["problems"] if p != "empty answer with exit 0"]
        record.update(seconds=round(seconds, 2), peak_rss_mb=round(rss_kb / 1024, 1))
        record["stdout"] = stdout
        if not quiet:
            self.log.append({k: v for k, v in record.items() if k != "stdout"})
        elif record["problems"]:
            raise SystemExit(f"setup step failed: {record}")
        return record


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> tuple[int, int]:
    """Exit code and peak resident memory (kB) of the child, killed after `timeout` seconds (exit -9)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, int(usage.ru_maxrss)
        if time.monotonic() > deadline:
            os.kill(proc.pid, signal.SIGKILL)
        time.sleep(0.05)


def _empty_answer(stdout: str) -> bool:
    text = stdout.strip()
    if not text:
        return True
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return False
    return value in ([], {}, None)


def judge(
    case: str,
    command: list[str],
    code: int,
    stdout: str,
    stderr: str,
    expect: str,
    names: Sequence[str],
    check: Callable[[str], list[str]] | None,
    explained_empty: bool = False,
) -> dict[str, Any]:
    traceback = "Traceback (most recent call last)" in stdout + stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    empty_ok = code == 0 and _empty_answer(stdout)
    said = (stderr if code else stdout + stderr).lower()
    missing = [n for n in names if n.lower() not in said]
    explained = explained_empty and empty_ok and bool(stderr.strip()) and not missing
    problems: list[str] = []
    if traceback:
        problems.append("traceback")
    if empty_ok and not explained:
        problems.append("empty answer with exit 0")
    refused = code == 1 and len(lines) == 1 and len(lines[0]) > 10
    # A command line typer cannot parse (a required option left out) is its usage error: exit 2, the
    # option named in a box; the project's commands do not reach their code.
    if expect == "usage" and not (code == 2 and "Usage:" in stderr):
        problems.append(f"expected typer's usage error (exit 2), got exit {code}")
    if expect == "refuse" and not refused:
        problems.append(f"expected one line and exit 1, got exit {code} with {len(lines)} stderr line(s)")
    if expect == "answer" and code != 0:
        problems.append(f"expected an answer, got exit {code}")
    if expect == "either" and not (refused or (code == 0 and (explained or not empty_ok))):
        problems.append(f"neither an answer nor one clear line (exit {code}, {len(lines)} stderr line(s))")
    if missing:
        problems.append(f"does not name: {', '.join(missing)}")
    if check is not None and code == 0 and not traceback:
        problems.extend(check(stdout))
    shown = " ".join(command[:12])
    return {
        "case": case,
        "command": shown if len(shown) < 300 else shown[:300] + "…",
        "exit": code,
        "traceback": traceback,
        "empty_answer_exit_0": empty_ok,
        "names_what_is_wrong": None if not names else not missing,
        "stderr": stderr.strip()[-700:],
        "stdout_head": stdout.strip()[:300],
        "problems": problems,
    }


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def with_org(store: Store) -> None:
    units = store.folder / "units.csv"
    units.write_text(UNITS_CSV, encoding="utf-8")
    people = write_csv(store.folder / "people.csv", ("name", "email", "unit", "role"), PEOPLE)
    store.run("setup", "org", "import", str(units), "--people", str(people), quiet=True)


def comments_file(path: Path, texts: Sequence[str], seed: int = 1, units: Sequence[str] = ("N1",)) -> Path:
    rng = random.Random(seed)
    rows = []
    for i, text in enumerate(texts):
        day = TODAY - timedelta(days=rng.randrange(1, 400))
        rows.append((f"c{i}", day.isoformat(), rng.choice(units), rng.randrange(0, 11), text))
    return write_csv(path, ("id", "date", "hotel", "How likely to recommend (0-10)", "comment"), rows)


MAPPING = {"external_id": "id", "received_at": "date", "org_unit": "hotel",
           "nps": "How likely to recommend (0-10)", "text": "comment"}  # fmt: skip


def import_file(store: Store, path: Path, source: str, case: str | None = None) -> dict[str, Any]:
    maps = [part for field, column in MAPPING.items() for part in ("--map", f"{field}={column}")]
    args = ("import", str(path), "--source", source, *maps, "--format", "json")
    return store.run(case or "setup", *args, quiet=case is None)


# ---------------------------------------------------------------------------------------------------------
# Issue 15: themes


LANGUAGES = [
    "La chambre était sale et le personnel très impoli à la réception.",
    "Le petit déjeuner était excellent, mais le wifi ne marchait pas.",
    "Das Zimmer war laut und das Frühstück kalt. Nie wieder!",
    "Sehr freundliches Personal und ein sauberes Zimmer.",
    "La habitación estaba sucia y el aire acondicionado no funcionaba.",
    "El personal fue muy amable y el desayuno delicioso.",
    "房间很脏，服务员态度很差。",
    "早餐很好吃，位置也很方便。",
    "部屋は狭くてエアコンが壊れていました。",
    "Номер был грязный, а персонал грубый.",
    "الغرفة كانت نظيفة والموظفون لطفاء جدا",
    "Il bagno era sporco e la colazione scarsa.",
]


def issue15(tmp: Path, log: list[dict[str, Any]], texts: list[str], rows_large: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # A source of 5 comments.
    s = Store(tmp / "t15-five", log)
    with_org(s)
    import_file(s, comments_file(s.folder / "five.csv", texts[:5]), "five")
    s.run("15: 5 comments", "themes", "discover", "--save", expect="refuse", names=("5 comments", "20"))
    s.run("15: 5 comments", "analyze", expect="answer")
    s.run(
        "15: 5 comments",
        "themes",
        "--format",
        "json",
        expect="either",
        names=("taxonomy",),
        explained_empty=True,
    )
    s.run("15: 5 comments", "feedback", "--format", "json", expect="answer")

    # Several languages: a third English, the rest in seven other languages.
    s = Store(tmp / "t15-languages", log)
    with_org(s)
    rng = random.Random(3)
    mixed = [rng.choice(LANGUAGES) + f" ({i})" if i % 3 else texts[100 + i] for i in range(120)]
    import_file(s, comments_file(s.folder / "languages.csv", mixed), "languages")
    found = s.run(
        "15: several languages",
        "themes",
        "discover",
        "--save",
        "--format",
        "json",
        expect="either",
        names=("not in English",),
    )
    out["languages_discover"] = _discovery_summary(found)
    s.run("15: several languages", "analyze", expect="answer", names=("not in English",))
    s.run("15: several languages", "themes", expect="either")
    fb = s.run("15: several languages", "feedback", "--format", "json", "--limit", "200", expect="answer")
    out["languages_sentiment_labels"] = _labels(fb["stdout"])

    # Comments that are only a handle or a URL.
    s = Store(tmp / "t15-handles", log)
    with_org(s)
    handles = [
        rng.choice(
            [
                "@HarbourHotels",
                "@harbour_help",
                "https://t.co/x9Yq2",
                "http://harbour.example/r/1",
                "@HarbourHotels https://t.co/abc",
                "www.harbour.example",
                "#fail @harbour_help",
            ]
        )
        + ("" if i % 2 else f" {i}")
        for i in range(40)
    ]
    import_file(s, comments_file(s.folder / "handles.csv", handles), "handles")
    # Some say "#fail": a theme of those few is fair; a theme on "@brand 4" is not.
    found = s.run(
        "15: only handles or URLs", "themes", "discover", "--save", "--format", "json", expect="either"
    )
    out["handles_discover"] = _discovery_summary(found)
    s.run("15: only handles or URLs", "analyze", expect="answer")
    s.run("15: only handles or URLs", "themes", "--format", "json", expect="either", explained_empty=True)
    fb = s.run(
        "15: only handles or URLs",
        "feedback",
        "--format",
        "json",
        expect="answer",
        check=_bare_without_themes,
    )
    out["handles_sentiment_labels"] = _labels(fb["stdout"])
    out["handles_with_a_theme"] = sum(1 for r in json.loads(fb["stdout"] or "[]") if r.get("themes"))

    # A taxonomy with discovered themes exported, then imported with its matcher missing, altered, or of
    # another format version.
    s = Store(tmp / "t15-export", log)
    with_org(s)
    import_file(s, comments_file(s.folder / "reviews.csv", texts[200:1200]), "reviews")
    s.run("setup", "themes", "discover", "--save", "--max-themes", "6", quiet=True)
    s.run(
        "15: taxonomy export",
        "themes",
        "export",
        "--out",
        str(s.folder / "tax.yaml"),
        expect="answer",
        explained_empty=True,
        names=("tax.yaml",),
        check=lambda _: [] if (s.folder / "tax.matchers.npz").exists() else ["no matcher file written"],
    )
    stdout_export = s.run(
        "15: taxonomy export to stdout", "themes", "export", expect="refuse", names=("--out",)
    )
    del stdout_export
    yaml_text = (s.folder / "tax.yaml").read_text(encoding="utf-8")
    npz = (s.folder / "tax.matchers.npz").read_bytes()
    variants: dict[str, tuple[str, bytes | None, Sequence[str]]] = {
        "matcher file missing": (yaml_text, None, ("tax.matchers.npz", "cannot be read")),
        "matcher file altered": (yaml_text, npz[:-40] + bytes(40), ("tax.matchers.npz", "checksum")),
        "matcher of another format version": (
            re.sub(r"\n\s*sha256: \S+", "", yaml_text),
            _other_format(npz),
            ("tax.matchers.npz", "format"),
        ),
        "matcher not a zip": (
            re.sub(r"\n\s*sha256: \S+", "", yaml_text),
            b"not a model",
            ("tax.matchers.npz",),
        ),
    }
    for name, (text, data, expected) in variants.items():
        t = Store(tmp / f"t15-import-{name.replace(' ', '-')}", log)
        with_org(t)
        (t.folder / "tax.yaml").write_text(text, encoding="utf-8")
        if data is not None:
            (t.folder / "tax.matchers.npz").write_bytes(data)
        t.run(f"15: {name}", "themes", "import", str(t.folder / "tax.yaml"), expect="refuse", names=expected)
        t.run(
            f"15: {name}, nothing imported",
            "themes",
            "list",
            "--format",
            "json",
            expect="answer",
            empty_is_answer=True,
            check=lambda o: [] if json.loads(o or "[]") == [] else ["themes imported despite the refusal"],
        )
    t = Store(tmp / "t15-import-bad-yaml", log)
    with_org(t)
    (t.folder / "bad.yaml").write_text("themes:\n  - name: Rooms\n    keywords: [room\n", encoding="utf-8")
    t.run(
        "15: taxonomy YAML not valid",
        "themes",
        "import",
        str(t.folder / "bad.yaml"),
        expect="refuse",
        names=("bad.yaml", "line"),
    )

    out["embedder_missing"] = embedder_missing(tmp, log, texts)

    # 200,000 comments: the hotel reviews repeated with variation.
    s = Store(tmp / "t15-large", log)
    with_org(s)
    big = _large_file(s.folder / "large.csv", texts, rows_large)
    imported = import_file(s, big, "large", case=f"15: {rows_large} comments")
    out["large_import"] = {"seconds": imported["seconds"], "peak_rss_mb": imported["peak_rss_mb"]}
    found = s.run(
        f"15: {rows_large} comments",
        "themes",
        "discover",
        "--save",
        expect="answer",
        names=(f"of {rows_large:,}", "even sample") if rows_large > 50_000 else (),
    )
    out["large_discover"] = {
        "seconds": found["seconds"],
        "peak_rss_mb": found["peak_rss_mb"],
        "says_what_it_does": bool(found["stderr"]),
        "stderr_tail": found["stderr"][-300:],
        "title": found["stdout_head"][:200],
    }
    analysed = s.run(f"15: {rows_large} comments", "analyze", expect="answer")
    out["large_analyze"] = {"seconds": analysed["seconds"], "peak_rss_mb": analysed["peak_rss_mb"]}
    themes = s.run(f"15: {rows_large} comments", "themes", "--format", "json", expect="answer")
    out["large_themes"] = {"seconds": themes["seconds"], "themes": len(json.loads(themes["stdout"] or "[]"))}
    s.run(f"15: {rows_large} comments", "feedback", "--format", "json", "--limit", "5", expect="answer")
    return out


def embedder_missing(tmp: Path, log: list[dict[str, Any]], texts: list[str]) -> dict[str, Any]:
    """Themes saved by a discovery that embedded with the ONNX MiniLM, then new comments analysed by a copy
    of the package without its .onnx file (an install without `make minilm-onnx`): one line naming the
    file and how to build it, not comments silently left without themes."""
    s = Store(tmp / "t15-embedder", log)
    with_org(s)
    short = [t.split(". ")[0][:120] for t in texts[2000:2600]]
    import_file(s, comments_file(s.folder / "short.csv", short), "short")
    found = s.run("setup", "themes", "discover", "--save", "--format", "json", quiet=True)
    embedder = json.loads(found["stdout"])["embedder"]
    more = [t.split(". ")[0][:120] for t in texts[3000:3050]]
    import_file(s, comments_file(s.folder / "more.csv", more, seed=9), "more")
    copy = tmp / "pkg-no-onnx"
    shutil.copytree(PACKAGE, copy / "cxchange", ignore=shutil.ignore_patterns("__pycache__", "*.onnx"))
    s.env = {**s.env, "PYTHONPATH": str(copy)}
    s.command = [sys.executable, "-m", "cxchange"]
    if embedder.startswith("minilm-"):
        s.run("15: the matcher's embedder file missing", "analyze", expect="refuse", names=(".onnx",))
    shutil.rmtree(copy)
    return {"embedder": embedder}


def _bare_without_themes(stdout: str) -> list[str]:
    """Comments with no word once handles, links, tags' signs and numbers are out: no theme."""
    bare = re.compile(r"@\w+|https?://\S+|www\.\S+|[#\d\s]")
    wrong = [r["text"] for r in json.loads(stdout or "[]") if not bare.sub("", r["text"]) and r.get("themes")]
    return (
        [f"{len(wrong)} comments of only handles, links or numbers got a theme: {wrong[:3]}"] if wrong else []
    )


def _discovery_summary(record: dict[str, Any]) -> dict[str, Any]:
    if record["exit"] != 0:
        return {"exit": record["exit"], "stderr": record["stderr"]}
    found = json.loads(record["stdout"])
    return {
        "comments": found["comments"],
        "themes": [
            {"name": t["name"], "size": t["size"], "example": t["examples"][0][:60] if t["examples"] else ""}
            for t in found["themes"]
        ],
        "unassigned": found["unassigned"],
        "notes": found.get("notes"),
    }


def _labels(stdout: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in json.loads(stdout or "[]"):
        counts[str(row.get("sentiment_label"))] = counts.get(str(row.get("sentiment_label")), 0) + 1
    return counts


def _other_format(npz: bytes) -> bytes:
    """The same matcher with its format number set to one this cxchange does not read (a later version)."""
    import io

    import numpy as np

    with np.load(io.BytesIO(npz), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    meta["format"] = 99
    arrays["meta"] = np.asarray(json.dumps(meta))
    buf = io.BytesIO()
    np.savez_compressed(buf, allow_pickle=False, **arrays)
    return buf.getvalue()


def _large_file(path: Path, texts: list[str], rows: int) -> Path:
    """`rows` comments: the hotel reviews again and again, each copy with its sentences in another order
    (sometimes one left out), another date, hotel and score, so no two rows are the same text and date."""
    rng = random.Random(7)
    split = re.compile(r"(?<=[.!?])\s+")
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(("id", "date", "hotel", "How likely to recommend (0-10)", "comment"))
        for i in range(rows):
            text = texts[i % len(texts)]
            if i >= len(texts):
                parts = split.split(text)
                rng.shuffle(parts)
                if len(parts) > 2 and rng.random() < 0.5:
                    parts.pop(rng.randrange(len(parts)))
                text = " ".join(parts)
            day = TODAY - timedelta(days=rng.randrange(1, 730))
            w.writerow(
                (f"L{i}", day.isoformat(), rng.choice(("N1", "N2", "S1", "S2")), rng.randrange(11), text)
            )
    return path


# ---------------------------------------------------------------------------------------------------------
# Issue 17: outcomes


def issue17(tmp: Path, log: list[dict[str, Any]], hotel: list[tuple[str, int]]) -> dict[str, Any]:
    s = Store(tmp / "t17", log)
    with_org(s)
    rng = random.Random(17)
    first = TODAY - timedelta(days=420)
    rows = []
    for i in range(1500):
        text, stars = hotel[i]
        day = first + timedelta(days=rng.randrange(420))
        unit = rng.choice(("N1", "N2", "S1", "S2"))
        nps = max(0, min(10, stars * 2 + rng.choice((-1, 0, 0, 1))))
        rows.append((f"o{i}", day.isoformat(), unit, nps, text))
    path = write_csv(
        s.folder / "reviews.csv", ("id", "date", "hotel", "How likely to recommend (0-10)", "comment"), rows
    )
    import_file(s, path, "reviews")
    start = (TODAY - timedelta(days=150)).isoformat()
    base = ("--framework", "kotter", "--sponsor", "sam@harbour.test", "--owner", "olu@harbour.test")
    pc = ("--units", "N,S", "--pilot-units", "N", "--control-units")
    later, earlier = (TODAY + timedelta(days=30)).isoformat(), (first - timedelta(days=60)).isoformat()
    # name: (create arguments, create: (expect, words), outcomes: (expect, words), plan: (expect, words)).
    # An answer's words are looked for in what it printed (a caveat), a refusal's in its message.
    designs: dict[str, tuple[tuple[str, ...], Expect, Expect, Expect]] = {
        "no units at all": (("--start", start), ("usage", ("--units",)), NONE, NONE),
        "units but no pilot or control": (
            ("--units", "N,S", "--start", start),
            ANSWER,
            ("answer", ("no pilot or control units", "N, S")),
            ("refuse", ("--pilot-units", "--control-units")),
        ),
        "pilot without control": (
            ("--units", "N,S", "--pilot-units", "N", "--start", start),
            ANSWER,
            ("answer", ("no control units", "pilot units (N)")),
            ("refuse", ("--control-units",)),
        ),
        "control without pilot": (
            ("--units", "N,S", "--control-units", "S", "--start", start),
            ANSWER,
            ("refuse", ("no pilot units", "--pilot-units")),
            ("refuse", ("--pilot-units",)),
        ),
        "pilot and control the same unit": (
            (*pc, "N", "--start", start),
            ("refuse", ("both", "N")),
            NONE,
            NONE,
        ),
        "control inside the pilot": (
            (*pc, "N1", "--start", start),
            ("refuse", ("N1", "beneath", "N")),
            NONE,
            NONE,
        ),
        "pilot inside the control": (
            ("--units", "N,S", "--pilot-units", "S1", "--control-units", "S", "--start", start),
            ("refuse", ("S1", "beneath", "S")),
            NONE,
            NONE,
        ),
        "control without feedback": (
            (*pc, "S3", "--start", start),
            ANSWER,
            ("refuse", ("control units (S3)",)),
            ("refuse", ("control units (S3)",)),
        ),
        "starts after the last feedback": (
            (*pc, "S", "--start", later),
            ANSWER,
            ("refuse", ("after",)),
            ANSWER,
        ),  # a plan is for before launch
        "starts before any feedback": (
            (*pc, "S", "--start", earlier),
            ANSWER,
            ("refuse", ("first feedback",)),
            ("refuse", ("first feedback",)),
        ),
    }
    ids: dict[str, int] = {}
    for n, (name, (args, create, outcome, planned)) in enumerate(designs.items()):
        made = s.run(
            f"17: {name}",
            "initiative",
            "create",
            "--name",
            f"Initiative {n}",
            *base,
            *args,
            "--format",
            "json",
            expect=create[0],
            names=create[1],
        )
        if made["exit"] != 0:
            continue
        ini = str(json.loads(made["stdout"])["id"])
        ids[name] = int(ini)
        s.run(f"17: {name}", "outcomes", ini, expect=outcome[0], names=outcome[1])
        s.run(f"17: {name}", "outcomes", "plan", ini, expect=planned[0], names=planned[1])
    nested = s.run(
        "17: control moved inside the pilot",
        "initiative",
        "update",
        str(ids["pilot without control"]),
        "--control-units",
        "N2",
        expect="refuse",
        names=("N2", "beneath", "N"),
    )
    del nested
    return {"initiatives": ids, "web": _outcomes_web(s, ids, designs, log)}


Expect = tuple[str, Sequence[str]]
ANSWER: Expect = ("answer", ())
NONE: Expect = ("", ())  # not asked: the initiative is refused before


def _until_up(health: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(health).status_code == 200:
                return
        time.sleep(0.5)
    raise SystemExit(f"{health} did not answer in {seconds:.0f} s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _outcomes_web(
    s: Store, ids: dict[str, int], designs: dict[str, Any], log: list[dict[str, Any]]
) -> dict[str, Any]:
    """The same initiatives through `GET /api/outcomes/ID`, `/api/outcomes/ID/plan` and the initiative page:
    the same answer or the same message as the CLI."""
    s.run("setup", "user", "add", "ada@harbour.test", "--role", "admin", quiet=True)
    token_out = s.run("setup", "token", "create", "ada@harbour.test", quiet=True)["stdout"]
    token = re.search(r"cxt_[A-Za-z0-9_-]+", token_out)
    if token is None:
        raise SystemExit(f"no token in {token_out!r}")
    port = _free_port()
    server = subprocess.Popen(
        [CX, "serve", "--port", str(port)], env=s.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token[0]}"}
    out: dict[str, Any] = {}
    try:
        _until_up(base + "/api/health")
        for name, ini in ids.items():
            _args, _create, outcome, planned = designs[name]
            asks = (
                ("api", f"/api/outcomes/{ini}", outcome),
                ("api plan", f"/api/outcomes/{ini}/plan", planned),
                ("page", f"/initiatives/{ini}", outcome),
            )
            for what, path, (expect, words) in asks:
                r = httpx.get(base + path, headers=headers, timeout=600)
                problems = []
                if what == "page":
                    notice = re.search(r'class="notice">([^<]*)<', r.text)
                    message = html.unescape(notice[1]) if notice else ""
                    said = html.unescape(re.sub(r"<[^>]+>", " ", r.text)) if expect == "answer" else message
                    answered = r.status_code == 200 and not message
                    if r.status_code != 200:
                        problems.append(f"status {r.status_code}")
                else:
                    body = (
                        r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
                    )
                    message = str(body.get("detail", "")) if r.status_code >= 400 else ""
                    said = json.dumps(body, ensure_ascii=False) if expect == "answer" else message
                    answered = r.status_code == 200
                    if r.status_code not in (200, 400, 404):
                        problems.append(f"status {r.status_code}")
                if expect == "answer" and not answered:
                    problems.append(f"expected an outcome, got: {message[:200]}")
                if expect == "refuse" and answered:
                    problems.append("gave an outcome")
                missing = [w for w in words if w.lower() not in said.lower()]
                if missing:
                    problems.append(f"does not name: {', '.join(missing)}")
                record = {
                    "case": f"17: {name}",
                    "command": f"GET {path}",
                    "status": r.status_code,
                    "message": message[:400],
                    "problems": problems,
                }
                log.append(record)
                out[f"{name}: {what}"] = {"status": r.status_code, "message": message[:300]}
    finally:
        server.terminate()
        server.wait(timeout=30)
    return out


# ---------------------------------------------------------------------------------------------------------
# Issue 18: sentiment


def odd_texts(hotel: list[tuple[str, int]]) -> dict[str, tuple[str, str | None]]:
    """name: (text, the label a reader gives it; None where any label will do)."""
    long_text = ""
    i = 0
    while len(long_text.encode()) < 100_000:  # 100 kB of a real (negative) review's sentences, repeated
        long_text += " " + hotel[i % 50][0]
        i += 1
    return {
        "zero-width space inside a word": (
            "The staff were ter\u200brible and the room was dir\u200bty",
            "negative",
        ),
        "combining accents": ("The room was lovely, cafe\u0301 downstairs was wonderful", "positive"),
        "full-width letters": ("ｔｅｒｒｉｂｌｅ ｓｅｒｖｉｃｅ", "negative"),
        "right-to-left override": ("\u202eThe staff were very rude\u202c", "negative"),
        "control characters": ("Awful\x07 stay\x1b, never \x0bagain", "negative"),
        "emoji only, angry": ("😡😡😡", "negative"),
        "emoji only, thumbs up": ("👍👍", "positive"),
        "emoji only, with skin tone": ("👎🏽", "negative"),
        "100 kB text": (long_text[:100_000], None),
        "mixed languages": (
            "The room was terrible, la chambre était sale, das Personal war unfreundlich",
            "negative",
        ),
        "HTML": (
            "<p>The staff were <b>rude</b> &amp; the room was <i>filthy</i></p><script>x()</script>",
            "negative",
        ),
        "HTML entities only": ("&lt;3 &hearts; loved it &#128077;", "positive"),
    }


def _label_check(expected: dict[str, tuple[str, str | None]]) -> Callable[[str], list[str]]:
    def check(stdout: str) -> list[str]:
        rows = json.loads(stdout)
        problems = []
        for (name, (_, want)), row in zip(expected.items(), rows, strict=False):
            if want is not None and row["label"] != want:
                problems.append(f"{name}: {row['label']} (expected {want})")
        if len(rows) != len(expected):
            problems.append(f"{len(rows)} rows for {len(expected)} texts")
        return problems

    return check


def issue18(tmp: Path, log: list[dict[str, Any]], hotel: list[tuple[str, int]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    texts = odd_texts(hotel)
    s = Store(tmp / "t18", log)
    with_org(s)
    path = comments_file(s.folder / "odd.csv", [t for t, _ in texts.values()])
    plain = {k: v for k, v in texts.items() if k not in ("100 kB text", "control characters")}
    asked = {
        "arguments": ([t for t, _ in plain.values()], plain),  # a shell passes neither 100 kB nor \x07
        "file": (["--file", str(path), "--column", "comment"], texts),
    }
    for backend in ("fast", "best"):
        for how, (given, expected) in asked.items():
            r = s.run(f"18: odd texts, {how} ({backend})", "sentiment", *given, "--backend", backend,
                      "--format", "json", check=_label_check(expected))  # fmt: skip
            out[f"{how}_{backend}"] = _sentiment_rows(r, expected)
    bad = s.folder / "bad-utf8.csv"
    bad.write_bytes(b"id,comment\n1,great stay\n2,the room was \xff\xfe dirty\n3,fine\n")
    # Stray bytes that are not UTF-8 are read as cp1252, as every import reads them (listen/readers.py):
    # recorded here, not judged.
    s.run(
        "18: a file that is not UTF-8",
        "sentiment",
        "--file",
        str(bad),
        "--column",
        "comment",
        "--format",
        "json",
        expect="answer",
    )
    import_file(s, path, "odd")
    for backend in ("fast", "best"):
        s.run(f"18: analyze odd texts ({backend})", "analyze", "--backend", backend, expect="answer")
        fb = s.run(f"18: feedback of odd texts ({backend})", "feedback", "--format", "json", expect="answer")
        got = {row["text"][:40]: row.get("sentiment_label") for row in json.loads(fb["stdout"] or "[]")}
        out[f"analyze_{backend}"] = got
    out["artefacts"] = artefacts(tmp, log)
    return out


def _sentiment_rows(record: dict[str, Any], texts: dict[str, tuple[str, str | None]]) -> dict[str, Any]:
    if record["exit"] != 0:
        return {"exit": record["exit"], "stderr": record["stderr"]}
    rows = json.loads(record["stdout"])
    return {
        name: {"label": row["label"], "score": row["score"]} for name, row in zip(texts, rows, strict=False)
    }


ARTEFACTS: dict[str, tuple[str, str, str]] = {
    # name: (back-end, file under understand/, what is done to it). The best model shipped uses no word
    # vectors (its "embed" entry is empty), so themes/data/static_minilm.npz is no sentiment artefact.
    "best model missing": ("best", "sentiment/data/best_model.npz", "remove"),
    "best model truncated": ("best", "sentiment/data/best_model.npz", "truncate"),
    "best model not a model": ("best", "sentiment/data/best_model.npz", "garbage"),
    "VADER lexicon missing (fast)": ("fast", "sentiment/data/vader_lexicon.txt", "remove"),
    "VADER lexicon empty (fast)": ("fast", "sentiment/data/vader_lexicon.txt", "empty"),
    "VADER lexicon garbled (fast)": ("fast", "sentiment/data/vader_lexicon.txt", "garble"),
    "VADER lexicon not UTF-8 (fast)": ("fast", "sentiment/data/vader_lexicon.txt", "binary"),
    "CX lexicon missing (fast)": ("fast", "sentiment/data/cx_lexicon.yaml", "remove"),
    "CX lexicon not YAML (fast)": ("fast", "sentiment/data/cx_lexicon.yaml", "garble"),
    "emoji lexicon missing (fast)": ("fast", "sentiment/data/emoji_utf8_lexicon.txt", "remove"),
}


def _damage(path: Path, how: str) -> None:
    if how == "remove":
        path.unlink()
    elif how == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "garbage":
        path.write_bytes(b"this is not a model\n" * 100)
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "garble":
        path.write_text("words: [unclosed\n\tnot\ta number\n:::\n", encoding="utf-8")
    elif how == "binary":
        path.write_bytes(bytes(range(256)) * 40)


def artefacts(tmp: Path, log: list[dict[str, Any]]) -> dict[str, Any]:
    """Each damaged artefact in its own copy of the package, run with `python -m cxchange` from that copy."""
    out: dict[str, Any] = {}
    for name, (backend, rel, how) in ARTEFACTS.items():
        copy = tmp / f"pkg-{len(out)}"
        shutil.copytree(PACKAGE, copy / "cxchange", ignore=shutil.ignore_patterns("__pycache__", "*.onnx"))
        target = copy / "cxchange" / "understand" / rel
        _damage(target, how)
        s = Store(tmp / f"t18-artefact-{len(out)}", log, env={"PYTHONPATH": str(copy)})
        s.command = [sys.executable, "-m", "cxchange"]
        probe = subprocess.run(
            [sys.executable, "-c", "import cxchange; print(cxchange.__file__)"],
            env=s.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if not probe.startswith(str(copy)):
            raise SystemExit(f"the damaged copy is not what runs: {probe}")
        with_org(s)
        words = (Path(rel).name, "reinstall")
        cli = s.run(
            f"18: {name}",
            "sentiment",
            "the staff were rude",
            "--backend",
            backend,
            "--format",
            "json",
            expect="refuse",
            names=words,
        )
        import_file(s, comments_file(s.folder / "c.csv", ["the staff were rude", "lovely room"]), "c")
        analysed = s.run(f"18: {name}", "analyze", "--backend", backend, expect="refuse", names=words)
        labels = s.run(
            f"18: {name}, nothing stored",
            "feedback",
            "--format",
            "json",
            expect="answer",
            check=lambda o: (
                []
                if all(r.get("sentiment_label") is None for r in json.loads(o))
                else ["sentiment stored despite the refusal"]
            ),
        )
        out[name] = {
            "sentiment": cli["stderr"] or cli["stdout_head"],
            "analyze": analysed["stderr"],
            "stored_labels": _labels(labels["stdout"]),
        }
        shutil.rmtree(copy)
    return out


# ---------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-large", type=int, default=200_000)
    parser.add_argument("--only", choices=("15", "17", "18"), action="append")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "tour_bad_input.json")
    args = parser.parse_args()
    hotel = hotel_texts()
    texts = [t for t, _ in hotel]
    log: list[dict[str, Any]] = []
    result: dict[str, Any] = {"load_average_before": os.getloadavg(), "rows_large": args.rows_large}
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cx-badinput-") as tmp:
        issues = args.only or ["15", "17", "18"]
        if "17" in issues:
            result["issue17"] = issue17(Path(tmp), log, hotel)
        if "18" in issues:
            result["issue18"] = issue18(Path(tmp), log, hotel)
        if "15" in issues:
            result["issue15"] = issue15(Path(tmp), log, texts, args.rows_large)
    result["seconds"] = round(time.perf_counter() - began, 1)
    result["load_average_after"] = os.getloadavg()
    result["commands"] = log
    failing = [r for r in log if r["problems"]]
    result["summary"] = {
        "commands": len(log),
        "with_problems": len(failing),
        "tracebacks": sum(1 for r in log if r.get("traceback")),
        "empty_answers_exit_0": sum(1 for r in log if r.get("empty_answer_exit_0")),
    }
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    for r in failing:
        said = r.get("stderr") or r.get("message", "")
        print(f"{r['case']}: {r['command'][:120]}\n    {'; '.join(r['problems'])}\n    {said[-600:]}")
    print(f"wrote {args.out} in {result['seconds']} s: {result['summary']}")


if __name__ == "__main__":
    main()
