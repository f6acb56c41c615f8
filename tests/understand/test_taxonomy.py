from __future__ import annotations

import pytest
import yaml
from sqlalchemy import Engine

from cxchange.core.errors import InputError, NotFoundError
from cxchange.understand.themes import taxonomy as tx


def _names(engine: Engine) -> list[str]:
    return [r["path"] for r in tx.theme_rows(engine)]


def test_add_rename_split_merge_delete_with_versions(engine: Engine) -> None:
    a = tx.add_theme(engine, "Staff", keywords=["staff", "agent"])
    tx.add_theme(engine, "Friendliness", keywords=["friendly", "rude"], parent="Staff")
    tx.add_theme(engine, "Queue", keywords=["queue"], examples=["waited for ages"])
    assert _names(engine) == ["Staff", "Staff > Friendliness", "Queue"]
    v = tx.rename_theme(engine, "queue", "Waiting time")["taxonomy_version"]
    assert v > a["taxonomy_version"]
    tx.add_terms(engine, "Waiting time", keywords=["on hold", "queue"])
    row = next(r for r in tx.theme_rows(engine) if r["name"] == "Waiting time")
    assert row["keywords"] == ["queue", "on hold"] and not row["up_to_date"]
    tx.split_theme(engine, "Waiting time", "Phone hold", ["on hold"])
    assert "Waiting time > Phone hold" in _names(engine)
    tx.merge_themes(engine, ["Phone hold"], into="Waiting time")
    assert "Waiting time > Phone hold" not in _names(engine)
    tx.delete_theme(engine, "Staff")
    assert _names(engine) == ["Friendliness", "Waiting time"]  # the child moved up
    assert tx.taxonomy_version(engine) >= 7


def test_clear_errors(engine: Engine) -> None:
    tx.add_theme(engine, "Staff", keywords=["staff"])
    with pytest.raises(InputError, match="already exists"):
        tx.add_theme(engine, "staff", keywords=["x"])
    with pytest.raises(InputError, match="keyword"):
        tx.add_theme(engine, "Empty")
    with pytest.raises(NotFoundError):
        tx.rename_theme(engine, "nope", "x")
    with pytest.raises(InputError, match="itself"):
        tx.merge_themes(engine, ["Staff"], into="Staff")
    with pytest.raises(InputError, match="no keyword"):
        tx.split_theme(engine, "Staff", "New", ["absent"])


def test_yaml_round_trip_and_replace(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tx.add_theme(engine, "Staff", keywords=["staff"], effort=2)
    tx.add_theme(engine, "Friendliness", keywords=["rude"], parent="Staff")
    text = tx.export_yaml(engine)
    doc = yaml.safe_load(text)
    assert doc["themes"][0]["children"][0]["name"] == "Friendliness"
    doc["themes"].append({"name": "Price", "keywords": ["price", "expensive"]})
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(doc))
    counts = tx.import_yaml(engine, path)
    assert counts["added"] == 1 and counts["unchanged"] == 2
    path.write_text(yaml.safe_dump({"themes": [{"name": "Price", "keywords": ["price"]}]}))
    counts = tx.import_yaml(engine, path, replace=True)
    assert counts["deleted"] == 2 and _names(engine) == ["Price"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("themes: [", "not valid YAML"),
        ("- a", "expected a mapping"),
        ("themes:\n  - keywords: [a]", r"themes\[0\]\.name"),
        ("themes:\n  - name: A\n    keywords: nope", r"themes\[0\]\.keywords"),
        (
            "themes:\n  - name: A\n    keywords: [a]\n    children:\n      - name: B",
            r"themes\[0\]\.children\[0\]",
        ),
        ("themes:\n  - name: A\n    keywords: [a]\n    effort: 9", "effort"),
    ],
)
def test_malformed_yaml_names_file_and_key(text: str, message: str, sqlite_engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as err:
        tx.import_yaml(sqlite_engine, path)
    assert "bad.yaml" in str(err.value)


def test_ancestor_levels_walk_up_and_stop_at_a_cycle() -> None:
    from cxchange.understand.themes.taxonomy import ancestor_levels

    tree = {
        1: {"parent_id": None},
        2: {"parent_id": 1},
        3: {"parent_id": 2},
        4: {"parent_id": 5},
        5: {"parent_id": 4},
    }
    assert ancestor_levels(tree) == [{}, {2: 1, 3: 2, 4: 5, 5: 4}, {3: 1}]
