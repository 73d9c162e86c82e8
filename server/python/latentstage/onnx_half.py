"""Fp16 storage for an exported ONNX graph: large float32 weights are stored as float16 and cast back
to float32 where the graph reads them, so the file halves while every op still computes in float32
(the only change is each weight's rounding to fp16)."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def halve_initializers(path: str, min_elements: int = 1024) -> int:
    """Rewrite the ONNX file at path in place; returns how many initializers were stored as fp16."""
    model = onnx.load(path)
    graph = model.graph
    keep, casts, n = [], [], 0
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT and int(np.prod(init.dims)) >= min_elements:
            half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + "__fp16")
            keep.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=init.name + "__cast"))
            n += 1
        else:
            keep.append(init)
    del graph.initializer[:]
    graph.initializer.extend(keep)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return n
