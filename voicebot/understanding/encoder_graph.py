"""The MiniLM sentence encoder as an ONNX graph, built from its safetensors weights.

The packaged model ships weights for PyTorch; building the BERT graph ourselves lets ONNX
Runtime (already a dependency of the speech models) run it without installing PyTorch.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

_DTYPES = {"F32": np.float32, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a .safetensors file (8-byte header length, JSON header, raw data)."""
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + header_len])
    start = 8 + header_len
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        begin, end = spec["data_offsets"]
        tensors[name.removeprefix("bert.")] = np.frombuffer(
            raw[start + begin:start + end], dtype=_DTYPES[spec["dtype"]]).reshape(spec["shape"])
    return tensors


class _GraphBuilder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.weights: list[onnx.TensorProto] = []

    def const(self, name: str, value: np.ndarray | np.int64 | float | list[int]) -> str:
        array = np.asarray(value, dtype=np.int64 if isinstance(value, list) else None)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        self.weights.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        out = f"n{len(self.nodes)}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out


def build_bert_encoder(weights: dict[str, np.ndarray], config: dict[str, int], out: Path) -> None:
    """Write a graph: input_ids, attention_mask (batch x tokens) -> mean-pooled embedding."""
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    g = _GraphBuilder()

    def w(name: str, transpose: bool = False) -> str:
        value = weights[name]
        return g.const(name, value.T.copy() if transpose else value)

    def linear(x: str, prefix: str) -> str:
        return g.op("Add", g.op("MatMul", x, w(prefix + ".weight", True)), w(prefix + ".bias"))

    def layer_norm(x: str, prefix: str) -> str:
        return g.op("LayerNormalization", x, w(prefix + ".weight"), w(prefix + ".bias"),
                    axis=-1, epsilon=1e-12)

    ids, mask = "input_ids", "attention_mask"
    positions = g.op("Range", g.const("zero", np.int64(0)),
                     g.op("Squeeze", g.op("Shape", ids, start=1, end=2), g.const("axis0", [0])),
                     g.const("step", np.int64(1)))
    x = g.op("Add", g.op("Gather", w("embeddings.word_embeddings.weight"), ids),
             g.op("Gather", w("embeddings.position_embeddings.weight"), positions))
    x = g.op("Add", x, g.const("token_type", weights["embeddings.token_type_embeddings.weight"][0]))
    x = layer_norm(x, "embeddings.LayerNorm")
    mask_f = g.op("Cast", mask, to=TensorProto.FLOAT)
    # Padding tokens get a large negative attention score, so batches of ragged sentences
    # encode exactly as each sentence alone.
    attention_bias = g.op("Unsqueeze", g.op("Mul", g.op("Sub", g.const("one", 1.0), mask_f),
                                            g.const("masked", -1e4)), g.const("axes12", [1, 2]))
    split = g.const("split_heads", [0, 0, heads, hidden // heads])
    join = g.const("join_heads", [0, 0, hidden])
    scale = g.const("scale", 1.0 / np.sqrt(hidden // heads))
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (g.op("Transpose", g.op("Reshape", linear(x, p + "attention.self." + n), split),
                        perm=perm)
                   for n, perm in (("query", [0, 2, 1, 3]), ("key", [0, 2, 3, 1]),
                                   ("value", [0, 2, 1, 3])))
        scores = g.op("Add", g.op("Mul", g.op("MatMul", q, k), scale), attention_bias)
        context = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
        context = g.op("Reshape", g.op("Transpose", context, perm=[0, 2, 1, 3]), join)
        x = layer_norm(g.op("Add", x, linear(context, p + "attention.output.dense")),
                       p + "attention.output.LayerNorm")
        inner = linear(x, p + "intermediate.dense")
        gelu = g.op("Mul", g.op("Mul", inner, g.const(f"half{i}", 0.5)),
                    g.op("Add", g.const(f"one{i}", 1.0),
                         g.op("Erf", g.op("Mul", inner, g.const(f"rsqrt2_{i}", 2 ** -0.5)))))
        x = layer_norm(g.op("Add", x, linear(gelu, p + "output.dense")), p + "output.LayerNorm")
    token_mask = g.op("Unsqueeze", mask_f, g.const("axis2", [2]))
    summed = g.op("ReduceSum", g.op("Mul", x, token_mask), g.const("axis1", [1]), keepdims=0)
    count = g.op("ReduceSum", token_mask, g.const("axis1b", [1]), keepdims=0)
    g.nodes.append(helper.make_node("Div", [summed, count], ["embedding"]))
    graph = helper.make_graph(
        g.nodes, "sentence_encoder",
        [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "tokens"])
         for n in (ids, mask)],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])],
        g.weights)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(out))
