"""latentstage import biggan SRC -o OUT: a pytorch-pretrained-biggan folder (config.json +
pytorch_model.bin) to a model folder: generator.onnx (z, class vector and truncation in, image out),
torch/generator.pt for the torch runtime, classes.txt (the ImageNet class names) and latentstage.json.

The walk moves in z (128) + class (1000): the generator is pytorch-pretrained-biggan's
``BigGAN.forward(z, class_vector, truncation)``; ``z`` is the walk's vector (the server's walk already
scales it by its ``truncation`` parameter, as BigGAN's truncated sampling does), ``class`` a class
vector (one-hot or a soft blend: the class embedding is linear), ``truncation`` ([1]) picks BigGAN's
batch-norm statistics for that truncation.
"""
from __future__ import annotations

import json
import os

import torch

from .. import safeload
from ..archs import biggan_deep
from ..modelfolder import ImportError_, Staging, check_new_folder, export_onnx, model_id, onnx_weights_to_fp16, save_torch, write_json
from .classes import imagenet_classes

#: Fed to the truncation input every frame: the walk's default truncation (server/params.ts), so the
#: batch-norm statistics match the walk's z at its default.
DEFAULT_TRUNCATION = 0.6


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


def run(src: str, out: str, fp16: bool) -> None:
    check_new_folder(out)
    try:
        model, folder = load(src)
    except ImportError_:
        raise
    except (ValueError, OSError) as err:
        raise ImportError_(f"{err} (nothing was written)") from None
    names, names_from = class_names(folder, model.num_classes)
    size = model.resolution
    with Staging(out) as tmp:
        z = torch.randn(2, model.z_dim)
        c = torch.nn.functional.one_hot(torch.tensor([1, 2]), model.num_classes).float()
        export_onnx(model, [z, c, torch.tensor([DEFAULT_TRUNCATION])], os.path.join(tmp, "generator.onnx"),
                    ["z", "class", "truncation"], ["image"])
        if fp16:
            onnx_weights_to_fp16(os.path.join(tmp, "generator.onnx"))
        save_torch(model, os.path.join(tmp, "torch", "generator.pt"), fp16=fp16)
        with open(os.path.join(tmp, "classes.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(names) + "\n")
        manifest = {
            "format": "latentstage/1",
            "id": model_id(out),
            "name": f"BigGAN-deep {size}",
            "description": (f"BigGAN-deep {size} px (Brock et al. 2019), imported from pytorch-pretrained-biggan "
                            f"weights; {model.num_classes} classes ({names_from}). The walk moves in z "
                            f"({model.z_dim} values, scaled by the walk's truncation) and the class vector."),
            "resolution": {"width": size, "height": size},
            "generator": {
                "file": "generator.onnx",
                "z": {"input": "z", "dim": model.z_dim},
                "condition": {"input": "class", "dim": model.num_classes},
                "truncation": {"input": "truncation", "default": DEFAULT_TRUNCATION},
                "output": {"name": "image", "layout": "NCHW", "range": [-1, 1]},
            },
            "latent": {"space": "z", "spaces": ["z", "class"]},
            "classes": {"file": "classes.txt"},
            "torch": {"generator": {"arch": biggan_deep.ARCH, "config": model.config, "weights": "torch/generator.pt",
                                    **({"dtype": "float16"} if fp16 else {})}},
        }
        write_json(os.path.join(tmp, "latentstage.json"), manifest)
    print(f"imported BigGAN-deep {size} px -> {out} ({'fp16' if fp16 else 'fp32'} weights; class names: {names_from})")
