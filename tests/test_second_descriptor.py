"""The second face descriptor as installed: the converted ONNX model, run by OpenCV's DNN
module, against an independent numpy executor of the original TensorFlow.js graph, on
committable faces; the install's hash checks; the converter's refusals."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import tfjs_reference

from console.vision import second_descriptor
from console.vision.enrolment import find_faces
from console.vision.second_descriptor import (
    IMAGENET_MEAN_BGR,
    MODEL_DIR,
    OUTPUT_NODE,
    SecondDescriptorMissing,
    aligned_faces,
    describe_aligned,
)
from console.vision.tfjs_onnx import ConversionError, read_tfjs, to_onnx

FACES = Path(__file__).resolve().parents[1] / "sample_streams" / "source_images"

pytestmark = pytest.mark.skipif(
    not second_descriptor.available(),
    reason="the second face descriptor is not installed (make installs it)",
)


def _chip(name: str) -> np.ndarray:
    image = cv2.imread(str(FACES / name), cv2.IMREAD_COLOR)
    boxes = find_faces(image)
    assert len(boxes) == 1
    return aligned_faces(image, boxes)[0]


@pytest.fixture(scope="module")
def chips() -> dict[str, np.ndarray]:
    return {n: _chip(n) for n in ("obama.jpg", "obama2.jpg", "biden.jpg")}


def test_converted_model_matches_the_tfjs_graph_run_by_numpy(chips):
    nodes, weights = tfjs_reference.load(MODEL_DIR / "faceres.json")
    net = cv2.dnn.readNetFromONNX(str(MODEL_DIR / "faceres.onnx"))
    for name, chip in chips.items():
        assert chip.shape == (224, 224, 3)
        x = chip.astype(np.float64) - np.array(IMAGENET_MEAN_BGR)  # BGR minus the mean
        expected = tfjs_reference.run(nodes, weights, x[None], OUTPUT_NODE)[0]
        net.setInput(cv2.dnn.blobFromImage(chip, 1.0, (224, 224), IMAGENET_MEAN_BGR,
                                           swapRB=False, crop=False))
        got = net.forward()[0].astype(np.float64)
        assert got.shape == (1024,) and np.count_nonzero(expected) > 100, name
        assert np.linalg.norm(got - expected) <= 1e-4 * np.linalg.norm(expected), name


def test_descriptor_tells_two_people_apart(chips):
    """The descriptor as the console computes it (aligned, unit length): two official
    portraits of one man are closer than either is to another man."""
    a, b, c = describe_aligned([chips["obama.jpg"], chips["obama2.jpg"], chips["biden.jpg"]])
    assert np.isclose(np.linalg.norm(a), 1.0)
    same, other = 1 - a @ b, min(1 - a @ c, 1 - b @ c)
    assert same < other - 0.1, (same, other)


def test_a_model_file_that_is_not_the_pinned_one_is_refused(tmp_path):
    data = bytearray((MODEL_DIR / "faceres.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF  # one weight's byte changed by someone with write access
    tampered = tmp_path / "faceres.onnx"
    tampered.write_bytes(bytes(data))
    with pytest.raises(SecondDescriptorMissing, match="sha256"):
        second_descriptor._model_bytes(tampered)
    with pytest.raises(SecondDescriptorMissing, match="not installed"):
        second_descriptor._model_bytes(tmp_path / "missing.onnx")


def test_converter_refuses_an_op_it_does_not_know(tmp_path):
    graph = json.loads((MODEL_DIR / "faceres.json").read_text())
    for node in graph["modelTopology"]["node"]:
        if node["name"] == "conv1_relu/Relu":
            node["op"] = "Tanh"
    (tmp_path / "g.json").write_text(json.dumps(graph))
    (tmp_path / "faceres.bin").write_bytes((MODEL_DIR / "faceres.bin").read_bytes())
    with pytest.raises(ConversionError, match="Tanh"):
        to_onnx(read_tfjs(tmp_path / "g.json"), OUTPUT_NODE)
