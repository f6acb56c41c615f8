"""The 'minilm-int8' theme embedder: MiniLM with static int8 quantisation, batch-independent.

Built by `make minilm-onnx` beside the float32 file; tests that need the files are skipped, with the
reason, where they are not built.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from cxchange.core.errors import InputError
from cxchange.understand.themes import embedders
from cxchange.understand.themes.minilm_onnx import (
    CALIBRATION,
    MINILM_ONNX,
    OnnxMiniLMEmbedder,
    int8_path,
    main,
    quantize,
)

INT8 = int8_path(MINILM_ONNX)
built = pytest.mark.skipif(
    not (MINILM_ONNX.is_file() and INT8.is_file()), reason="MiniLM ONNX files not built (make minilm-onnx)"
)

# Mixed lengths: one word to past MAX_TOKENS, so the batches the embedder makes are padded.
TEXTS = [
    "refund",
    "my card has not arrived yet",
    "when will my new card be delivered to my home address",
    "I was charged twice for the same purchase and nobody answers the phone",
    "the app will not let me log in",
    "pin",
    "The dress fits well but the fabric is thinner than it looks in the photos. " * 4,
    "card " * 300,
    "",
    "Why is there a fee on my transfer?",
]


@pytest.fixture(autouse=True)
def real_model_file(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """tests/conftest.py points the suite away from the built file; these tests use it."""
    monkeypatch.delenv("CXCHANGE_MINILM_ONNX", raising=False)
    yield


def batch_gap(emb: OnnxMiniLMEmbedder) -> float:
    """Largest difference between a text's row embedded alone and inside batches of other make-ups."""
    alone = np.vstack([emb.embed([t]) for t in TEXTS])
    gap = 0.0
    for batch in (TEXTS, TEXTS[::-1], TEXTS * 3, [TEXTS[1], TEXTS[7], TEXTS[1]]):
        rows = emb.embed(batch)
        ref = np.vstack([alone[TEXTS.index(t)] for t in batch])
        gap = max(gap, float(np.abs(rows - ref).max()))
    return gap


def test_int8_file_sits_beside_the_float32_file(tmp_path: Path) -> None:
    assert int8_path(tmp_path / "minilm_l6.onnx") == tmp_path / "minilm_l6_int8.onnx"


def test_missing_int8_file_names_it_and_how_to_build(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    with pytest.raises(InputError, match=r"minilm-int8.*nope_int8\.onnx.*minilm_onnx build"):
        OnnxMiniLMEmbedder(tmp_path / "nope_int8.onnx", name="minilm-int8").embed(["x"])


def test_quantize_without_a_float32_file_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("onnxruntime")
    assert main(["quantize", str(tmp_path / "absent.onnx")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "absent.onnx" in err and "minilm_onnx build" in err


def test_calibration_texts_are_committed_and_varied() -> None:
    lines = [x for x in CALIBRATION.read_text(encoding="utf-8").splitlines() if x.strip()]
    words = [len(x.split()) for x in lines]
    assert len(lines) >= 200 and min(words) <= 5 and max(words) >= 100


@built
def test_int8_rows_do_not_depend_on_their_batch() -> None:
    assert batch_gap(OnnxMiniLMEmbedder(name="minilm-int8")) <= 1e-6


@built
def test_the_batch_check_fails_for_dynamic_quantisation(tmp_path: Path) -> None:
    """The same check on onnxruntime's dynamic int8 (one activation scale per batch) fails: the test
    above can fail."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    dynamic = tmp_path / "dynamic.onnx"
    quantize_dynamic(str(MINILM_ONNX), str(dynamic), weight_type=QuantType.QInt8, per_channel=True)
    shutil.copy(MINILM_ONNX.with_suffix(".tokenizer.json"), dynamic.with_suffix(".tokenizer.json"))
    assert batch_gap(OnnxMiniLMEmbedder(dynamic)) > 1e-3


@built
def test_int8_agrees_with_float32_and_keeps_requests_apart() -> None:
    f32 = embedders.get_embedder("minilm-onnx").embed(TEXTS)  # type: ignore[union-attr]
    int8 = embedders.get_embedder("minilm-int8").embed(TEXTS)  # type: ignore[union-attr]
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    assert (f32 * int8).sum(1).min() > 0.95
    assert int8[1] @ int8[2] > int8[1] @ int8[4] + 0.2  # card delivery vs app login


@built
def test_quantize_writes_a_copy_from_a_float32_file_elsewhere(tmp_path: Path) -> None:
    """``quantize`` of a given float32 file writes the int8 file, its tokenizer and meta beside it; the
    same inputs give the same file (calibration is fixed)."""
    src = tmp_path / "m.onnx"
    shutil.copy(MINILM_ONNX, src)
    shutil.copy(MINILM_ONNX.with_suffix(".tokenizer.json"), src.with_suffix(".tokenizer.json"))
    out = quantize(src)
    assert out == tmp_path / "m_int8.onnx" and out.with_suffix(".tokenizer.json").is_file()
    assert out.read_bytes() == INT8.read_bytes()


@built
@pytest.mark.parametrize("int8_first", [True, False])
def test_adaptive_takes_int8_for_short_texts_only_when_chosen_and_built(
    int8_first: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    short = ["my card has not arrived", "charged twice", "app crashes on login"] * 5
    monkeypatch.setattr(embedders, "SHORT_PREFERS_INT8", int8_first)
    assert embedders.adaptive_choice(short) == ("minilm-int8" if int8_first else "minilm-onnx")
    assert embedders.adaptive_choice(["a long review " * 30] * 5) == "tfidf"


@built
def test_without_the_int8_file_adaptive_keeps_float32(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    only_f32 = tmp_path / "minilm_l6.onnx"
    only_f32.symlink_to(MINILM_ONNX)
    only_f32.with_suffix(".tokenizer.json").symlink_to(MINILM_ONNX.with_suffix(".tokenizer.json"))
    monkeypatch.setenv("CXCHANGE_MINILM_ONNX", str(only_f32))
    monkeypatch.setattr(embedders, "SHORT_PREFERS_INT8", True)
    assert embedders.adaptive_choice(["charged twice"] * 5) == "minilm-onnx"


@built
def test_saved_matcher_names_int8_and_assigns_as_discovery_grouped() -> None:
    """A taxonomy found with minilm-int8 stores that name, so `analyze` embeds with the same file."""
    from cxchange.understand.themes import discover_themes
    from cxchange.understand.themes.relevance import ThemeModel

    texts = ["my card has not arrived", "I was charged twice", "the app keeps crashing"] * 30
    found = discover_themes(texts, embedder="minilm-int8", seed=0, with_model=True)
    assert found.model is not None
    model = ThemeModel.from_bytes(found.model.to_bytes())
    first = [int(model.classes[a[0][0]]) if a else -1 for a in model.assign(texts)]
    assert model.embedder == "minilm-int8" and first == found.labels.tolist()
