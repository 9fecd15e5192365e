"""A small numpy executor of a TensorFlow.js graph model: the independent reference the
converted ONNX model (console.vision.tfjs_onnx, run by OpenCV's DNN) is checked against.

Written apart from the converter on purpose: it reads the graph JSON and the weights
itself and runs the graph as TensorFlow defines it (NHWC, "SAME" padding computed here,
depthwise convolutions channel by channel), so a mistake in the converter's transposes,
pads or op mapping shows up as a different descriptor. About 0.5 s a face on one core.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def load(graph_json: Path) -> tuple[dict, dict]:
    data = json.loads(Path(graph_json).read_text())
    weights = {}
    for group in data["weightsManifest"]:
        blob = b"".join((Path(graph_json).parent / p).read_bytes() for p in group["paths"])
        at = 0
        for spec in group["weights"]:
            n = int(np.prod(spec["shape"])) if spec["shape"] else 1
            if spec.get("quantization", {}).get("dtype") == "float16":
                dtype = np.dtype("<f2")
            else:
                dtype = np.dtype("<f4") if spec["dtype"] == "float32" else np.dtype("<i4")
            weights[spec["name"]] = np.frombuffer(blob[at : at + n * dtype.itemsize], dtype
                                                  ).astype(np.float64 if dtype.kind == "f"
                                                           else np.int64).reshape(spec["shape"])
            at += n * dtype.itemsize
    nodes = {n["name"]: n for n in data["modelTopology"]["node"]}
    return nodes, weights


def _pad_same(x: np.ndarray, k: int, s: int) -> np.ndarray:
    """TensorFlow's SAME padding of an NHWC tensor for a k x k window at stride s."""
    pads = []
    for size in x.shape[1:3]:
        out = (size + s - 1) // s
        total = max((out - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))


def _windows(x: np.ndarray, k: int, s: int) -> np.ndarray:
    """N, Ho, Wo, C, k, k views of the padded input."""
    return sliding_window_view(x, (k, k), axis=(1, 2))[:, ::s, ::s]


def _strides(node: dict) -> int:
    return int(node["attr"]["strides"]["list"]["i"][1])


def run(nodes: dict, weights: dict, image_nhwc: np.ndarray, output: str) -> np.ndarray:
    values: dict[str, np.ndarray] = {}

    def value(name: str) -> np.ndarray:
        name = name.split(":")[0]
        if name in values:
            return values[name]
        node = nodes[name]
        op = node["op"]
        args = node.get("input", [])
        if op == "Const":
            out = weights[name]
        elif op == "Placeholder":
            out = image_nhwc.astype(np.float64)
        elif op == "Conv2D":
            kernel = value(args[1])  # H W I O
            k, s = kernel.shape[0], _strides(node)
            win = _windows(_pad_same(value(args[0]), k, s), k, s)
            out = np.einsum("nhwcij,ijco->nhwo", win, kernel, optimize=True)
        elif op == "DepthwiseConv2dNative":
            kernel = value(args[1])[:, :, :, 0]  # H W C
            k, s = kernel.shape[0], _strides(node)
            win = _windows(_pad_same(value(args[0]), k, s), k, s)
            out = np.einsum("nhwcij,ijc->nhwc", win, kernel, optimize=True)
        elif op == "Add":
            out = value(args[0]) + value(args[1])
        elif op == "Mul":
            out = value(args[0]) * value(args[1])
        elif op == "Relu":
            out = np.maximum(value(args[0]), 0.0)
        elif op == "Minimum":
            out = np.minimum(value(args[0]), value(args[1]))
        elif op == "Maximum":
            out = np.maximum(value(args[0]), value(args[1]))
        elif op == "Mean":
            axes = tuple(int(a) for a in np.ravel(value(args[1])))
            out = value(args[0]).mean(axis=axes)
        else:
            raise NotImplementedError(op)
        values[name] = out
        return out

    return value(output)
