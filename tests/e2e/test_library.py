"""The Python API gives what the CLI prints: the same store, read by `cxchange … --format json` in a
fresh process and by `cxchange.scores(…)` and friends in this one, must agree number for number."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from .conftest import Cx
from .test_tour import SURVEY_MAP
from .world import initiative_start, write_world


def _library(url: str, script: str) -> object:
    """Runs `script` in a fresh interpreter (only `import cxchange`, as a notebook would) and returns the
    JSON it prints, so nothing imported by the test process helps it."""
    prelude = f"import json, cxchange\ndb = cxchange.connect({url!r})\n"
    proc = subprocess.run(
        [sys.executable, "-c", prelude + script], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.mark.slow
def test_python_api_matches_the_cli(cx: Cx, tmp_path: Path) -> None:
    files = write_world(tmp_path, date.today())
    cx.json("org", "import", str(files["units"]), "--people", str(files["people"]))
    mapping = dict(pair.split("=", 1) for pair in SURVEY_MAP[1::2])
    imported = _library(
        cx.url,
        f"print(json.dumps(cxchange.import_file(db, {str(files['feedback'])!r}, source='store-survey', "
        f"map={mapping!r})))",
    )
    assert imported["imported"] == 1200 and imported["rejected"] == 0  # type: ignore[index]

    by = ["month", "org:1"]
    cli_scores = cx.json("scores", "--metric", "nps", *(a for b in by for a in ("--by", b)))
    lib_scores = _library(
        cx.url, f"print(json.dumps(cxchange.scores(db, metric='nps', by={by!r}), default=str))"
    )
    assert lib_scores == json.loads(json.dumps(cli_scores, default=str))

    cx.json("themes", "import", "--builtin", "cx_default")
    analysed = _library(cx.url, "print(json.dumps(cxchange.analyze(db), default=str))")
    assert isinstance(analysed, dict) and analysed, analysed
    tagged = cx.json("feedback", "--theme", "Waiting time", "--limit", "5")
    assert tagged  # what the library analysed, the CLI reads

    cli_drivers = cx.json("drivers", "--target", "nps", "--from", "themes", "--boot", "50")
    lib_drivers = _library(
        cx.url, "print(json.dumps(cxchange.drivers(db, target='nps', source='themes', boot=50)))"
    )
    assert isinstance(lib_drivers, dict)
    lib_drivers.pop("notes")
    assert lib_drivers == cli_drivers

    cli_sim = cx.json("simulate", "--fix", "Waiting time", "--draws", "200")
    lib_sim = _library(
        cx.url, "print(json.dumps(cxchange.simulate(db, fix=['Waiting time'], draws=200), default=str))"
    )
    assert lib_sim == cli_sim

    start = initiative_start(date.today()).isoformat()
    cx.json(
        "initiative", "create", "--name", "Queue busting", "--framework", "kotter", "--units", "N,S",
        "--sponsor", "ada@acme.test", "--owner", "ben@acme.test",
        "--pilot-units", "N", "--control-units", "S", "--start", start,
    )  # fmt: skip
    cli_out = cx.json("outcomes", "Queue busting", "--before", "180d", "--after", "150d")
    lib_out = _library(
        cx.url,
        "print(json.dumps(cxchange.outcomes(db, 'Queue busting', before='180d', after='150d'), default=str))",
    )
    assert lib_out == json.loads(json.dumps(cli_out, default=str))


def test_python_api_errors_are_cxerror(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    script = (
        "try:\n    cxchange.scores(db)\nexcept cxchange.CxError as exc:\n"
        "    print(json.dumps({'error': str(exc)}))\n"
    )
    out = _library(url, script)
    assert isinstance(out, dict) and "no" in out["error"].lower()
    with pytest.raises(AttributeError):
        import cxchange

        cxchange.not_a_function  # noqa: B018
