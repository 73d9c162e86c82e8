"""Writing a model folder: build it in a staging folder next to OUT and rename it into place only
when everything is written (an error writes nothing), export networks to ONNX, store fp16 weights,
write the manifest."""
import json
import os
import re
import shutil
import tempfile
import warnings

import torch


class ImportError_(ValueError):
    """Bad input: the message is for the user, no traceback."""


def check_new_folder(out):
    if os.path.lexists(out):
        raise ImportError_(f"{out} already exists; choose a new output folder (nothing was written)")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise ImportError_(f"the folder {parent} does not exist (nothing was written)")


class Staging:
    """with Staging(out) as tmp: write into tmp; on success tmp becomes out, on error it is removed."""

    def __init__(self, out):
        self.out = os.path.abspath(out)

    def __enter__(self):
        check_new_folder(self.out)
        self.tmp = tempfile.mkdtemp(prefix="." + os.path.basename(self.out) + ".importing-", dir=os.path.dirname(self.out))
        return self.tmp

    def __exit__(self, kind, err, tb):
        if kind is None:
            if os.path.lexists(self.out):
                shutil.rmtree(self.tmp, ignore_errors=True)
                raise ImportError_(f"{self.out} appeared while importing; nothing was written")
            os.chmod(self.tmp, 0o755)
            os.rename(self.tmp, self.out)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return False


def model_id(out):
    base = re.sub(r"[^a-z0-9._-]+", "-", os.path.basename(os.path.abspath(out)).lower()).strip("-._") or "model"
    return base[:64]


def export_onnx(module, args, path, input_names, output_names, dynamic_batch=True, opset=17):
    """Export with a dynamic batch axis on every input and output except scalars of shape [1]."""
    axes = {}
    if dynamic_batch:
        for name, a in zip(input_names, args):
            if a is not None and a.ndim >= 2:
                axes[name] = {0: "batch"}
        for name in output_names:
            axes[name] = {0: "batch"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shapes taken as constants (only the batch is dynamic)
        torch.onnx.export(module, tuple(args), path, input_names=input_names, output_names=output_names,
                          dynamic_axes=axes, opset_version=opset, do_constant_folding=True)


def onnx_weights_to_fp16(path, min_elements=1024):
    """Store the ONNX file's large float32 weights as float16, each cast back to float32 where it
    is used: the file halves, the computation (and the device's kernels) stay float32."""
    try:
        import onnx
        from onnx import helper, numpy_helper, TensorProto
    except ModuleNotFoundError:
        raise ImportError_("--fp16 needs the onnx Python package: apt-get install --no-install-recommends python3-onnx (or pip install onnx)") from None
    import numpy as np
    m = onnx.load(path)
    g = m.graph
    casts = []
    for init in g.initializer:
        if init.data_type != TensorProto.FLOAT:
            continue
        arr = numpy_helper.to_array(init)
        if arr.size < min_elements or np.abs(arr).max(initial=0) > 65000:
            continue
        name = init.name
        half = numpy_helper.from_array(arr.astype(np.float16), name + "__fp16")
        init.CopyFrom(half)
        casts.append(helper.make_node("Cast", [name + "__fp16"], [name], to=TensorProto.FLOAT, name=name + "__cast"))
    for n in reversed(casts):
        g.node.insert(0, n)
    onnx.save(m, path)


def save_torch(module, path, fp16=False):
    sd = {k: (v.half() if fp16 and v.is_floating_point() else v).contiguous() for k, v in module.state_dict().items()}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(sd, path)


def write_json(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


def read_json(path):
    with open(path) as f:
        return json.load(f)
