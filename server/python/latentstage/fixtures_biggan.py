"""Fixture: a pytorch-pretrained-biggan folder (config.json + pytorch_model.bin) with random weights.

The real BigGAN-deep layer table (128, 256 or 512 px) at a chosen channel width (the releases use 128;
tests use 4). Tensors carry the release's names and layout: spectral-normalised weights as
``weight_orig`` + ``weight_u`` + ``weight_v`` (one power-iteration step, as the release's converter ran),
per-truncation batch-norm statistics, and the file in torch's legacy (pre-zip) format like the 2019 files.
"""
from __future__ import annotations

import json
import os

import torch
import torch.nn.functional as F

from .archs import biggan_deep


def make(out: str, size: int = 128, width: int = 4, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    config = biggan_deep.default_config(size, width)
    model = biggan_deep.BigGANDeep(config)
    state = {}
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)) and name != "embeddings":
            w = torch.randn_like(module.weight) * 0.5
            mat = w.reshape(w.shape[0], -1)
            u = F.normalize(torch.randn(mat.shape[0]), dim=0, eps=1e-4)
            v = F.normalize(torch.mv(mat.t(), u), dim=0, eps=1e-4)
            u = F.normalize(torch.mv(mat, v), dim=0, eps=1e-4)
            state[name + ".weight_orig"] = w
            state[name + ".weight_u"] = u
            state[name + ".weight_v"] = v
            if module.bias is not None:
                state[name + ".bias"] = torch.randn_like(module.bias) * 0.1
    for name, t in model.state_dict().items():
        if name in state or name.rsplit(".", 1)[0] + ".weight_orig" in state:
            continue
        if name.endswith("running_means"):
            state[name] = torch.randn_like(t) * 0.3
        elif name.endswith("running_vars"):
            state[name] = torch.rand_like(t) + 0.5
        elif name.endswith("gamma"):
            state[name] = torch.tensor([0.5])
        elif name == "embeddings.weight":
            state[name] = torch.randn_like(t) * 0.1
        elif name.endswith("bn.weight"):
            state[name] = 1 + torch.randn_like(t) * 0.1
        else:
            state[name] = torch.randn_like(t) * 0.1
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    torch.save(state, os.path.join(out, "pytorch_model.bin"), _use_new_zipfile_serialization=False)
    return config


def small(out: str, seed: int = 0) -> None:
    """The 128 px layer table at channel width 4 (tests)."""
    make(out, 128, 4, seed)


def full_128(out: str, seed: int = 0) -> None:
    make(out, 128, 128, seed)


def full_256(out: str, seed: int = 0) -> None:
    make(out, 256, 128, seed)


def full_512(out: str, seed: int = 0) -> None:
    make(out, 512, 128, seed)
