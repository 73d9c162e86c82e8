#!/usr/bin/python3
"""Train the 64 -> 256 refiner that draws the generator's frames at 256 x 256.

Two stages, meant to run side by side on a 2-core machine (one thread each):

  invert  find z* with G(z*) ~ each art image (64 px, area-downscaled), by gradient descent on z
          through the shipped generator (rebuilt in torch from the ONNX weights dumped by
          dump-onnx.mjs). Writes G(z*) as uint8 to cache/inverted.u8 + cache/inverted.json,
          batch by batch, so training can use pairs as soon as they exist.
  train   the refiner: a few 3x3 convolutions at 64 px, a sub-pixel (pixel shuffle x4) output,
          residual over a bilinear upsample. Pairs: G(z*) -> art (the generator's own artefacts)
          mixed with plainly downscaled (lightly blurred/noised) art -> art. Loss: L1 + Sobel edge
          L1 + a light hinge patch-GAN. Checkpoints to runs/refiner/, exports refiner.onnx
          (EMA weights) every --export-minutes and at the end.

Usage:
  node dump-onnx.mjs ../emoji-256/generator.onnx cache/generator
  /usr/bin/python3 refiner.py invert --minutes 60 --threads 1
  /usr/bin/python3 refiner.py train --minutes 70 --threads 1 --out ../emoji-256
  /usr/bin/python3 refiner.py --smoke train --out /tmp/x      (a few steps, for tests)
"""
import argparse
import copy
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, "cache")
BIG = 256
SMALL = 64


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


# ----------------------------------------------------------------------------- data


def load_art(smoke=False):
    meta = json.load(open(os.path.join(CACHE, "art256.json")))
    n = len(meta["records"])
    art = np.memmap(os.path.join(CACHE, "art256.u8"), np.uint8, "r", shape=(n, BIG, BIG, 3))
    if smoke:
        n = min(n, 64)
        art = np.ascontiguousarray(art[:n])
        meta["records"] = meta["records"][:n]
    return meta, art


def to_t(u8):
    return torch.from_numpy(np.ascontiguousarray(u8)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def to_u8(x):
    return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def down4(x):
    return F.avg_pool2d(x, 4)


# ----------------------------------------------------------------------------- generator from ONNX


class OnnxModule(nn.Module):
    """Interprets the (small) set of ONNX ops the exported generator uses, in torch, differentiably."""

    def __init__(self, prefix):
        super().__init__()
        self.g = json.load(open(prefix + ".json"))
        raw = open(prefix + ".bin", "rb").read()

        def tensor(t):
            dt = {1: np.float32, 7: np.int64}[t["type"]]
            a = np.frombuffer(raw, dt, count=t["bytes"] // np.dtype(dt).itemsize, offset=t["offset"]).reshape(t["dims"])
            return torch.from_numpy(a.copy())

        self.consts = {t["name"]: tensor(t) for t in self.g["initializers"]}
        for n in self.g["nodes"]:
            if n["op"] == "Constant":
                self.consts[n["outputs"][0]] = tensor(n["attrs"]["value"]["tensor"])

    def forward(self, **inputs):
        v = dict(self.consts)
        v.update(inputs)
        for n in self.g["nodes"]:
            op, a = n["op"], n["attrs"]
            x = [v[i] if i else None for i in n["inputs"]]
            if op == "Constant":
                continue
            if op == "Mul":
                y = x[0] * x[1]
            elif op == "Add":
                y = x[0] + x[1]
            elif op == "Gemm":
                w = x[1].t() if a.get("transB") else x[1]
                y = x[0] @ w + x[2]
            elif op == "BatchNormalization":
                y = F.batch_norm(x[0], x[3], x[4], x[1], x[2], False, 0.0, a.get("epsilon", 1e-5))
            elif op == "Relu":
                y = F.relu(x[0])
            elif op == "Tanh":
                y = torch.tanh(x[0])
            elif op == "Reshape":
                y = x[0].reshape([int(d) for d in x[1].tolist()])
            elif op == "Resize":
                assert a.get("mode") == "nearest"
                s = x[2].tolist()
                y = F.interpolate(x[0], scale_factor=(s[2], s[3]), mode="nearest")
            elif op == "Conv":
                p = a.get("pads", [0, 0, 0, 0])
                y = F.conv2d(x[0], x[1], x[2] if len(x) > 2 else None, a.get("strides", [1, 1]), (p[0], p[1]), a.get("dilations", [1, 1]), a.get("group", 1))
            elif op == "DepthToSpace":
                assert a.get("mode", "DCR") == "CRD"
                y = F.pixel_shuffle(x[0], a["blocksize"])
            else:
                raise NotImplementedError(op)
            v[n["outputs"][0]] = y
        return v[self.g["outputs"][0]]


# ----------------------------------------------------------------------------- inversion


def invert(args):
    torch.manual_seed(0)
    gen = OnnxModule(os.path.join(CACHE, "generator")).eval()
    meta, art = load_art(args.smoke)
    n = len(meta["records"])
    order = np.random.RandomState(0).permutation(n)
    name = "inverted-smoke" if args.smoke else "inverted"
    out_u8 = os.path.join(CACHE, name + ".u8")
    out_json = os.path.join(CACHE, name + ".json")
    done = json.load(open(out_json)) if os.path.exists(out_json) and not args.smoke else {"index": [], "l1": []}
    have = set(done["index"])
    todo = [int(i) for i in order if int(i) not in have]
    t0 = time.time()
    bs, steps = args.batch, (5 if args.smoke else args.steps)
    f = open(out_u8, "ab" if done["index"] else "wb")
    for b in range(0, len(todo), bs):
        if time.time() - t0 > args.minutes * 60:
            break
        idx = todo[b : b + bs]
        target = down4(to_t(art[sorted(idx)]))
        idx = sorted(idx)
        z = torch.zeros(len(idx), 128, requires_grad=True)
        opt = torch.optim.Adam([z], lr=0.1)
        for s in range(steps):
            img = gen(z=z)
            l1 = (img - target).abs().mean(dim=(1, 2, 3))
            loss = l1.sum() + 1e-3 * (z * z).sum() / 128
            opt.zero_grad()
            loss.backward()
            opt.step()
            for g in opt.param_groups:
                g["lr"] = 0.1 * (0.1 ** ((s + 1) / steps))
        with torch.no_grad():
            img = gen(z=z)
            l1 = (img - target).abs().mean(dim=(1, 2, 3))
        f.write(to_u8(img).tobytes())
        f.flush()
        done["index"] += idx
        done["l1"] += [round(float(v), 4) for v in l1]
        json.dump(done, open(out_json + ".tmp", "w"))
        os.replace(out_json + ".tmp", out_json)
        log(f"inverted {len(done['index'])}/{n}  L1 {float(l1.mean()):.4f}  ({(time.time() - t0) / len(done['index'][-len(todo):] or [1]):.2f} s/img)")
    f.close()


# ----------------------------------------------------------------------------- refiner


class Refiner(nn.Module):
    """x (N,3,64,64) in [-1,1] -> (N,3,256,256): bilinear x4 + pixel-shuffled residual."""

    def __init__(self, c=24, body=2, scale=4):
        super().__init__()
        self.scale = scale
        layers = [nn.Conv2d(3, c, 3, 1, 1), nn.ReLU(inplace=True)]
        for _ in range(body):
            layers += [nn.Conv2d(c, c, 3, 1, 1), nn.ReLU(inplace=True)]
        layers += [nn.Conv2d(c, 3 * scale * scale, 3, 1, 1), nn.PixelShuffle(scale)]
        self.net = nn.Sequential(*layers)
        nn.init.zeros_(self.net[-2].weight)
        nn.init.zeros_(self.net[-2].bias)

    def forward(self, x):
        up = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return (up + self.net(x)).clamp(-1.0, 1.0)


class PatchD(nn.Module):
    def __init__(self, w=32):
        super().__init__()
        sn = nn.utils.spectral_norm
        self.net = nn.Sequential(
            sn(nn.Conv2d(3, w, 4, 2, 1)), nn.LeakyReLU(0.2, True),
            sn(nn.Conv2d(w, 2 * w, 4, 2, 1)), nn.LeakyReLU(0.2, True),
            sn(nn.Conv2d(2 * w, 4 * w, 4, 2, 1)), nn.LeakyReLU(0.2, True),
            sn(nn.Conv2d(4 * w, 1, 3, 1, 1)),
        )

    def forward(self, x):
        return self.net(x)


SOBEL = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 4


def grads(x):
    c = x.shape[1]
    kx = SOBEL.view(1, 1, 3, 3).repeat(c, 1, 1, 1)
    ky = SOBEL.t().contiguous().view(1, 1, 3, 3).repeat(c, 1, 1, 1)
    return F.conv2d(x, kx, padding=1, groups=c), F.conv2d(x, ky, padding=1, groups=c)


def edge_loss(a, b):
    ax, ay = grads(a)
    bx, by = grads(b)
    return (ax - bx).abs().mean() + (ay - by).abs().mean()


def degrade(x64, gen, blur=(0.3, 1.4)):
    """Plain pairs: downscaled art, blurred and noised like a decoder's output (its edges spread over
    2-3 px at 64 px), so the refiner learns to redraw soft edges as crisp ones with aligned targets."""
    b = x64.shape[0]
    lo, hi = blur
    sigma = lo + torch.rand(b, generator=gen) * (hi - lo)
    out = torch.empty_like(x64)
    r = torch.arange(-2, 3, dtype=torch.float32)
    for i in range(b):
        k = torch.exp(-(r * r) / (2 * float(sigma[i]) ** 2))
        k = k / k.sum()
        k2 = (k[:, None] * k[None, :]).view(1, 1, 5, 5).repeat(3, 1, 1, 1)
        out[i : i + 1] = F.conv2d(F.pad(x64[i : i + 1], (2, 2, 2, 2), mode="replicate"), k2, groups=3)
    return (out + torch.randn(out.shape, generator=gen) * 0.03 * torch.rand(b, 1, 1, 1, generator=gen)).clamp(-1, 1)


class Pairs:
    def __init__(self, art, smoke):
        self.art = art
        self.smoke = smoke
        self.inv_idx = []
        self.inv = None
        self.reload()

    def reload(self):
        p = os.path.join(CACHE, "inverted.json")
        if self.smoke or not os.path.exists(p):
            return
        meta = json.load(open(p))
        n = len(meta["index"])
        raw = np.fromfile(os.path.join(CACHE, "inverted.u8"), np.uint8, count=n * SMALL * SMALL * 3)
        n = raw.size // (SMALL * SMALL * 3)
        self.inv = raw[: n * SMALL * SMALL * 3].reshape(n, SMALL, SMALL, 3)
        self.inv_idx = meta["index"][:n]

    def batch(self, bs, crop, rng, tgen, inv_frac, blur=(0.3, 1.4), ramp=800):
        """crop: size of the 64 px side crop; returns (input crop, target crop x4, number of inverted
        pairs, which come first)."""
        # ramp the inverted share up as pairs arrive, so the first few are not memorised
        n_inv = int(round(bs * inv_frac * min(1.0, len(self.inv_idx) / ramp)))
        xs, ys = [], []
        if n_inv:
            pick = rng.randint(0, len(self.inv_idx), n_inv)
            ys.append(to_t(self.art[[self.inv_idx[p] for p in pick]]))
            xs.append(to_t(self.inv[pick]))
        n_plain = bs - n_inv
        if n_plain:
            idx = sorted(rng.randint(0, self.art.shape[0], n_plain).tolist())
            y = to_t(self.art[idx])
            ys.append(y)
            xs.append(degrade(down4(y), tgen, blur))
        x = torch.cat(xs)
        y = torch.cat(ys)
        cx, cy = [], []
        for i in range(bs):
            ox, oy = rng.randint(0, SMALL - crop + 1), rng.randint(0, SMALL - crop + 1)
            xi = x[i, :, oy : oy + crop, ox : ox + crop]
            yi = y[i, :, 4 * oy : 4 * (oy + crop), 4 * ox : 4 * (ox + crop)]
            if rng.rand() < 0.5:
                xi, yi = xi.flip(-1), yi.flip(-1)
            cx.append(xi)
            cy.append(yi)
        return torch.stack(cx), torch.stack(cy), n_inv


def export(model, path):
    m = copy.deepcopy(model).eval()
    tmp = path + ".tmp"
    torch.onnx.export(
        m, torch.zeros(1, 3, SMALL, SMALL), tmp,
        input_names=["image"], output_names=["refined"],
        dynamic_axes={"image": {0: "batch"}, "refined": {0: "batch"}},
        opset_version=13, do_constant_folding=True,
    )
    os.replace(tmp, path)
    write_manifest(os.path.dirname(path), os.path.basename(path))


def write_manifest(out, file, scale=4):
    """Declare the refiner in the model folder's manifest: frames are served at scale x the generator."""
    p = os.path.join(out, "latentstage.json")
    if not os.path.exists(p):
        return
    m = json.load(open(p))
    base = m["resolution"]["width"] // (m["refiner"]["scale"] if "refiner" in m else 1)
    m["resolution"] = {"width": base * scale, "height": base * scale}
    m["refiner"] = {"file": file, "input": "image", "output": "refined", "scale": scale}
    if m.get("browser", {}).get("render") and file not in m["browser"]["files"]:
        m["browser"]["files"].append(file)  # browsers drawing from latents run the refiner too
    with open(p + ".tmp", "w") as f:
        json.dump(m, f, indent=2)
        f.write("\n")
    os.replace(p + ".tmp", p)


def train(args):
    torch.manual_seed(1)
    rng = np.random.RandomState(1)
    tgen = torch.Generator().manual_seed(1)
    run = os.path.join(args.runs, args.run)
    os.makedirs(run, exist_ok=True)
    meta, art = load_art(args.smoke)
    pairs = Pairs(art, args.smoke)
    model = Refiner(args.channels, args.body)
    ema = copy.deepcopy(model)
    disc = PatchD()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.99))
    dopt = torch.optim.Adam(disc.parameters(), lr=args.lr, betas=(0.5, 0.99))
    step = 0
    spent = 0.0
    ck = os.path.join(run, "refiner.pt")
    if args.resume and os.path.exists(ck):
        s = torch.load(ck)
        model.load_state_dict(s["model"])
        ema.load_state_dict(s["ema"])
        disc.load_state_dict(s["disc"])
        opt.load_state_dict(s["opt"])
        dopt.load_state_dict(s["dopt"])
        step, spent = s["step"], s["spent"]
        log(f"resumed at step {step}, {spent / 60:.1f} min spent")
    budget = (0.2 if args.smoke else args.minutes) * 60
    t0 = time.time() - spent
    last_ck = last_export = last_reload = time.time()
    hist = []
    while time.time() - t0 < budget and not (args.smoke and step >= 4):
        if time.time() - last_reload > 120:
            pairs.reload()
            last_reload = time.time()
        x, y, n_inv = pairs.batch(args.batch, args.crop, rng, tgen, args.inv_frac, (args.blur_min, args.blur_max), args.inv_ramp)
        out = model(x)
        if args.inv_loss != "full" and n_inv:
            # G(z*) matches its art only roughly (L1 ~0.14 at 64 px), so at 256 px an inverted pair's
            # outline sits a few pixels off the art's: pixel and edge L1 there reward an averaged, soft
            # edge. Hold those pairs to the art at 64 px (colour, layout) and leave their edges to the
            # discriminator; the aligned plain pairs keep full-resolution pixel and edge losses. At 64 px
            # (low) the pattern inside each 4 x 4 output block is left free and the discriminator fills
            # it with a faint checker; mid holds inverted pairs at 128 px instead.
            w = n_inv / args.batch
            k = 4 if args.inv_loss == "low" else 2
            lo = (F.avg_pool2d(out[:n_inv], k) - F.avg_pool2d(y[:n_inv], k)).abs().mean()
            l1 = (1 - w) * (out[n_inv:] - y[n_inv:]).abs().mean() + w * lo
            le = edge_loss(out[n_inv:], y[n_inv:])
        else:
            l1 = (out - y).abs().mean()
            le = edge_loss(out, y)
        adv_on = step >= args.adv_after
        g_adv = -disc(out).mean() if adv_on else torch.zeros(())
        loss = l1 + args.edge * le + args.adv * g_adv
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            d = min(args.ema, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(d).add_(pm.detach(), alpha=1 - d)
        if adv_on or step >= args.adv_after - 50:
            d_loss = F.relu(1 - disc(y)).mean() + F.relu(1 + disc(out.detach())).mean()
            dopt.zero_grad()
            d_loss.backward()
            dopt.step()
        step += 1
        hist.append([float(l1), float(le), float(g_adv)])
        if step % 25 == 0:
            h = np.mean(hist, 0)
            hist = []
            log(f"step {step}  L1 {h[0]:.4f}  edge {h[1]:.4f}  adv {h[2]:.3f}  inv pairs {len(pairs.inv_idx)}  {(time.time() - t0) / 60:.1f} min")
        now = time.time()
        if now - last_ck > 120 or args.smoke:
            torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "disc": disc.state_dict(), "opt": opt.state_dict(),
                        "dopt": dopt.state_dict(), "step": step, "spent": now - t0, "args": vars(args)}, ck + ".tmp")
            os.replace(ck + ".tmp", ck)
            last_ck = now
        if now - last_export > args.export_minutes * 60:
            export(ema, os.path.join(args.out, "refiner.onnx"))
            log(f"exported {args.out}/refiner.onnx at step {step}")
            last_export = now
    torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "disc": disc.state_dict(), "opt": opt.state_dict(),
                "dopt": dopt.state_dict(), "step": step, "spent": time.time() - t0, "args": vars(args)}, ck)
    export(ema, os.path.join(args.out, "refiner.onnx"))
    json.dump({"steps": step, "minutes": round((time.time() - t0) / 60, 1), "threads": args.threads, "device": "cpu",
               "inverted_pairs": len(pairs.inv_idx), "args": vars(args)}, open(os.path.join(run, "train.json"), "w"), indent=2)
    log(f"done: {step} steps, exported {args.out}/refiner.onnx")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=["invert", "train"])
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "..", "emoji-256"))
    ap.add_argument("--runs", default=os.path.join(HERE, "runs"))
    ap.add_argument("--run", default="refiner")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=30, help="inversion: Adam steps per batch")
    ap.add_argument("--crop", type=int, default=32, help="train: input crop (64 px side); the target crop is 4x")
    ap.add_argument("--channels", type=int, default=24)
    ap.add_argument("--body", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--edge", type=float, default=1.0)
    ap.add_argument("--adv", type=float, default=0.03)
    ap.add_argument("--adv-after", type=int, default=400)
    ap.add_argument("--inv-frac", type=float, default=0.3, help="share of each batch from inverted generator pairs (ramped in over the first 800)")
    ap.add_argument("--inv-ramp", type=int, default=800, help="number of inverted pairs at which their share reaches --inv-frac")
    ap.add_argument("--inv-loss", choices=["full", "mid", "low"], default="full",
                    help="inverted pairs: pixel and edge L1 at 256 px (full), or pixel L1 only, at 128 px (mid) or 64 px (low)")
    ap.add_argument("--ema", type=float, default=0.995)
    ap.add_argument("--blur-min", type=float, default=0.3, help="plain pairs: Gaussian blur sigma range at 64 px")
    ap.add_argument("--blur-max", type=float, default=1.4)
    ap.add_argument("--export-minutes", type=float, default=10)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    (invert if args.stage == "invert" else train)(args)


if __name__ == "__main__":
    main()
