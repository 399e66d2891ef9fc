"""Read a TensorFlow GraphDef (.pb) with the protobuf runtime alone, without TensorFlow.

The few message types needed (GraphDef, NodeDef, AttrValue, TensorProto, TensorShapeProto) are
declared here with their field numbers from TensorFlow's ``tensorflow/core/framework/*.proto``;
fields we never read are left out, and protobuf skips them when parsing.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto
# TensorFlow DataType enum values -> numpy dtypes (the ones frozen vision graphs use).
DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 4: np.uint8, 9: np.int64, 10: np.bool_}


def _message(file, name, fields, nested=()):
    message = file.message_type.add(name=name) if isinstance(file, descriptor_pb2.FileDescriptorProto) \
        else file.nested_type.add(name=name)
    for number, field_name, kind, label, type_name in fields:
        field = message.field.add(name=field_name, number=number, type=kind, label=label)
        if type_name:
            field.type_name = type_name
    for build in nested:
        build(message)
    return message


def _build_classes():
    file = descriptor_pb2.FileDescriptorProto(name="cortexscore_graphdef.proto", package="tfmini", syntax="proto3")
    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    _message(file, "TensorShapeProto", [(2, "dim", F.TYPE_MESSAGE, rep, ".tfmini.TensorShapeProto.Dim"),
                                        (3, "unknown_rank", F.TYPE_BOOL, opt, None)],
             nested=[lambda m: _message(m, "Dim", [(1, "size", F.TYPE_INT64, opt, None),
                                                   (2, "name", F.TYPE_STRING, opt, None)])])
    _message(file, "TensorProto", [
        (1, "dtype", F.TYPE_INT32, opt, None), (2, "tensor_shape", F.TYPE_MESSAGE, opt, ".tfmini.TensorShapeProto"),
        (4, "tensor_content", F.TYPE_BYTES, opt, None), (5, "float_val", F.TYPE_FLOAT, rep, None),
        (6, "double_val", F.TYPE_DOUBLE, rep, None), (7, "int_val", F.TYPE_INT32, rep, None),
        (10, "int64_val", F.TYPE_INT64, rep, None)])
    list_fields = [(2, "s", F.TYPE_BYTES, rep, None), (3, "i", F.TYPE_INT64, rep, None),
                   (4, "f", F.TYPE_FLOAT, rep, None), (5, "b", F.TYPE_BOOL, rep, None),
                   (6, "type", F.TYPE_INT32, rep, None)]
    _message(file, "AttrValue", [
        (1, "list", F.TYPE_MESSAGE, opt, ".tfmini.AttrValue.ListValue"), (2, "s", F.TYPE_BYTES, opt, None),
        (3, "i", F.TYPE_INT64, opt, None), (4, "f", F.TYPE_FLOAT, opt, None), (5, "b", F.TYPE_BOOL, opt, None),
        (6, "type", F.TYPE_INT32, opt, None), (7, "shape", F.TYPE_MESSAGE, opt, ".tfmini.TensorShapeProto"),
        (8, "tensor", F.TYPE_MESSAGE, opt, ".tfmini.TensorProto")],
        nested=[lambda m: _message(m, "ListValue", list_fields)])

    def attr_entry(message):
        entry = _message(message, "AttrEntry", [(1, "key", F.TYPE_STRING, opt, None),
                                                (2, "value", F.TYPE_MESSAGE, opt, ".tfmini.AttrValue")])
        entry.options.map_entry = True

    _message(file, "NodeDef", [(1, "name", F.TYPE_STRING, opt, None), (2, "op", F.TYPE_STRING, opt, None),
                               (3, "input", F.TYPE_STRING, rep, None), (4, "device", F.TYPE_STRING, opt, None),
                               (5, "attr", F.TYPE_MESSAGE, rep, ".tfmini.NodeDef.AttrEntry")], nested=[attr_entry])
    _message(file, "GraphDef", [(1, "node", F.TYPE_MESSAGE, rep, ".tfmini.NodeDef")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tfmini.GraphDef"))


GraphDef = _build_classes()


def load_graph_def(path: str | Path):
    """Parse a frozen GraphDef file."""
    graph = GraphDef()
    graph.ParseFromString(Path(path).read_bytes())
    return graph


def tensor_to_numpy(tensor) -> np.ndarray:
    """The value of a TensorProto (a ``Const`` node's ``value`` attr) as a numpy array."""
    dtype = DTYPES.get(tensor.dtype)
    if dtype is None:
        raise ValueError(f"TensorFlow dtype enum {tensor.dtype} is not supported by this reader.")
    shape = [dim.size for dim in tensor.tensor_shape.dim]
    if tensor.tensor_content:
        return np.frombuffer(tensor.tensor_content, dtype=dtype).reshape(shape).copy()
    values = {np.float32: tensor.float_val, np.float64: tensor.double_val, np.int64: tensor.int64_val}.get(
        dtype, tensor.int_val)
    # A repeated field holding one value stands for a tensor filled with it.
    return np.broadcast_to(np.asarray(values, dtype=dtype), shape).copy() if len(values) == 1 and shape \
        else np.asarray(values, dtype=dtype).reshape(shape)


def constants(graph) -> dict[str, np.ndarray]:
    """Every ``Const`` node's value, by node name."""
    return {node.name: tensor_to_numpy(node.attr["value"].tensor) for node in graph.node if node.op == "Const"}
