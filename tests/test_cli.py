"""The CLI from outside: real processes, exit codes, stdout JSON, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "listen" / "fixtures"


def cx(*args: str, db: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CXCHANGE_DATABASE_URL": db}
    return subprocess.run(
        [sys.executable, "-m", "cxchange", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def test_import_json_and_listing(db_url: str, tmp_path: Path) -> None:
    f = tmp_path / "s.csv"
    f.write_text(
        "id,When,NPS,Comment,Region\n1,2025-03-01,9,Lovely,North\n2,2025-03-02,x,,South\n"
        "3,2025-03-03,12,Too keen,South\n"
    )
    run = cx("import", str(f), "--source", "web", "--format", "json", db=db_url)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert set(out) == {
        "batch_id",
        "source",
        "stored_without",
        "read",
        "imported",
        "duplicates",
        "rejected",
        "redacted",
        "seconds",
        "warnings",
        "kept_without_text_or_score",
        "rejects_by_reason",
        "warnings_by_reason",
        "unknown_units",
        "unknown_unit_values",
        "unknown_unit_rows",
        "mixed_scales",
        "score_scales",
        "dates",
        "undated",
        "cases_opened",
        "alerts_evaluated",
        "alerts_raised",
        "timings",
    }
    assert (out["cases_opened"], out["alerts_evaluated"], out["alerts_raised"]) == (0, 0, 0)  # 2025: history
    # Row 3's NPS of 12 is left empty and its comment kept (a warning); row 2 has nothing else: rejected.
    assert (out["read"], out["imported"], out["rejected"], out["warnings"]) == (3, 2, 1, 1)
    warned = cx("rejects", str(out["batch_id"]), "--warnings", "--format", "json", db=db_url)
    assert [(w["row"], w["column"]) for w in json.loads(warned.stdout)] == [(4, "NPS")]
    rejects = cx("rejects", str(out["batch_id"]), "--format", "csv", db=db_url)
    assert rejects.returncode == 0, rejects.stderr
    assert (
        rejects.stdout.splitlines()[0] == "id,When,NPS,Comment,Region,reject_row,reject_column,reject_reason"
    )
    assert rejects.stdout.splitlines()[1:] == [
        "2,2025-03-02,x,,South,3,NPS,nps: 'x' is not a whole number from 0 to 10"
    ]
    # fix the score and import the rejects file again: the reject_* columns are ignored
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(rejects.stdout.replace(",x,,", ",4,,"))
    again = json.loads(cx("import", str(fixed), "--source", "web", "--format", "json", db=db_url).stdout)
    assert (again["imported"], again["rejected"]) == (1, 0)
    batches = json.loads(cx("batches", "--format", "json", db=db_url).stdout)
    assert [(b["imported"], b["warnings"]) for b in batches] == [(1, 0), (2, 1)]
    feedback = json.loads(cx("feedback", "--where", "Region=North", "--format", "json", db=db_url).stdout)
    assert [f["text"] for f in feedback] == ["Lovely"]
    assert "reject_reason" not in json.dumps(cx("feedback", "--format", "json", db=db_url).stdout)
    scores = json.loads(
        cx("scores", "--metric", "nps", "--by", "attr:Region", "--format", "json", db=db_url).stdout
    )
    assert [s["group"] for s in scores] == [{"attr:Region": "North"}, {"attr:Region": "South"}]
    north = scores[0]
    assert (north["n"], north["score"], north["small"], north["promoters"], north["detractors"]) == (
        1,
        100.0,
        True,
        1,
        0,
    )
    assert set(north) >= {"ci_low", "ci_high", "passives"}


def test_global_db_option_overrides_environment(tmp_path: Path) -> None:
    target = tmp_path / "chosen.db"
    run = cx("--db", f"sqlite:///{target}", "db", "upgrade", db=f"sqlite:///{tmp_path / 'other.db'}")
    assert run.returncode == 0, run.stderr and target.exists()
    run = cx("batches", "--db", f"sqlite:///{target}", "--format", "json", db="sqlite:////nonexistent/x.db")
    assert run.returncode == 0 and json.loads(run.stdout) == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["import", "missing.csv", "--source", "s"], "missing.csv"),
        (["import", "{tmp}/data.xyz", "--source", "s"], "unknown format"),
        (["import", "{tmp}/noscore.csv", "--source", "s"], "no feedback field"),
        (["import", "{tmp}/noscore.csv", "--source", "s", "--map", "nps=Nope"], "'Nope'"),
        (["import", "{tmp}/stars.csv", "--source", "s", "--map", "rating=Stars"], "row 2"),
        (["scores", "--by", "colour"], "unknown grouping"),
        (["scores", "--metric", "csat"], "no csat answers in scope (all feedback)"),
        (["compare", "--by", "unit"], "no nps answers in scope (all feedback)"),
        (["rejects", "999"], "no import batch 999"),
    ],
)
def test_bad_input_one_line_exit_1(args: list[str], needle: str, tmp_path: Path) -> None:
    (tmp_path / "data.xyz").write_text("a,b\n1,2\n")
    (tmp_path / "noscore.csv").write_text("Alpha,Beta\n1,2\n")
    (tmp_path / "stars.csv").write_text("Stars\n" + "".join(f"{7 + i % 4}\n" for i in range(10)))
    run = cx(
        *[a.replace("{tmp}", str(tmp_path)) for a in args], db=f"sqlite:///{tmp_path / 'cx.db'}", cwd=tmp_path
    )
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert needle in lines[0] and "Traceback" not in run.stderr


def test_dry_run_compare_and_org_json(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cx.db'}"
    f = tmp_path / "s.csv"
    f.write_text("id,NPS,Comment,Region\n" + "".join(f"{i},{i % 11},c{i},{'NS'[i % 2]}\n" for i in range(40)))
    dry = json.loads(cx("import", str(f), "--source", "s", "--dry-run", "--format", "json", db=db).stdout)
    assert dry["mapping"]["nps"] == "NPS" and dry["valid"] == 40 and dry["attributes"] == ["Region"]
    assert json.loads(cx("batches", "--format", "json", db=db).stdout) == []  # a dry run writes nothing
    assert cx("import", str(f), "--source", "s", db=db).returncode == 0
    rows = json.loads(cx("compare", "--by", "attr:Region", "--format", "json", db=db).stdout)
    assert {r["group"]["attr:Region"] for r in rows} == {"N", "S"}
    assert all({"diff", "ci_low", "ci_high", "p_value", "p_adjusted"} <= set(r) for r in rows)
    units = tmp_path / "u.csv"
    units.write_text("code,name,parent\nHQ,Acme,\nR1,North,HQ\n")
    assert cx("org", "import", str(units), db=db).returncode == 0
    tree = json.loads(cx("org", "show", "--format", "json", db=db).stdout)
    assert tree[0]["code"] == "HQ" and tree[0]["children"][0]["name"] == "North"


def test_usage_errors_are_one_line_with_exit_1(db_url: str, tmp_path: Path) -> None:
    """A mistyped flag, a missing option or a bad value is bad input like any other: one line naming it
    and where to read more, exit 1 (Click's own answer was a framed usage block on several lines, exit 2)."""
    for args, needle in (
        (("scores", "--nope"), "No such option: --nope"),
        (("initiative", "create", "--name", "x"), "Missing option '--framework'"),
        (("scores", "--min-n", "x"), "Invalid value for '--min-n'"),
    ):
        run = cx(*args, db=db_url, cwd=tmp_path)
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        assert run.returncode == 1 and len(lines) == 1, (args, run.stderr)
        assert needle in lines[0] and "--help`)" in lines[0] and "Traceback" not in run.stderr
    version = cx("--version", db=db_url, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("cxchange ") and version.stderr == ""
    for args in ((), ("db",)):  # a group named alone shows its help, as --help does
        run = cx(*args, db=db_url, cwd=tmp_path)
        assert run.returncode == 0 and "Usage:" in run.stdout and run.stderr == "", (args, run.stderr)


def test_empty_source_or_unit_is_refused_not_dropped(tmp_path: Path) -> None:
    """`--unit ""` (a shell variable that was never set) asked for a scope: it was dropped and the whole
    organisation's score came back with exit 0, where `--where unit=` says no unit has that code."""
    db = f"sqlite:///{tmp_path / 'e.db'}"
    units = tmp_path / "units.csv"
    units.write_text("code,name,parent,level\nCO,Co,,company\nR1,North,CO,region\n")
    rows = tmp_path / "f.csv"
    rows.write_text("id,date,unit,score,speed\n" + "".join(f"{i},2025-03-{1 + i:02d},R1,{i % 11},{i % 5}\n"
                                                       for i in range(20)))  # fmt: skip
    assert cx("org", "import", str(units), db=db).returncode == 0
    assert cx("import", str(rows), "--source", "web", "--map", "org_unit=unit", "--map", "nps=score",
              db=db).returncode == 0  # fmt: skip
    for args in (
        ("scores", "--unit", ""),
        ("scores", "--source", ""),
        ("drivers", "--from", "attrs:speed", "--boot", "0", "--unit", ""),
    ):
        run = cx(*args, db=db, cwd=tmp_path)
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        assert run.returncode == 1 and len(lines) == 1, (args, run.returncode, run.stdout, run.stderr)
        assert "Traceback" not in run.stderr
