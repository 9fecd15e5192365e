"""Convert a TensorFlow.js graph model (graph JSON + weights .bin) into an ONNX model.

Run once, at install time (``scripts/install_models.py``), for the second face descriptor
(``console.vision.second_descriptor``): the console runs the ONNX file with OpenCV's DNN
module, which it already depends on, and never reads TensorFlow.js at run time.

Only what a MobileNet-style graph needs is supported (Conv2D, DepthwiseConv2dNative, Add,
Mul, Relu, Minimum, Maximum with a constant, Mean over height and width); anything else
raises ``ConversionError`` naming the op, so a changed model fails the install loudly
rather than converting into something else. The ONNX graph is NCHW (what
``cv2.dnn.blobFromImage`` makes): kernels are transposed from TensorFlow's HWIO, and
TensorFlow's "SAME" padding is written as explicit pads from the static input size.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

OPSET = 13


class ConversionError(ValueError):
    """The graph uses something this converter does not support, or is malformed."""


@dataclass(frozen=True)
class TfjsGraph:
    nodes: dict[str, dict]  # name -> node (op, input, attr)
    weights: dict[str, np.ndarray]  # constant name -> value (dequantised)
    input_name: str
    input_shape: tuple[int, int, int]  # H, W, C


def read_tfjs(graph_json: Path, weights_dir: Path | None = None) -> TfjsGraph:
    """The graph's nodes and its weights, read from the manifest's files in order."""
    graph_json = Path(graph_json)
    data = json.loads(graph_json.read_text(encoding="utf-8"))
    folder = Path(weights_dir or graph_json.parent)
    weights: dict[str, np.ndarray] = {}
    for group in data["weightsManifest"]:
        blob = b"".join((folder / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            shape = [int(s) for s in spec["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quant = spec.get("quantization")
            if quant:
                if quant.get("dtype") != "float16":
                    raise ConversionError(f"{spec['name']}: quantisation {quant} not supported")
                raw = np.frombuffer(blob, np.float16, count, offset).astype(np.float32)
                offset += 2 * count
            else:
                dtype = {"float32": np.float32, "int32": np.int32}.get(spec["dtype"])
                if dtype is None:
                    raise ConversionError(f"{spec['name']}: dtype {spec['dtype']} not supported")
                raw = np.frombuffer(blob, dtype, count, offset)
                offset += raw.itemsize * count
            weights[spec["name"]] = raw.reshape(shape)
        if offset != len(blob):
            raise ConversionError(f"weights: {len(blob) - offset} bytes left over in {folder}")
    nodes = {n["name"]: n for n in data["modelTopology"]["node"]}
    placeholders = [n for n in nodes.values() if n["op"] == "Placeholder"]
    if len(placeholders) != 1:
        raise ConversionError(f"expected one input, found {len(placeholders)}")
    dims = [int(d["size"]) for d in placeholders[0]["attr"]["shape"]["shape"]["dim"]]
    if len(dims) != 4 or min(dims[1:]) <= 0:
        raise ConversionError(f"input shape {dims} is not N x H x W x C")
    return TfjsGraph(nodes, weights, placeholders[0]["name"], tuple(dims[1:]))


def _attr_ints(node: dict, key: str) -> list[int]:
    return [int(i) for i in node["attr"][key]["list"]["i"]]


def _attr_str(node: dict, key: str) -> str:
    return base64.b64decode(node["attr"][key]["s"]).decode()


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """TensorFlow's SAME padding: (pad before, pad after, output size)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


def _input_of(name: str) -> str:
    return name.split(":")[0].lstrip("^")


def to_onnx(graph: TfjsGraph, output: str, onnx_input: str = "input", onnx_output: str = "output"):
    """The subgraph from the input to *output* as an onnx.ModelProto (NCHW in and out)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:  # depth first: inputs before the node
        if name in seen:
            return
        seen.add(name)
        node = graph.nodes.get(name)
        if node is None:
            raise ConversionError(f"node {name!r} is not in the graph")
        for i in node.get("input", []):
            visit(_input_of(i))
        order.append(name)

    visit(output)
    h, w, c = graph.input_shape
    shapes: dict[str, tuple[int, int, int]] = {graph.input_name: (c, h, w)}  # C, H, W
    tensor_of = {graph.input_name: onnx_input}
    nodes, inits = [], []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def const_value(name: str) -> np.ndarray | None:
        node = graph.nodes.get(_input_of(name))
        if node is None or node["op"] != "Const":
            return None
        return graph.weights[node["name"]]

    for name in order:
        node = graph.nodes[name]
        op = node["op"]
        if op in ("Const", "Placeholder"):
            continue
        inputs = [_input_of(i) for i in node.get("input", [])]
        if op in ("Conv2D", "DepthwiseConv2dNative"):
            if _attr_str(node, "data_format") != "NHWC":
                raise ConversionError(f"{name}: only NHWC is supported")
            if any(d != 1 for d in _attr_ints(node, "dilations")):
                raise ConversionError(f"{name}: dilated convolutions are not supported")
            kernel = const_value(inputs[1])
            if kernel is None:
                raise ConversionError(f"{name}: the kernel is not a constant")
            kh, kw, cin, mult = kernel.shape
            _, sh, sw, _ = _attr_ints(node, "strides")
            cx, hx, wx = shapes[inputs[0]]
            padding = _attr_str(node, "padding")
            if padding == "SAME":
                top, bottom, ho = _same_pads(hx, kh, sh)
                left, right, wo = _same_pads(wx, kw, sw)
            elif padding == "VALID":
                top = bottom = left = right = 0
                ho, wo = (hx - kh) // sh + 1, (wx - kw) // sw + 1
            else:
                raise ConversionError(f"{name}: padding {padding} not supported")
            if op == "Conv2D":
                weight = kernel.transpose(3, 2, 0, 1)  # HWIO -> OIHW
                group, cout = 1, mult
            else:
                if mult != 1:
                    raise ConversionError(f"{name}: depth multiplier {mult} not supported")
                weight = kernel.transpose(2, 3, 0, 1)  # H W C 1 -> C 1 H W
                group, cout = cin, cin
            nodes.append(helper.make_node(
                "Conv", [tensor_of[inputs[0]], const(f"{name}/W", weight.astype(np.float32))],
                [name], name=name, kernel_shape=[kh, kw], strides=[sh, sw],
                pads=[top, left, bottom, right], group=group))
            shapes[name] = (cout, ho, wo)
        elif op in ("Add", "Mul", "Minimum", "Maximum"):
            onnx_op = {"Add": "Add", "Mul": "Mul", "Minimum": "Min", "Maximum": "Max"}[op]
            args = []
            shape = None
            for i in inputs:
                value = const_value(i)
                if value is None:
                    args.append(tensor_of[i])
                    shape = shapes[i]
                else:
                    # A per-channel (or scalar) constant broadcasts over N C H W.
                    value = value.astype(np.float32)
                    if value.ndim == 1:
                        value = value.reshape(1, -1, 1, 1)
                    elif value.ndim != 0:
                        raise ConversionError(f"{name}: constant of shape {value.shape}")
                    args.append(const(f"{name}/{len(args)}", value))
            if shape is None:
                raise ConversionError(f"{name}: no tensor input")
            nodes.append(helper.make_node(onnx_op, args, [name], name=name))
            shapes[name] = shape
        elif op == "Relu":
            nodes.append(helper.make_node("Relu", [tensor_of[inputs[0]]], [name], name=name))
            shapes[name] = shapes[inputs[0]]
        elif op == "Mean":
            axes = const_value(inputs[1])
            if axes is None or sorted(int(a) for a in axes.ravel()) != [1, 2]:
                raise ConversionError(f"{name}: only a mean over height and width is supported")
            pooled = f"{name}/pooled"
            nodes.append(helper.make_node("GlobalAveragePool", [tensor_of[inputs[0]]], [pooled]))
            nodes.append(helper.make_node("Flatten", [pooled], [name], name=name, axis=1))
            shapes[name] = (shapes[inputs[0]][0], 1, 1)
        else:
            raise ConversionError(f"{name}: op {op} is not supported")
        tensor_of[name] = name
    # The last node writes the graph's output under its ONNX name.
    nodes[-1].output[0] = onnx_output
    out_channels = shapes[output][0]
    model = helper.make_model(
        helper.make_graph(
            nodes, "converted",
            [helper.make_tensor_value_info(onnx_input, TensorProto.FLOAT, [1, c, h, w])],
            [helper.make_tensor_value_info(onnx_output, TensorProto.FLOAT, [1, out_channels])],
            inits),
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="lfr-console tfjs_onnx",
    )
    model.ir_version = 8  # what OpenCV's importer reads
    onnx.checker.check_model(model)
    return model
