"""Convert TensorFlow-slim's frozen MobileNetV1 (1.0, 224) GraphDef into a PyTorch state dict.

Usage::

    python tools/mobilenet/convert.py PATH/mobilenet_v1_1.0_224_imagenet.pb OUT.pt

Only the GraphDef protobuf is read (no TensorFlow). The state dict's keys are those of
``examples/mobilenet_submission/mobilenet_v1/models/mobilenet_v1.py``: each TensorFlow scope
``MobilenetV1/Conv2d_<i>_<kind>`` becomes the module ``Conv2d_<i>_<kind>`` with its ``conv``
and ``bn``, and ``MobilenetV1/Logits/Conv2d_1c_1x1`` the 1001-way classifier. The graph's
retrained ``final_training_ops`` head, if any, is ignored.
"""
from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):  # run as a script: make `tools` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tools.mobilenet.graphdef import constants, load_graph_def  # noqa: E402

SCOPE = "MobilenetV1"
BATCH_NORM_EPSILON = 1e-3
BATCH_NORM_NAMES = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean",
                    "moving_variance": "running_var"}
BLOCK = re.compile(rf"^{SCOPE}/(Conv2d_\d+(?:_depthwise|_pointwise)?)/(weights|depthwise_weights|BatchNorm/(\w+))$")


def _conv_weight(tf_weight: np.ndarray, depthwise: bool) -> torch.Tensor:
    """TF kernels are (height, width, in, out) or, depthwise, (height, width, in, multiplier); torch wants (out, in/groups, h, w)."""
    if depthwise:
        height, width, channels, multiplier = tf_weight.shape
        return torch.from_numpy(tf_weight.transpose(2, 3, 0, 1).reshape(channels * multiplier, 1, height, width).copy())
    return torch.from_numpy(tf_weight.transpose(3, 2, 0, 1).copy())


def _check_graph(values: dict[str, np.ndarray]) -> None:
    epsilons = {name: float(value) for name, value in values.items() if name.endswith("batchnorm/add/y")}
    wrong = {name: value for name, value in epsilons.items() if not np.isclose(value, BATCH_NORM_EPSILON)}
    if not epsilons or wrong:
        raise ValueError(f"expected batch norm epsilon {BATCH_NORM_EPSILON} throughout the graph; found {wrong or 'none'}")
    if f"{SCOPE}/Logits/Conv2d_1c_1x1/weights" not in values:
        raise ValueError(f"the graph has no {SCOPE}/Logits/Conv2d_1c_1x1/weights: is it MobileNetV1 from TF-slim?")


def convert(graph_path: str | Path) -> dict[str, torch.Tensor]:
    """The PyTorch state dict of the MobileNetV1 in a frozen TF-slim GraphDef."""
    values = constants(load_graph_def(graph_path))
    _check_graph(values)
    state = {}
    for name, value in values.items():
        match = BLOCK.match(name)
        if match is None:
            continue
        module, kind, batch_norm = match.groups()
        if batch_norm:
            state[f"{module}.bn.{BATCH_NORM_NAMES[batch_norm]}"] = torch.from_numpy(value.copy())
        else:
            state[f"{module}.conv.weight"] = _conv_weight(value, depthwise=kind == "depthwise_weights")
    logits = f"{SCOPE}/Logits/Conv2d_1c_1x1"
    state["Conv2d_1c_1x1.weight"] = _conv_weight(values[f"{logits}/weights"], depthwise=False)
    state["Conv2d_1c_1x1.bias"] = torch.from_numpy(values[f"{logits}/biases"].copy())
    for module in {key.rsplit(".", 2)[0] for key in state if ".bn." in key}:
        state[f"{module}.bn.num_batches_tracked"] = torch.tensor(0)
    return state


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("graph", type=Path, help="the frozen GraphDef, e.g. mobilenet_v1_1.0_224_imagenet.pb")
    parser.add_argument("out", type=Path, help="where to write the PyTorch state dict (.pt)")
    arguments = parser.parse_args(argv)
    state = convert(arguments.graph)
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, arguments.out)
    digest = hashlib.sha256(arguments.graph.read_bytes()).hexdigest()
    print(f"wrote {len(state)} tensors to {arguments.out} (from {arguments.graph.name}, sha256 {digest})")


if __name__ == "__main__":
    main()
