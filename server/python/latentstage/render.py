"""Run a model folder's torch generator on latents from a file (float32, row-major), writing the
images as float32 NCHW: the reference the ONNX export is checked against.

  python3 -m latentstage.render FOLDER --z Z.f32 --batch B [--condition C.f32] [--truncation PSI] --out IMAGES.f32"""
import argparse
import sys

import numpy as np
import torch

from .folder import load_folder


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m latentstage.render")
    p.add_argument("folder")
    p.add_argument("--z", required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--condition")
    p.add_argument("--truncation", type=float)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    m = load_folder(a.folder)
    z = torch.from_numpy(np.fromfile(a.z, dtype=np.float32).reshape(a.batch, -1).copy())
    c = torch.from_numpy(np.fromfile(a.condition, dtype=np.float32).reshape(a.batch, -1).copy()) if a.condition else None
    img = m.generate(z, c, a.truncation)
    img.float().cpu().numpy().astype(np.float32).tofile(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
