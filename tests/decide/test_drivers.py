"""Driver tables, quadrants and the `drivers` command (file mode and stored feedback)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from cxchange.core.errors import CxError, InputError
from cxchange.decide.cli import register
from cxchange.decide.drivers import (
    DRIVER_KEYS,
    EXACT_LIMIT,
    driver_table,
    expand_categories,
    quadrant,
    sign_notes,
)
from cxchange.decide.importance import relative_weights, shapley

DATA = Path(__file__).parent / "data"
SWISS_X = ["Agriculture", "Examination", "Education", "Catholic", "Infant.Mortality"]
MTCARS_X = ["cyl", "disp", "hp", "gear"]
TOP_KEYS = {"target", "method", "n", "r2", "drivers"}


@pytest.fixture(scope="module")
def swiss() -> pl.DataFrame:
    return pl.read_csv(DATA / "swiss.csv")


@pytest.fixture(scope="module")
def mtcars() -> pl.DataFrame:
    return pl.read_csv(DATA / "mtcars.csv")


def test_shapley_table_shape_order_and_numbers(swiss: pl.DataFrame) -> None:
    table = driver_table(swiss, "Fertility", SWISS_X, n_boot=100, seed=1)
    assert set(table) == TOP_KEYS
    assert (table["target"], table["method"], table["n"]) == ("Fertility", "shapley", 47)
    assert all(tuple(d) == DRIVER_KEYS for d in table["drivers"])
    importances = [d["importance"] for d in table["drivers"]]
    assert importances == sorted(importances, reverse=True)
    assert [d["driver"] for d in table["drivers"]][:2] == ["Education", "Examination"]
    exact = shapley(swiss.select(SWISS_X).to_numpy(), swiss["Fertility"].to_numpy(), names=SWISS_X)
    by_name = {d["driver"]: d for d in table["drivers"]}
    for j, name in enumerate(SWISS_X):
        assert by_name[name]["importance"] == pytest.approx(exact.lmg[j], abs=1e-15)
        assert by_name[name]["performance"] == pytest.approx(swiss[name].mean())
        assert by_name[name]["ci_low"] <= by_name[name]["importance"] <= by_name[name]["ci_high"]
    assert table["r2"] == pytest.approx(0.7067350, abs=5e-8)
    assert sum(d["share_pct"] for d in table["drivers"]) == pytest.approx(100.0)
    # the signs of lm(Fertility ~ ., swiss)
    assert {n: by_name[n]["direction"] for n in SWISS_X} == {
        "Agriculture": "-",
        "Examination": "-",
        "Education": "-",
        "Catholic": "+",
        "Infant.Mortality": "+",
    }
    json.dumps(table)  # plain JSON types only


def test_relative_weights_table(mtcars: pl.DataFrame) -> None:
    table = driver_table(mtcars, "mpg", MTCARS_X, method="relative-weights", n_boot=0)
    assert table["method"] == "relative-weights" and table["r2"] == pytest.approx(0.7791896, abs=5e-8)
    assert [d["driver"] for d in table["drivers"]] == ["hp", "cyl", "disp", "gear"]
    raw = relative_weights(mtcars.select(MTCARS_X).to_numpy(), mtcars["mpg"].to_numpy()).raw
    assert [round(d["importance"], 7) for d in table["drivers"]] == [
        round(raw[2], 7),
        round(raw[0], 7),
        round(raw[1], 7),
        round(raw[3], 7),
    ]
    assert [round(d["share_pct"], 5) for d in table["drivers"]] == [29.79691, 29.32274, 28.50999, 12.37037]
    assert [d["direction"] for d in table["drivers"]] == ["-", "-", "-", "+"]
    assert all(d["ci_low"] is None and d["ci_high"] is None for d in table["drivers"])


def test_theme_flags_booleans_text_and_missing_values() -> None:
    rng = np.random.default_rng(7)
    n = 400
    slow = rng.random(n) < 0.3
    rude = rng.random(n) < 0.15
    price = rng.random(n) < 0.4
    nps = 8 - 3 * slow - 4 * rude - 1 * price + rng.normal(size=n)
    frame = pl.DataFrame(
        {
            "nps": nps,
            "slow": slow.astype(int),  # 0/1
            "rude": rude,  # boolean
            "price": np.where(price, "yes", "no"),  # text flags
        }
    ).with_columns(pl.when(pl.int_range(pl.len()) < 10).then(None).otherwise(pl.col("slow")).alias("slow"))
    table = driver_table(frame, "nps", ["slow", "rude", "price"], n_boot=50)
    assert table["n"] == n - 10
    assert table["drivers"][0]["driver"] == "slow"
    assert all(d["direction"] == "-" for d in table["drivers"])
    share = {d["driver"]: d["performance"] for d in table["drivers"]}
    assert share["rude"] == pytest.approx(rude[10:].mean())
    given = driver_table(
        frame,
        "nps",
        ["slow", "rude", "price"],
        n_boot=0,
        performance={"slow": 0.1, "rude": 0.2, "price": 0.3},
    )
    assert {d["driver"]: d["performance"] for d in given["drivers"]} == {
        "slow": 0.1,
        "rude": 0.2,
        "price": 0.3,
    }


def test_more_predictors_than_exact_switches_to_sampled() -> None:
    rng = np.random.default_rng(2)
    p = EXACT_LIMIT + 2
    x = rng.normal(size=(300, p))
    frame = pl.DataFrame({f"x{j}": x[:, j] for j in range(p)}).with_columns(
        y=pl.lit(x @ np.linspace(0, 1, p) + rng.normal(size=300))
    )
    table = driver_table(frame, "y", [f"x{j}" for j in range(p)], n_boot=5)
    assert len(table["drivers"]) == p
    assert sum(d["importance"] for d in table["drivers"]) == pytest.approx(table["r2"], abs=1e-12)
    assert table["drivers"][0]["driver"] in {f"x{j}" for j in range(p - 4, p)}


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"predictors": ["Agriculture", "Nope"]}, "'Nope'"),
        ({"predictors": ["rownames", "Agriculture"]}, "'rownames' is not numeric"),
        ({"predictors": ["Fertility", "Agriculture"]}, "also listed"),
        ({"predictors": []}, "no predictors"),
        ({"predictors": ["Agriculture", "Agriculture"]}, "twice"),
        ({"predictors": SWISS_X, "method": "ridge"}, "unknown method"),
        ({"predictors": SWISS_X, "performance": {"Agriculture": 1.0}}, "performance is missing"),
        ({"predictors": ["Agriculture", "Agri2"]}, "collinear"),
    ],
)
def test_driver_table_errors(swiss: pl.DataFrame, kwargs: dict, needle: str) -> None:  # type: ignore[type-arg]
    frame = swiss.with_columns(Agri2=pl.col("Agriculture") * 2 + 1)
    predictors = kwargs.pop("predictors")
    with pytest.raises(InputError, match=None) as err:
        driver_table(frame, "Fertility", predictors, n_boot=0, **kwargs)
    assert needle in str(err.value)


def test_quadrant_labels() -> None:
    table = {
        "drivers": [
            {"driver": "a", "importance": 0.4, "share_pct": 40.0, "performance": 2.0},
            {"driver": "b", "importance": 0.3, "share_pct": 30.0, "performance": 4.0},
            {"driver": "c", "importance": 0.2, "share_pct": 20.0, "performance": 1.0},
            {"driver": "d", "importance": 0.1, "share_pct": 10.0, "performance": 5.0},
        ]
    }
    rows = quadrant(table)
    assert [(r["driver"], r["quadrant"]) for r in rows] == [
        ("a", "fix first"),
        ("b", "keep up"),
        ("c", "monitor"),
        ("d", "maintain"),
    ]
    assert set(rows[0]) == {"driver", "importance", "share_pct", "performance", "quadrant"}
    assert quadrant({"drivers": []}) == []


# ------------------------------------------------------------------------------------------------
# The command


def _app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)

    @app.callback()
    def _root() -> None:  # a group, as in cxchange.cli, so the command is invoked by name
        pass

    register(app)
    return app


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner(env={"COLUMNS": "160"}).invoke(_app(), ["drivers", *args])


def test_cli_json_csv_and_table(tmp_path: Path) -> None:
    swiss_csv = str(DATA / "swiss.csv")
    out = run("--file", swiss_csv, "--target", "Fertility", "--boot", "50", "--format", "json")
    assert out.exit_code == 0, out.output
    table = json.loads(out.stdout)
    assert set(table) == TOP_KEYS and all(tuple(d) == DRIVER_KEYS for d in table["drivers"])
    # default predictors: every other numeric column (the text column `rownames` is left out)
    assert sorted(d["driver"] for d in table["drivers"]) == sorted(SWISS_X)
    assert [d["importance"] for d in table["drivers"]] == sorted(
        (d["importance"] for d in table["drivers"]), reverse=True
    )

    out = run(
        "--file",
        swiss_csv,
        "--target",
        "Fertility",
        "--predictors",
        "Education,Catholic",
        "--quadrant",
        "--format",
        "json",
        "--boot",
        "0",
    )
    drivers = json.loads(out.stdout)["drivers"]
    assert [d["driver"] for d in drivers] == ["Education", "Catholic"]
    assert [d["quadrant"] for d in drivers] == ["fix first", "maintain"]

    mt = str(DATA / "mtcars.csv")
    out = run(
        "--file",
        mt,
        "--target",
        "mpg",
        "--predictors",
        "cyl,disp,hp,gear",
        "--method",
        "relative-weights",
        "--format",
        "csv",
        "--boot",
        "20",
    )
    lines = out.stdout.splitlines()
    assert lines[0] == "driver,importance,share_pct,ci_low,ci_high,direction,performance,correlation"
    assert lines[1].startswith("hp,0.2321744") and lines[1].split(",")[5] == "-"
    assert lines[4].startswith("gear,") and lines[4].split(",")[5] == "+"

    out = run("--file", swiss_csv, "--target", "Fertility", "--boot", "20", "--quadrant")
    assert out.exit_code == 0 and "Education" in out.stdout and "fix first" in out.stdout


def test_cli_reads_other_formats(tmp_path: Path, mtcars: pl.DataFrame) -> None:
    frame = mtcars.select("mpg", *MTCARS_X)
    frame.write_parquet(tmp_path / "m.parquet")
    frame.write_ndjson(tmp_path / "m.jsonl")
    frame.write_csv(tmp_path / "m.tsv", separator="\t")
    frame.write_excel(tmp_path / "m.xlsx")
    # Quoted empty cells and NA are missing values, not text.
    rows = [[str(v) for v in r] for r in frame.iter_rows()]
    rows[0][0], rows[1][3] = "", "NA"
    lines = [",".join(f'"{c}"' for c in [*frame.columns]), *(",".join(f'"{c}"' for c in r) for r in rows)]
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    results = {}
    for name in ("m.parquet", "m.jsonl", "m.tsv", "m.xlsx", "m.csv"):
        out = run(
            "--file",
            str(tmp_path / name),
            "--target",
            "mpg",
            "--method",
            "relative-weights",
            "--boot",
            "0",
            "--format",
            "json",
        )
        assert out.exit_code == 0, (name, out.output)
        results[name] = json.loads(out.stdout)
    assert {r["n"] for n, r in results.items() if n != "m.csv"} == {32} and results["m.csv"]["n"] == 30
    assert results["m.xlsx"]["r2"] == pytest.approx(0.7791896, abs=5e-8)


def test_default_predictors_read_text_of_numbers_and_yes_no_and_name_what_is_left_out(tmp_path: Path) -> None:
    """The IBM telco shape: a charges column with a cell of one space (text by type), Yes/No columns,
    an id and a category. By type the default kept only the typed numbers and dropped the rest unsaid;
    now every column of numbers or yes/no is a predictor (a blank cell missing) and the rest is named."""
    rng = np.random.default_rng(3)
    n = 120
    tenure = rng.integers(1, 72, n)
    partner = rng.choice(["Yes", "No"], n)
    charges = [f"{t * rng.uniform(20, 90):.2f}" for t in tenure]
    charges[5] = " "
    churn = np.where((tenure < 20) ^ (rng.random(n) < 0.2), "Yes", "No")
    lines = ["customerID,Partner,tenure,TotalCharges,Contract,Churn"] + [
        f"c{i},{partner[i]},{tenure[i]},{charges[i]},{rng.choice(['Monthly', 'Two year'])},{churn[i]}"
        for i in range(n)
    ]
    path = tmp_path / "telco.csv"
    path.write_text("\n".join(lines) + "\n")
    out = run("--file", str(path), "--target", "Churn", "--boot", "0", "--format", "json")
    assert out.exit_code == 0, out.output
    table = json.loads(out.stdout)
    assert sorted(d["driver"] for d in table["drivers"]) == ["Partner", "TotalCharges", "tenure"]
    assert table["n"] == n - 1  # the blank charge: missing, its row left out
    assert "left out, not numbers or yes/no: customerID, Contract (name them in --predictors" in out.stderr
    # Which column was blank, not only how many rows went (the tour of Skytrax's five sub-ratings).
    assert "1 row(s) missing the target or a predictor were left out (blank: TotalCharges 1)" in out.stderr
    named = run("--file", str(path), "--target", "Churn", "--predictors", "tenure,Contract", "--boot", "0",
                "--format", "json")  # fmt: skip
    assert named.exit_code == 0, named.output
    flags = {d["driver"]: d for d in json.loads(named.stdout)["drivers"]}
    reference = "Monthly" if sum(1 for line in lines if ",Monthly," in line) >= n / 2 else "Two year"
    other = "Two year" if reference == "Monthly" else "Monthly"
    assert sorted(flags) == sorted(["tenure", f"Contract={other}"])
    assert f"each but {reference!r} (the most common, the reference)" in named.stderr
    ids = run("--file", str(path), "--target", "Churn", "--predictors", "customerID", "--boot", "0")
    assert ids.exit_code == 1 and "more than 12 to compare as categories" in str(ids.exception)


def test_a_sign_that_only_holds_with_the_others_fixed_is_said(swiss: pl.DataFrame) -> None:
    """The telco file's Partner read "+" for churn (the sign of its coefficient beside tenure and the
    charges) while customers with a partner churn less (r −0.15): each driver carries its correlation
    alone, and a note names those whose two signs disagree."""
    table = driver_table(swiss, "Fertility", SWISS_X, n_boot=0)
    r = {c: float(np.corrcoef(swiss[c].to_numpy(), swiss["Fertility"].to_numpy())[0, 1]) for c in SWISS_X}
    assert {d["driver"]: d["correlation"] for d in table["drivers"]} == pytest.approx(r)
    rng = np.random.default_rng(11)
    tenure = rng.normal(size=500)
    partner = tenure + rng.normal(scale=0.5, size=500)  # goes with tenure, adds a little of its own
    churn = -tenure + 0.2 * partner + rng.normal(scale=0.5, size=500)
    frame = pl.DataFrame({"tenure": tenure, "partner": partner, "churn": churn})
    mixed = driver_table(frame, "churn", ["tenure", "partner"], n_boot=0)
    signs = {d["driver"]: (d["direction"], d["correlation"] < 0) for d in mixed["drivers"]}
    assert signs == {"tenure": ("-", True), "partner": ("+", True)}
    (note,) = sign_notes(mixed)
    assert "disagree for partner (+, r -" in note and "tenure" not in note
    assert sign_notes(driver_table(frame, "churn", ["tenure"], n_boot=0)) == []


def test_categories_become_flags_against_the_most_common_value() -> None:
    """The telco file's contract types: `expand_categories` codes them as a regression would (one 0/1
    flag per value but the reference), and Shapley over the flags is relaimpo's on the same dummies."""
    rng = np.random.default_rng(7)
    n = 400
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.2, 0.25])
    tenure = rng.integers(1, 72, n).astype(float)
    churn = (rng.random(n) < np.where(contract == "Month-to-month", 0.45, 0.1)).astype(float)
    frame = pl.DataFrame({"tenure": tenure, "Contract": contract, "Churn": churn})
    frame = frame.with_columns(
        pl.when(pl.int_range(n) == 3).then(pl.lit(" ")).otherwise(pl.col("Contract")).alias("Contract")
    )
    expanded, predictors, notes = expand_categories(frame, ["tenure", "Contract"])
    assert predictors == ["tenure", "Contract=One year", "Contract=Two year"]
    assert len(notes) == 1 and "'Month-to-month' (the most common, the reference)" in notes[0]
    flag = expanded["Contract=Two year"].to_numpy()
    assert np.isnan(flag[3])  # a blank category is missing, not "not two year"
    keep = np.arange(n) != 3
    assert np.array_equal(flag[keep], (contract[keep] == "Two year").astype(float))
    table = driver_table(expanded, "Churn", predictors, n_boot=0)
    dummies = np.column_stack([tenure, contract == "One year", contract == "Two year"]).astype(float)[keep]
    exact = shapley(dummies, churn[keep], names=["tenure", "Contract=One year", "Contract=Two year"])
    got = {d["driver"]: d["importance"] for d in table["drivers"]}
    assert got == pytest.approx(dict(zip(exact.names, exact.lmg.tolist(), strict=True)))
    assert {d["driver"]: d["direction"] for d in table["drivers"]}["Contract=Two year"] == "-"
    ratings = pl.DataFrame({"stars": ["1", "2", "n/a", "4", "5"] * 4})
    with pytest.raises(InputError, match=r"not numeric \(e.g. 'n/a'"):
        expand_categories(ratings, ["stars"])  # a stray word among numbers is no category
    unchanged, same, none = expand_categories(frame, ["tenure"])
    assert unchanged is frame and same == ["tenure"] and none == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--file", "{data}/swiss.csv", "--target", "Fertility", "--predictors", "rownames"], "not numeric"),
        (["--file", "{data}/swiss.csv", "--target", "Nope"], "'Nope'"),
        (["--file", "{tmp}/missing.csv", "--target", "y"], "no such file"),
        (["--file", "{tmp}/data.xyz", "--target", "y"], "unknown format"),
        (["--file", "{data}/swiss.csv", "--target", "Fertility", "--method", "ridge"], "unknown method"),
        (["--file", "{data}/swiss.csv", "--target", "Fertility", "--format", "xml"], "--format"),
        (["--file", "{data}/swiss.csv", "--target", "Fertility", "--boot", "-1"], "negative"),
        (["--file", "{data}/swiss.csv", "--target", "Fertility", "--from", "attrs:a"], "either"),
        (["--file", "{data}/swiss.csv", "--target", "Fertility", "--where", "a=b"], "filter the file"),
        (["--file", "{tmp}/few.csv", "--target", "y"], "too few complete rows"),
        (["--target", "nps", "--from", "themes"], "analyze"),
        (["--target", "nps", "--from", "colours:a"], "unknown --from"),
        (["--target", "nps"], "--file"),
        (["--target", "score", "--from", "attrs:a"], "unknown --target"),
    ],
)
def test_cli_bad_input_exit_1(args: list[str], needle: str, tmp_path: Path) -> None:
    (tmp_path / "data.xyz").write_text("a,b\n1,2\n")
    (tmp_path / "few.csv").write_text("y,a,b\n1,2,3\n2,3,1\n3,1,1\n")
    args = [a.replace("{tmp}", str(tmp_path)).replace("{data}", str(DATA)) for a in args]
    out = CliRunner().invoke(_app(), ["drivers", *args, "--db", f"sqlite:///{tmp_path / 'cx.db'}"])
    assert out.exit_code == 1
    assert isinstance(out.exception, CxError), out.exception
    assert needle in str(out.exception)
    assert "\n" not in str(out.exception)  # cxchange.cli.main prints it as one line


# ------------------------------------------------------------------------------------------------
# Stored feedback: --from attrs:A,B,C


def _load_store(engine: Engine) -> None:
    from cxchange.listen.service import ImportOptions, import_frame

    rng = np.random.default_rng(3)
    n = 120
    speed = rng.integers(1, 6, n)
    price = rng.integers(1, 6, n)
    staff = rng.integers(1, 6, n)
    nps = np.clip(np.round(speed * 1.2 + price * 0.3 + rng.normal(scale=1.2, size=n)), 0, 10).astype(int)
    frame = pl.DataFrame(
        {
            "id": [str(i) for i in range(n)],
            "nps": [str(v) for v in nps],
            "region": ["North" if i % 3 else "South" for i in range(n)],
            "speed": [str(v) for v in speed],
            "price": [str(v) for v in price],
            "staff": [None if i == 0 else str(v) for i, v in enumerate(staff)],
            "tier": ["gold"] * n,
        }
    )
    import_frame(engine, frame, ImportOptions(source="survey", map_options=("external_id=id", "nps=nps")))


def test_cli_from_stored_attributes(engine: Engine, db_url: str) -> None:
    _load_store(engine)
    out = run(
        "--db",
        db_url,
        "--target",
        "nps",
        "--from",
        "attrs:speed,price,staff",
        "--format",
        "json",
        "--boot",
        "30",
    )
    assert out.exit_code == 0, out.output
    table = json.loads(out.stdout)
    assert table["n"] == 119 and table["drivers"][0]["driver"] == "speed"
    assert table["drivers"][0]["direction"] == "+"
    north = run(
        "--db",
        db_url,
        "--target",
        "nps",
        "--from",
        "attrs:speed,price",
        "--where",
        "region=North",
        "--format",
        "json",
    )
    assert json.loads(north.stdout)["n"] == 80
    # an attribute as the target
    rev = run(
        "--db",
        db_url,
        "--target",
        "attr:speed",
        "--from",
        "attrs:price,staff",
        "--format",
        "json",
        "--boot",
        "0",
    )
    assert rev.exit_code == 0, rev.output
    assert json.loads(rev.stdout)["target"] == "attr:speed"
    bad = run("--db", db_url, "--target", "nps", "--from", "attrs:speed,tier")
    assert bad.exit_code == 1 and "'tier' holds one category" in str(bad.exception)  # every row: gold
    absent = run("--db", db_url, "--target", "nps", "--from", "attrs:speed,colour")
    assert absent.exit_code == 1 and "'colour' not present" in str(absent.exception)
    none = run("--db", db_url, "--target", "csat", "--from", "attrs:speed,price")
    assert none.exit_code == 1 and "no stored feedback" in str(none.exception)


def test_a_model_that_explains_nothing_shares_nothing() -> None:
    """Predictors uncorrelated with the target to the last digit give R² = 0, and every share was
    0/0 = NaN: the CLI printed "nan" and PostgreSQL refused the Decide snapshot's JSON."""
    frame = pl.DataFrame({"y": [1.0, 2, 1, 2, 1, 2, 1, 2], "a": [0.0, 0, 1, 1, 0, 0, 1, 1]})
    table = driver_table(frame, "y", ["a"], n_boot=0)
    assert table["r2"] == 0.0
    assert [d["share_pct"] for d in table["drivers"]] == [0.0]
    json.dumps(table, allow_nan=False)  # what a JSON column takes


def test_a_sign_disagreement_within_chance_is_not_a_note() -> None:
    """A predictor unrelated to the target has r and a coefficient near 0 whose signs disagree half the
    time: the note said of it that "what it does alone is mostly shared with the other drivers" in 19 of
    40 random draws. Only an r that differs from 0 (5 % level) can disagree with the coefficient."""
    noted = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        tenure, noise = rng.normal(size=300), rng.normal(size=300)
        frame = pl.DataFrame({"tenure": tenure, "noise": noise, "churn": -tenure + rng.normal(size=300)})
        noted += any(
            "noise" in note
            for note in sign_notes(driver_table(frame, "churn", ["tenure", "noise"], n_boot=0))
        )
    assert noted <= 2  # a 5 % test over 40 draws, and only when the signs also disagree


def test_a_category_column_of_one_value_says_so() -> None:
    """A named text column with one value everywhere is no driver; it was refused as "not numeric;
    drivers need numbers", as if categories were not compared at all."""
    frame = pl.DataFrame({"churn": [1.0, 0.0, 1.0, 0.0], "plan": ["basic", "basic", "", "basic"]})
    with pytest.raises(InputError, match=r"'plan' holds one category \('basic'\)"):
        expand_categories(frame, ["plan"])
