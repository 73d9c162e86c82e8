"""latentstage import biggan SRC -o OUT: a pytorch-pretrained-biggan folder (config.json +
pytorch_model.bin) to a model folder: generator.onnx (z, class vector and truncation in, image out),
torch/generator.pt for the torch runtime, classes.txt (the ImageNet class names) and latentstage.json.

The walk moves in z (128) + class (1000): the generator's ``z`` input is a standard-normal vector
(clamped to the truncated normal's [-2, 2] and scaled by ``truncation`` inside the graph), its
``class`` input a class vector (one-hot or a soft blend, as BigGAN's class embedding is linear).
"""
from __future__ import annotations

import json
import os

import torch

from .. import onnx_half, safeload
from ..archs import biggan_deep
from . import staging
from .classes import imagenet_classes

DEFAULT_TRUNCATION = 0.4


def locate(src: str) -> tuple[str, str]:
    if os.path.isdir(src):
        folder = src
        weights = os.path.join(src, "pytorch_model.bin")
        if not os.path.exists(weights):
            bins = sorted(f for f in os.listdir(src) if f.endswith(".bin") or f.endswith(".pt") or f.endswith(".pth"))
            if len(bins) != 1:
                raise FileNotFoundError(f"{src}: no pytorch_model.bin (the pytorch-pretrained-biggan weights file)")
            weights = os.path.join(src, bins[0])
    elif os.path.isfile(src):
        folder, weights = os.path.dirname(os.path.abspath(src)), src
    else:
        raise FileNotFoundError(f"{src} does not exist")
    config = os.path.join(folder, "config.json")
    if not os.path.exists(config):
        # the hub cache names them biggan-deep-256-config.json / -pytorch_model.bin
        named = weights.replace("pytorch_model.bin", "config.json")
        if named != weights and os.path.exists(named):
            config = named
        else:
            raise FileNotFoundError(f"{folder}: no config.json next to {os.path.basename(weights)}")
    return config, weights


def class_names(folder: str, n: int) -> tuple[list, str]:
    """Names from a classes file in the checkpoint folder, else ImageNet's 1000, else numbered."""
    for f in ("classes.txt", "imagenet_classes.txt"):
        p = os.path.join(folder, f)
        if os.path.exists(p):
            with open(p, encoding="utf-8") as fh:
                names = [l.strip() for l in fh if l.strip() and not l.startswith("#")]
            if len(names) == n:
                return names, p
    if n == 1000:
        return imagenet_classes(), "ImageNet-1k"
    return [f"class {i}" for i in range(n)], "numbered (no names file)"


def load(src: str) -> tuple[biggan_deep.BigGANDeep, str]:
    config_path, weights = locate(src)
    try:
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
    except ValueError as err:
        raise ValueError(f"{config_path} is not valid JSON: {err}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{config_path}: not a BigGAN config")
    config = biggan_deep.check_config(config)
    state = safeload.torch_state(weights)
    return biggan_deep.from_checkpoint(config, state), os.path.dirname(os.path.abspath(config_path))


def export_onnx(model: biggan_deep.BigGANDeep, path: str) -> None:
    z = torch.randn(1, model.z_dim)
    c = torch.zeros(1, model.num_classes)
    c[0, 0] = 1
    t = torch.tensor([DEFAULT_TRUNCATION])
    torch.onnx.export(model, (z, c, t), path, input_names=["z", "class", "truncation"], output_names=["image"],
                      dynamic_axes={"z": {0: "batch"}, "class": {0: "batch"}, "image": {0: "batch"}},
                      opset_version=17, do_constant_folding=True)


def run(src: str, out: str, fp16: bool) -> None:
    model, folder = load(src)
    names, names_from = class_names(folder, model.num_classes)
    size = model.resolution
    with staging.new_folder(out) as tmp:
        with torch.no_grad():
            export_onnx(model, os.path.join(tmp, "generator.onnx"))
        if fp16:
            onnx_half.halve_initializers(os.path.join(tmp, "generator.onnx"))
        os.makedirs(os.path.join(tmp, "torch"))
        torch.save(model.state_dict(), os.path.join(tmp, "torch", "generator.pt"))
        with open(os.path.join(tmp, "classes.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(names) + "\n")
        manifest = {
            "format": "latentstage/1",
            "id": staging.model_id(out),
            "name": f"BigGAN-deep {size}",
            "description": (f"BigGAN-deep {size} px (Brock et al. 2019), imported from pytorch-pretrained-biggan "
                            f"weights; {model.num_classes} classes ({names_from}). The walk moves in z "
                            f"({model.z_dim}, standard normal, clamped to [-2, 2] and scaled by truncation) "
                            f"and the class vector."),
            "resolution": {"width": size, "height": size},
            "generator": {
                "file": "generator.onnx",
                "z": {"input": "z", "dim": model.z_dim},
                "condition": {"input": "class", "dim": model.num_classes},
                "truncation": {"input": "truncation", "default": DEFAULT_TRUNCATION},
                "output": {"name": "image", "layout": "NCHW", "range": [-1, 1]},
            },
            "latent": {"space": "z", "spaces": ["z", "class"]},
            "classes": "classes.txt",
            "torch": {"generator": {"arch": biggan_deep.ARCH, "config": model.config, "weights": "torch/generator.pt"}},
        }
        staging.write_json(os.path.join(tmp, "latentstage.json"), manifest)
    print(f"imported BigGAN-deep {size} px -> {out} ({'fp16' if fp16 else 'fp32'} weights; class names: {names_from})")
