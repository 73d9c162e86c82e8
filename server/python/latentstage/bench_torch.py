"""Models bench in PyTorch: `python3 -m latentstage.bench_torch [--device cuda] [--fp16] FOLDER...`
times each imported model folder's networks as the torch runtime runs them (load_folder): the
generator's frames per second at batch 1 and at the CMA-ES search's batch (4 + floor(3 ln n), n
the latent size), the live frame (generate + 8-bit RGB to the host), and the text and image
encoders when the folder has them. One JSON object per folder on stdout."""
import argparse
import json
import math
import os
import time

import torch

from .folder import load_folder


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()
    elif device.type == "mps" and hasattr(torch, "mps"):
        torch.mps.synchronize()


def rate(fn, per, seconds, device):
    for _ in range(3):
        fn()
    sync(device)
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += per
    sync(device)
    return n / (time.perf_counter() - t0)


def bench(folder, device, dtype, seconds):
    m = load_folder(folder, device=device, dtype=dtype)
    man = m.manifest
    zdim = man["generator"]["z"]["dim"]
    cond = man["generator"].get("condition")
    lo, hi = man["generator"]["output"]["range"]
    search = 4 + int(math.floor(3 * math.log(zdim)))
    out = {"model": os.path.basename(os.path.normpath(folder)), "resolution": man["resolution"]["width"],
           "device": str(device), "dtype": str(dtype).replace("torch.", ""), "search_batch": search}
    g = torch.Generator().manual_seed(0)

    def gen(b):
        z = torch.randn(b, zdim, generator=g)
        c = torch.zeros(b, cond["dim"]) if cond else None
        return lambda: m.generate(z, c, None)

    with torch.inference_mode():
        for b in (1, search):
            out[f"generator_fps_batch{b}"] = round(rate(gen(b), b, seconds, device), 1)
        one = gen(1)

        def frame():
            x = one()[0].float() * (255 / (hi - lo)) - lo * (255 / (hi - lo))
            x.round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous().cpu()

        out["frame_fps"] = round(rate(frame, 1, seconds, device), 1)
        img = man.get("image")
        if m.encode_image is not None and img:
            s = img["size"]
            x = torch.rand(search, 3, s, s, generator=g).to(device, dtype)
            out["image_encoder_per_s_batch%d" % search] = round(rate(lambda: m.encode_image(x), search, seconds, device), 1)
        txt = man.get("text")
        if m.encode_text is not None and txt:
            vocab = int(((man.get("torch") or {}).get("text") or {}).get("config", {}).get("vocab_size", 49408))
            length = int(txt.get("length") or 77)
            ids = torch.randint(1, vocab, (1, length), generator=g).to(device)
            out["text_encoder_per_s"] = round(rate(lambda: m.encode_text(ids), 1, seconds, device), 1)
    out["live_at_30fps"] = out["frame_fps"] >= 30
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m latentstage.bench_torch", description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--fp16", action="store_true")
    p.add_argument("--seconds", type=float, default=3.0)
    a = p.parse_args(argv)
    device = torch.device(a.device)
    dtype = torch.float16 if a.fp16 and device.type != "cpu" else torch.float32
    for f in a.folders:
        try:
            print(json.dumps(bench(f, device, dtype, a.seconds)), flush=True)
        except Exception as err:  # one folder's failure is a row, not the end of the bench
            print(json.dumps({"model": os.path.basename(os.path.normpath(f)), "error": f"{type(err).__name__}: {err}"}), flush=True)


if __name__ == "__main__":
    main()
