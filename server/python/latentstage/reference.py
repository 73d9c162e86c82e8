"""PyTorch reference outputs of an imported model folder, for parity checks against its ONNX files.

``python3 -m latentstage.reference FOLDER OUT [--batch N] [--seed S]`` loads the folder's torch networks
(folder.load_folder), runs them on seeded inputs and writes OUT/reference.json naming raw
little-endian float32/int64 files: generator (z, class, truncation -> image, class-conditional
generators), text (ids -> embedding), image (image -> embedding), for whichever networks it has.
"""
from __future__ import annotations

import argparse
import json
import os

import torch

from .folder import load_folder


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m latentstage.reference", description=__doc__)
    ap.add_argument("folder")
    ap.add_argument("out")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    m = load_folder(a.folder)
    os.makedirs(a.out, exist_ok=True)
    g = torch.Generator().manual_seed(a.seed)
    index: dict = {}

    def put(net: str, name: str, t: torch.Tensor):
        arr = t.detach().cpu().numpy()
        arr = arr.astype("<i8" if arr.dtype.kind in "iu" else "<f4")
        fn = f"{net}-{name}.bin"
        arr.tofile(os.path.join(a.out, fn))
        index.setdefault(net, {})[name] = {"file": fn, "shape": list(arr.shape), "dtype": "int64" if arr.dtype.kind == "i" else "float32"}

    gen = m.manifest.get("generator", {})
    if "generator" in m.nets and gen.get("condition") and gen.get("truncation"):
        z = torch.randn(a.batch, gen["z"]["dim"], generator=g) * 0.6
        c = torch.softmax(3 * torch.randn(a.batch, gen["condition"]["dim"], generator=g), dim=1)
        t = 0.55
        put("generator", "z", z), put("generator", "class", c), put("generator", "truncation", torch.tensor([t]))
        put("generator", "image", m.generate(z, c, t))
    if m.encode_text is not None:
        cfg = m.nets["text"].config
        ids = torch.zeros(a.batch, cfg["context_length"], dtype=torch.int64)
        for b in range(a.batch):
            n = 3 + 4 * b
            ids[b, 0] = cfg["vocab_size"] - 2
            ids[b, 1:n] = torch.randint(1, cfg["vocab_size"] - 2, (n - 1,), generator=g)
            ids[b, n] = cfg["vocab_size"] - 1
        put("text", "ids", ids), put("text", "embedding", m.encode_text(ids))
    if m.encode_image is not None:
        s = m.nets["image"].config["resolution"]
        x = torch.rand(a.batch, 3, s, s, generator=g)
        put("image", "image", x), put("image", "embedding", m.encode_image(x))
    with open(os.path.join(a.out, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(index, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
