"""PyTorch reference outputs of an imported model folder, for parity checks against its ONNX files.

``python3 -m latentstage.reference FOLDER OUT [--batch N] [--seed S]`` loads the folder's torch/*.pt
networks (manifest ``torch``), runs them on seeded inputs and writes OUT/reference.json naming raw
little-endian float32/int64 files: generator (z, class, truncation -> image), text (ids -> embedding),
image (image -> embedding), for whichever networks the folder has.
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

from .archs import biggan_deep, clip as clip_arch

#: arch name (manifest torch.<net>.arch) -> builder(config, state) for this module's architectures.
BUILDERS = {biggan_deep.ARCH: biggan_deep.build, clip_arch.ARCH_TEXT: clip_arch.build_text,
            clip_arch.ARCH_IMAGE: clip_arch.build_image}


def load_net(folder: str, entry: dict):
    build = BUILDERS.get(entry["arch"])
    if build is None:
        raise ValueError(f"unknown arch {entry['arch']!r}")
    state = torch.load(os.path.join(folder, entry["weights"]), map_location="cpu")
    return build(entry["config"], state)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("folder")
    ap.add_argument("out")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    with open(os.path.join(a.folder, "latentstage.json"), encoding="utf-8") as f:
        m = json.load(f)
    os.makedirs(a.out, exist_ok=True)
    g = torch.Generator().manual_seed(a.seed)
    index: dict = {}

    def put(net: str, name: str, t: torch.Tensor):
        arr = t.detach().cpu().numpy()
        arr = arr.astype("<i8" if arr.dtype.kind in "iu" else "<f4")
        fn = f"{net}-{name}.bin"
        arr.tofile(os.path.join(a.out, fn))
        index.setdefault(net, {})[name] = {"file": fn, "shape": list(arr.shape), "dtype": "int64" if arr.dtype.kind == "i" else "float32"}

    nets = m.get("torch", {})
    with torch.no_grad():
        if "generator" in nets and nets["generator"]["arch"] == biggan_deep.ARCH:
            model = load_net(a.folder, nets["generator"])
            z = torch.randn(a.batch, model.z_dim, generator=g)
            c = torch.softmax(3 * torch.randn(a.batch, model.num_classes, generator=g), dim=1)
            t = torch.tensor([0.55])
            put("generator", "z", z), put("generator", "class", c), put("generator", "truncation", t)
            put("generator", "image", model(z, c, t))
        if "text" in nets:
            model = load_net(a.folder, nets["text"])
            cfg = model.config
            ids = torch.zeros(a.batch, cfg["context_length"], dtype=torch.int64)
            for b in range(a.batch):
                n = 3 + 4 * b
                ids[b, 0] = cfg["vocab_size"] - 2
                ids[b, 1:n] = torch.randint(1, cfg["vocab_size"] - 2, (n - 1,), generator=g)
                ids[b, n] = cfg["vocab_size"] - 1
            put("text", "ids", ids), put("text", "embedding", model(ids))
        if "image" in nets:
            model = load_net(a.folder, nets["image"])
            s = model.config["resolution"]
            x = torch.rand(a.batch, 3, s, s, generator=g)
            put("image", "image", x), put("image", "embedding", model(x))
    with open(os.path.join(a.out, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(index, f, indent=2)


if __name__ == "__main__":
    main()
