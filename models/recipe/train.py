#!/usr/bin/python3
"""Train the latentstage `emoji-64` model: tiny CLIP + VAE-GAN generator + text->latent prior.

Stages (each writes its artefacts as soon as it finishes, so a usable model exists early):
  1. tokenizer + vocabulary (from the captions, minus held-out paraphrases)
  2. main tiny CLIP (seed 1) -> text_encoder.onnx, image_encoder.onnx, tokenizer.json
  3. evaluator tiny CLIP (seed 2, all texts, never used by G)  -> runs/<run>/evaluator.pt
  4. VAE-GAN (encoder, decoder=generator, light discriminator); after EVERY epoch:
     refit the prior on the encoder's posterior means, export generator.onnx + prior.onnx,
     write a progress grid and the manifest.

Usage:
  /usr/bin/python3 train.py --device cpu --minutes 85 --out ../emoji-64
  /usr/bin/python3 train.py --smoke --out /tmp/smoke-model
"""
import argparse
import copy
import json
import math
import os
import random
import sys
import time
import unicodedata

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, "cache")
SIZE = 64
ZDIM = 128
EMB = 256

# ----------------------------------------------------------------------------- tokenizer

FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193


def fnv1a32(s: str) -> int:
    h = FNV_OFFSET
    for b in s.encode("utf-8"):
        h ^= b
        h = (h * FNV_PRIME) & 0xFFFFFFFF
    return h


def normalise_words(text: str):
    t = unicodedata.normalize("NFKD", text)
    t = "".join(ch for ch in t if not ("\u0300" <= ch <= "\u036f"))
    t = t.lower()
    import re

    return [w for w in re.split(r"[^a-z0-9]+", t) if w]


class Tokenizer:
    def __init__(self, words, buckets=16384, nmin=3, nmax=4, max_length=64):
        self.words = list(words)
        self.index = {w: i for i, w in enumerate(self.words)}
        self.buckets = buckets
        self.nmin, self.nmax = nmin, nmax
        self.max_length = max_length
        self.pad_id = 0
        self.word_offset = 1
        self.ngram_offset = 1 + len(self.words)
        self.size = self.ngram_offset + buckets

    def ngrams(self, w):
        s = "<" + w + ">"
        out = []
        for n in range(self.nmin, self.nmax + 1):
            for i in range(0, len(s) - n + 1):
                out.append(s[i : i + n])
        return out

    def encode(self, text):
        words = normalise_words(text)
        ids = [self.word_offset + self.index[w] for w in words if w in self.index]
        for w in words:
            for g in self.ngrams(w):
                ids.append(self.ngram_offset + fnv1a32(g) % self.buckets)
        ids = ids[: self.max_length]
        ids += [self.pad_id] * (self.max_length - len(ids))
        return ids, words, [w for w in words if w not in self.index]

    def spec(self):
        return {
            "format": "latentstage-tokenizer/1",
            "normalize": {
                "unicode": "NFKD",
                "stripCombiningMarks": "[\\u0300-\\u036f]",
                "lowercase": True,
                "order": ["NFKD", "stripCombiningMarks", "lowercase", "split"],
            },
            "split": "[^a-z0-9]+",
            "padId": self.pad_id,
            "maxLength": self.max_length,
            "wordOffset": self.word_offset,
            "words": self.index,
            "ngram": {
                "min": self.nmin,
                "max": self.nmax,
                "begin": "<",
                "end": ">",
                "hash": "fnv1a32-utf8",
                "buckets": self.buckets,
                "offset": self.ngram_offset,
            },
            "layout": "ids = [wordOffset + words[w] for each in-vocabulary word, in order] ++ "
            "[ngram.offset + fnv1a32(g) % ngram.buckets for each word in order, for n in min..max, "
            "for each n-gram g of begin+word+end, left to right]; truncate to maxLength; right-pad with padId",
        }


# ----------------------------------------------------------------------------- data


ALL_STYLES = "google,twitter,openmoji,fluent"


def load_dataset(smoke=False, styles=ALL_STYLES):
    recs = json.load(open(os.path.join(CACHE, "records.json")))
    raw = np.fromfile(os.path.join(CACHE, "images.u8"), dtype=np.uint8).reshape(-1, SIZE, SIZE, 3)
    assert len(recs) == raw.shape[0]
    keep = set(styles.split(","))
    if keep != set(ALL_STYLES.split(",")):
        idx = [i for i, r in enumerate(recs) if r["style"] in keep]
        recs = [recs[i] for i in idx]
        raw = raw[idx]
    if smoke:
        idx = list(range(0, len(recs), max(1, len(recs) // 96)))[:96]
        recs = [recs[i] for i in idx]
        raw = raw[idx]
    return recs, raw


def caption_texts(rec):
    out = [rec["label"]]
    for t in rec["tags"] + rec["keywords"]:
        if t and t.lower() != rec["label"].lower() and t not in out:
            out.append(t)
    return out


# fixed paraphrase hold-outs (label -> word), plus random ones
FIXED_HELDOUT = {
    "fire": "flame",
    "robot": "machine",
    "water wave": "ocean",
    "rocket": "shuttle",
    "pizza": "pepperoni",
    "rainbow": "pride",
    "sun": "sunshine",
    "dog face": "puppy",
    "automobile": "car",
    "deciduous tree": "wood",
    "red heart": "love",
    "grinning cat": "smiley",
}


def build_captions(recs, seed=1234, heldout_frac=0.1):
    """Return caption list [{hexcode,label,texts,heldout}] and per-record caption index."""
    caps, index = [], {}
    for r in recs:
        if r["hexcode"] not in index:
            index[r["hexcode"]] = len(caps)
            caps.append({"hexcode": r["hexcode"], "label": r["label"], "texts": caption_texts(r), "heldout": []})
    rng = random.Random(seed)
    for c in caps:
        fixed = FIXED_HELDOUT.get(c["label"])
        cands = [t for t in c["texts"][1:]]
        if fixed and fixed in cands:
            c["heldout"] = [fixed]
        elif cands and rng.random() < heldout_frac:
            c["heldout"] = [rng.choice(cands)]
        c["train_texts"] = [t for t in c["texts"] if t not in c["heldout"]]
    rec_cap = np.array([index[r["hexcode"]] for r in recs], dtype=np.int64)
    return caps, rec_cap


def vocab_from(texts):
    seen = {}
    for t in texts:
        for w in normalise_words(t):
            seen[w] = seen.get(w, 0) + 1
    return sorted(seen)


# ----------------------------------------------------------------------------- models


class TextEncoder(nn.Module):
    def __init__(self, vocab_size, ngram_offset, dim=EMB, edim=128, hidden=512):
        super().__init__()
        self.ngram_offset = ngram_offset
        self.emb = nn.Embedding(vocab_size, edim, padding_idx=0)
        nn.init.normal_(self.emb.weight, std=0.1)
        with torch.no_grad():
            self.emb.weight[0].zero_()
        self.mlp = nn.Sequential(nn.Linear(2 * edim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, ids):
        e = self.emb(ids)
        wm = ((ids > 0) & (ids < self.ngram_offset)).to(e.dtype).unsqueeze(-1)
        nm = (ids >= self.ngram_offset).to(e.dtype).unsqueeze(-1)
        w = (e * wm).sum(1) / wm.sum(1).clamp(min=1.0)
        n = (e * nm).sum(1) / nm.sum(1).clamp(min=1.0)
        h = self.mlp(torch.cat([w, n], 1))
        return F.normalize(h, dim=1)


def cbr(i, o, k=3, s=1):
    return nn.Sequential(nn.Conv2d(i, o, k, s, k // 2, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))


class ImageEncoder(nn.Module):
    """Small CNN; input [-1,1] NCHW 64x64; returns L2-normalised embedding (and features)."""

    def __init__(self, dim=EMB, w=32):
        super().__init__()
        self.b1 = cbr(3, w, 3, 2)  # 32
        self.b2 = nn.Sequential(cbr(w, 2 * w, 3, 2), cbr(2 * w, 2 * w))  # 16
        self.b3 = nn.Sequential(cbr(2 * w, 4 * w, 3, 2), cbr(4 * w, 4 * w))  # 8
        self.b4 = nn.Sequential(cbr(4 * w, 8 * w, 3, 2), cbr(8 * w, 8 * w))  # 4
        self.head = nn.Linear(8 * w * 2, dim)

    def features(self, x):
        f1 = self.b1(x)
        f2 = self.b2(f1)
        f3 = self.b3(f2)
        f4 = self.b4(f3)
        return [f1, f2, f3, f4]

    def embed_from(self, f4):
        h = torch.cat([f4.mean((2, 3)), f4.amax((2, 3))], 1)
        return F.normalize(self.head(h), dim=1)

    def forward(self, x):
        return self.embed_from(self.features(x)[-1])


class CLIP(nn.Module):
    def __init__(self, vocab_size, ngram_offset):
        super().__init__()
        self.text = TextEncoder(vocab_size, ngram_offset)
        self.image = ImageEncoder()
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))


class VEncoder(nn.Module):
    def __init__(self, zdim=ZDIM, w=32):
        super().__init__()

        def blk(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.LeakyReLU(0.2, inplace=True))

        self.net = nn.Sequential(blk(3, w), blk(w, 2 * w), blk(2 * w, 4 * w), blk(4 * w, 8 * w))  # 4x4
        self.fc = nn.Linear(8 * w * 16, 2 * zdim)

    def forward(self, x):
        h = self.net(x).flatten(1)
        mu, logvar = self.fc(h).chunk(2, 1)
        return mu, logvar.clamp(-10, 4)


class Generator(nn.Module):
    """z -> 4x4 -> (nearest upsample + 3x3 convs) 8,16,32 -> sub-pixel conv to 64x64 RGB in [-1,1]."""

    def __init__(self, zdim=ZDIM, w=32):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(zdim, 8 * w * 16), nn.BatchNorm1d(8 * w * 16), nn.ReLU(inplace=True))
        self.w = w

        def up(i, o, extra=True):
            layers = [nn.Upsample(scale_factor=2, mode="nearest"), cbr(i, o)]
            if extra:
                layers.append(cbr(o, o))
            return nn.Sequential(*layers)

        self.net = nn.Sequential(
            up(8 * w, 6 * w),  # 8
            up(6 * w, 4 * w),  # 16
            up(4 * w, 2 * w, extra=False),  # 32
            nn.Conv2d(2 * w, 12, 3, 1, 1),
            nn.PixelShuffle(2),  # 64
            nn.Tanh(),
        )

    def forward(self, z):
        h = self.fc(z).view(-1, 8 * self.w, 4, 4)
        return self.net(h)


class Discriminator(nn.Module):
    def __init__(self, w=32):
        super().__init__()
        sn = nn.utils.spectral_norm

        def blk(i, o):
            return nn.Sequential(sn(nn.Conv2d(i, o, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True))

        self.net = nn.Sequential(blk(3, w), blk(w, 2 * w), blk(2 * w, 4 * w), blk(4 * w, 8 * w))
        self.fc = sn(nn.Linear(8 * w * 16, 1))

    def forward(self, x):
        return self.fc(self.net(x).flatten(1))


class Prior(nn.Module):
    """text embedding -> (mean, scale) of a diagonal Gaussian in the standardised z space.

    Two paths, blended by how close the prompt is to a known caption label:
      * table: softmax(tau * cos) attention over the main-CLIP embeddings of the 1,914 caption labels,
        returning the mixture mean / std of those captions' posterior codes (exact for label prompts);
      * mlp: a small MLP trained on all (text, caption) pairs, which generalises to tags, keywords
        and unseen words.
    gate = sigmoid(sharp * (max cos - thr)).  The table is stored in float16.
    """

    def __init__(self, dim=EMB, zdim=ZDIM, hidden=384, ncap=0, tau=100.0, thr=0.97, sharp=100.0):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU())
        self.mean = nn.Linear(hidden, zdim)
        self.logscale = nn.Linear(hidden, zdim)
        self.tau, self.thr, self.sharp = tau, thr, sharp
        self.register_buffer("keys", torch.zeros(ncap, dim, dtype=torch.float16))
        self.register_buffer("tmean", torch.zeros(ncap, zdim, dtype=torch.float16))
        self.register_buffer("tscale", torch.ones(ncap, zdim, dtype=torch.float16))
        self.use_table = False

    def mlp(self, e):
        h = self.net(e)
        return self.mean(h), torch.exp(self.logscale(h).clamp(-6, 2))

    def set_table(self, keys, cmean, cscale):
        self.keys.copy_(keys.half())
        self.tmean.copy_(cmean.half())
        self.tscale.copy_(cscale.half())
        self.use_table = True

    def forward(self, e):
        m, s = self.mlp(e)
        if not self.use_table:
            return m, s
        keys, tm, ts = self.keys.float(), self.tmean.float(), self.tscale.float()
        sim = e @ keys.t()
        w = torch.softmax(self.tau * sim, 1)
        mt = w @ tm
        st = (w @ (ts * ts + tm * tm) - mt * mt).clamp(min=1e-4).sqrt()
        g = torch.sigmoid(self.sharp * (sim.max(1, keepdim=True)[0] - self.thr))
        return g * mt + (1 - g) * m, g * st + (1 - g) * s


class ExportGenerator(nn.Module):
    """z (standard-normal walk space) -> image; bakes the aggregate-posterior affine in."""

    def __init__(self, gen, zmean, zstd):
        super().__init__()
        self.gen = gen
        self.register_buffer("zmean", zmean.clone())
        self.register_buffer("zstd", zstd.clone())

    def forward(self, z):
        return self.gen(z * self.zstd + self.zmean)


# ----------------------------------------------------------------------------- helpers


def to_tensor_images(raw):
    return torch.from_numpy(raw).permute(0, 3, 1, 2).float().div(127.5).sub(1.0).contiguous()


def augment(x, pad=4):
    b = x.shape[0]
    xp = F.pad(x, (pad, pad, pad, pad), value=1.0)
    out = torch.empty_like(x)
    ox = torch.randint(0, 2 * pad + 1, (b,))
    oy = torch.randint(0, 2 * pad + 1, (b,))
    for i in range(b):
        out[i] = xp[i, :, oy[i] : oy[i] + SIZE, ox[i] : ox[i] + SIZE]
    return out


CL = torch.channels_last


def plain(m):
    """copy of a module in contiguous memory format, on cpu, eval mode (for ONNX export)"""
    return copy.deepcopy(m).cpu().to(memory_format=torch.contiguous_format).eval()


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def save_grid(imgs, cols, path, scale=1):
    from PIL import Image

    imgs = ((imgs.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    n = imgs.shape[0]
    rows = (n + cols - 1) // cols
    grid = np.full((rows * SIZE, cols * SIZE, 3), 255, np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        grid[r * SIZE : (r + 1) * SIZE, c * SIZE : (c + 1) * SIZE] = imgs[i]
    im = Image.fromarray(grid)
    if scale != 1:
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    im.save(path, optimize=True)


def encode_texts(tok, texts):
    return torch.tensor([tok.encode(t)[0] for t in texts], dtype=torch.long)


# ----------------------------------------------------------------------------- CLIP training


def train_clip(seed, tok, caps, rec_cap, images, minutes, use_heldout, device, log_every=20, min_epochs=1, init=None, max_steps=None):
    """Contrastive training for `minutes`, or for exactly `max_steps` steps when given (the LR decays over that)."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    model = CLIP(tok.size, tok.ngram_offset).to(device)
    if init is not None:
        model.load_state_dict(init)
    model.image.to(memory_format=CL)
    lr = 3e-3
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    text_sets = [set(c["texts"] if use_heldout else c["train_texts"]) for c in caps]
    text_lists = [c["texts"] if use_heldout else c["train_texts"] for c in caps]
    id_cache = {}

    def ids_of(t):
        if t not in id_cache:
            id_cache[t] = tok.encode(t)[0]
        return id_cache[t]

    n = images.shape[0]
    bs = min(128, n)
    steps_per_epoch = max(1, n // bs)
    t0 = time.time()
    deadline = t0 + minutes * 60
    step, epoch = 0, 0
    total_est = None
    while True:
        perm = torch.randperm(n)
        for k in range(steps_per_epoch):
            idx = perm[k * bs : (k + 1) * bs]
            x = augment(images[idx]).to(device).contiguous(memory_format=CL)
            ci = rec_cap[idx.numpy()]
            texts = []
            for c in ci:
                tl = text_lists[c]
                texts.append(tl[0] if (random.random() < 0.4 or len(tl) == 1) else random.choice(tl[1:]))
            ids = torch.tensor([ids_of(t) for t in texts], dtype=torch.long, device=device)
            # multi-positive targets: image i matches text j if text j is one of caption(i)'s texts
            tgt = torch.tensor([[1.0 if texts[j] in text_sets[c] else 0.0 for j in range(len(texts))] for c in ci], device=device)
            ie = model.image(x)
            te = model.text(ids)
            scale = model.logit_scale.exp().clamp(max=100)
            logits = scale * ie @ te.t()
            li = -(F.log_softmax(logits, 1) * (tgt / tgt.sum(1, keepdim=True))).sum(1).mean()
            lt = -(F.log_softmax(logits.t(), 1) * (tgt.t() / tgt.t().sum(1, keepdim=True))).sum(1).mean()
            loss = (li + lt) / 2
            # cosine-decayed LR over the step or time budget
            frac = min(1.0, step / max_steps if max_steps else (time.time() - t0) / (minutes * 60))
            for g in opt.param_groups:
                g["lr"] = lr * min(1.0, step / 50 + 0.02) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if step % log_every == 0:
                acc = (logits.argmax(1) == torch.arange(len(texts), device=device)).float().mean().item()
                log(f"clip[{seed}] ep {epoch} step {step} loss {loss.item():.3f} acc {acc:.2f} scale {scale.item():.1f}")
            if max_steps and step >= max_steps:
                break
        epoch += 1
        if (step >= max_steps if max_steps else time.time() > deadline and epoch >= min_epochs):
            break
    log(f"clip[{seed}] done: {epoch} epochs, {step} steps, {time.time() - t0:.0f}s")
    model.eval()
    return model, {"epochs": epoch, "steps": step, "seconds": round(time.time() - t0)}


@torch.no_grad()
def embed_images(img_enc, images, device, bs=512):
    out = []
    for i in range(0, images.shape[0], bs):
        out.append(img_enc(images[i : i + bs].to(device)).cpu())
    return torch.cat(out)


@torch.no_grad()
def embed_texts(txt_enc, tok, texts, device, bs=1024):
    out = []
    for i in range(0, len(texts), bs):
        out.append(txt_enc(encode_texts(tok, texts[i : i + bs]).to(device)).cpu())
    return torch.cat(out)


# ----------------------------------------------------------------------------- export


def onnx_export(module, args, path, input_names, output_names, dynamic_axes, fold=True):
    tmp = path + ".tmp"
    torch.onnx.export(
        module,
        args,
        tmp,
        input_names=input_names,
        output_names=output_names,
        dynamic_axes=dynamic_axes,
        opset_version=13,
        do_constant_folding=fold,  # False keeps float16 tables float16 (Cast at run time)
    )
    os.replace(tmp, path)


class _TE(nn.Module):
    def __init__(self, t):
        super().__init__()
        self.t = t

    def forward(self, ids):
        return self.t(ids)


def export_clip(clip, tok, out):
    clip = plain(clip)
    onnx_export(_TE(clip.text), (torch.zeros(1, tok.max_length, dtype=torch.long),), os.path.join(out, "text_encoder.onnx"),
                ["ids"], ["embedding"], {"ids": {0: "batch"}, "embedding": {0: "batch"}})
    onnx_export(clip.image, (torch.zeros(1, 3, SIZE, SIZE),), os.path.join(out, "image_encoder.onnx"),
                ["image"], ["embedding"], {"image": {0: "batch"}, "embedding": {0: "batch"}})


REFERENCE_PROMPTS = ["Robot", "red heart", "fire", "smiling cat", "ocean wave", "flame!!", "zzqx unseenword", "Pizza, please?", "PIÑATA & crème brûlée"]


def write_tokenizer(tok, clip, out):
    spec = tok.spec()
    ref = []
    if clip is not None:
        with torch.no_grad():
            emb = plain(clip.text)(encode_texts(tok, REFERENCE_PROMPTS))
    for i, p in enumerate(REFERENCE_PROMPTS):
        ids, words, unknown = tok.encode(p)
        r = {"text": p, "ids": ids, "words": words, "unknown": unknown}
        if clip is not None:
            r["embedding"] = [round(float(v), 6) for v in emb[i]]
        ref.append(r)
    spec["reference"] = ref
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(spec, f, separators=(",", ":"))
    with open(os.path.join(out, "vocabulary.txt"), "w") as f:
        f.write("\n".join(tok.words) + "\n")


def write_manifest(out):
    m = {
        "format": "latentstage/1",
        "id": "emoji-64",
        "name": "Emoji 64",
        "description": "64x64 emoji VAE-GAN walked by a tiny CLIP text prior (Fluent, Noto, Twemoji, OpenMoji art).",
        "card": "MODEL_CARD.md",
        "resolution": {"width": SIZE, "height": SIZE},
        "generator": {"file": "generator.onnx", "z": {"input": "z", "dim": ZDIM}, "output": {"name": "image", "layout": "NCHW", "range": [-1, 1]}},
        "text": {"encoder": "text_encoder.onnx", "input": "ids", "output": "embedding", "dim": EMB,
                 "tokenizer": "tokenizer.json", "vocabulary": "vocabulary.txt"},
        "image": {"encoder": "image_encoder.onnx", "input": "image", "output": "embedding", "dim": EMB,
                  "size": SIZE, "layout": "NCHW", "range": [-1, 1]},
        "prior": {"file": "prior.onnx", "input": "embedding", "mean": "mean", "scale": "scale"},
    }
    # keep the refiner stage (refiner.py) when the folder has one: frames are then served at 4x
    try:
        with open(os.path.join(out, "latentstage.json")) as f:
            old = json.load(f)
    except (OSError, ValueError):
        old = {}
    for key in old:
        if key not in m:
            m[key] = old[key]
    if "refiner" in m and os.path.exists(os.path.join(out, m["refiner"]["file"])):
        s = m["refiner"]["scale"]
        m["resolution"] = {"width": SIZE * s, "height": SIZE * s}
    else:
        m.pop("refiner", None)
    if os.path.exists(os.path.join(out, "lexicon.json")):  # written by build-lexicon.py
        m["text"]["lexicon"] = "lexicon.json"
    # small enough for browsers to draw from latents: the generator, and the refiner when kept
    m["browser"] = {"render": True, "files": [m["generator"]["file"]] + ([m["refiner"]["file"]] if "refiner" in m else [])}
    with open(os.path.join(out, "latentstage.json"), "w") as f:
        json.dump(m, f, indent=2)
        f.write("\n")


# ----------------------------------------------------------------------------- prior fitting


@torch.no_grad()
def posterior_stats(enc, images, rec_cap, ncap, device, bs=512):
    enc.eval()
    mus, vars_ = [], []
    for i in range(0, images.shape[0], bs):
        mu, lv = enc(images[i : i + bs].to(device))
        mus.append(mu.cpu())
        vars_.append(lv.exp().cpu())
    enc.train()
    mu = torch.cat(mus)
    var = torch.cat(vars_)
    zmean = mu.mean(0)
    zstd = (mu.var(0) + var.mean(0)).sqrt()
    # standardised per-caption targets
    mus_s = (mu - zmean) / zstd
    var_s = var / zstd**2
    rc = torch.from_numpy(rec_cap)
    cnt = torch.zeros(ncap).index_add_(0, rc, torch.ones(len(rc))).unsqueeze(1)
    cmean = torch.zeros(ncap, mu.shape[1]).index_add_(0, rc, mus_s) / cnt
    dev = (mus_s - cmean[rc]) ** 2 + var_s
    cvar = torch.zeros(ncap, mu.shape[1]).index_add_(0, rc, dev) / cnt
    cscale = cvar.sqrt().clamp(min=0.05)
    return zmean, zstd, cmean, cscale


def fit_prior(prior, text_emb, pair_cap, cmean, cscale, steps, device, lr=1e-3, weights=None):
    opt = torch.optim.Adam(prior.parameters(), lr=lr)
    prior.train()
    n = text_emb.shape[0]
    for s in range(steps):
        if weights is not None:
            idx = torch.multinomial(weights, min(512, n), replacement=True)
        else:
            idx = torch.randint(0, n, (min(512, n),))
        if steps >= 1000:
            for g in opt.param_groups:
                g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * s / steps))
        e = text_emb[idx].to(device)
        c = pair_cap[idx]
        m, sc = prior.mlp(e)
        loss = F.mse_loss(m, cmean[c].to(device)) + 0.5 * F.mse_loss(sc.log(), cscale[c].log().to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    prior.eval()
    return loss.item()


# ----------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--minutes", type=float, default=85.0, help="total wall-clock budget")
    ap.add_argument("--out", default=os.path.join(HERE, "..", "emoji-64"))
    ap.add_argument("--runs", default=os.path.join(HERE, "runs"))
    ap.add_argument("--run", default="main")
    ap.add_argument("--smoke", action="store_true", help="a few steps on ~96 images, for tests")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--styles", default=ALL_STYLES, help="comma list of art sets to train on (e.g. drop openmoji to avoid CC-BY-SA)")
    ap.add_argument("--beta-kl", type=float, default=1e-4, help="KL weight (per-sample KL sum vs. per-pixel mean L1)")
    ap.add_argument("--resume", action="store_true", help="continue the VAE-GAN from runs/NAME/vaegan.pt (implies --reuse-clip)")
    ap.add_argument("--refit-prior", action="store_true", help="only refit the prior (3000 steps) on runs/NAME/vaegan.pt and re-export")
    ap.add_argument("--prior-steps", type=int, default=6000, help="prior fitting steps after the last epoch")
    ap.add_argument("--reuse-clip", action="store_true", help="reuse CLIP/evaluator checkpoints in the run dir")
    ap.add_argument("--evaluator-only", action="store_true",
                    help="only train the evaluator CLIP (seed 2) for the whole --minutes budget -> runs/NAME/evaluator.pt "
                         "(with --resume: continue from it)")
    ap.add_argument("--evaluator-steps", type=int, default=None,
                    help="with --evaluator-only: train exactly this many steps instead of for --minutes (the card's evaluator: 2184)")
    args = ap.parse_args()
    if args.refit_prior:
        args.resume = True
    if args.resume and not args.evaluator_only:
        args.reuse_clip = True

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    out = os.path.abspath(args.out)
    run_dir = os.path.join(os.path.abspath(args.runs), args.run if not args.smoke else "smoke")
    os.makedirs(out, exist_ok=True)
    os.makedirs(os.path.join(out, "samples"), exist_ok=True)
    os.makedirs(run_dir, exist_ok=True)
    T0 = time.time()
    budget = args.minutes * 60 if not args.smoke else 60
    clip_min = 0.1 if args.smoke else args.minutes * 0.14
    eval_min = 0.1 if args.smoke else args.minutes * 0.08

    recs, raw = load_dataset(args.smoke, args.styles)
    images = to_tensor_images(raw)
    caps, rec_cap = build_captions(recs)
    if args.evaluator_only:
        etok = Tokenizer(vocab_from([t for c in caps for t in c["texts"]]))
        ev_ck = os.path.join(run_dir, "evaluator.pt")
        init = torch.load(ev_ck)["model"] if args.resume and os.path.exists(ev_ck) else None
        ev, ev_info = train_clip(2, etok, caps, rec_cap, images, eval_min if args.smoke else args.minutes, True, device, init=init,
                                 max_steps=args.evaluator_steps)
        torch.save({"model": ev.state_dict(), "words": etok.words, "info": ev_info}, os.path.join(run_dir, "evaluator.pt"))
        log(f"evaluator only: {ev_info}")
        return
    train_texts = [t for c in caps for t in c["train_texts"]]
    all_texts = [t for c in caps for t in c["texts"]]
    tok = Tokenizer(vocab_from(train_texts))
    etok = Tokenizer(vocab_from(all_texts))
    log(f"{len(recs)} images, {len(caps)} captions, {len(train_texts)} train texts, vocab {len(tok.words)} (eval vocab {len(etok.words)}), "
        f"heldout {sum(len(c['heldout']) for c in caps)}")
    write_tokenizer(tok, None, out)
    write_manifest(out)
    info = {"images": len(recs), "captions": len(caps), "vocabulary": len(tok.words)}

    # ---- main CLIP
    clip_ck = os.path.join(run_dir, "clip.pt")
    if args.reuse_clip and os.path.exists(clip_ck):
        clip = CLIP(tok.size, tok.ngram_offset)
        clip.load_state_dict(torch.load(clip_ck)["model"])
        clip.eval()
        info["clip"] = torch.load(clip_ck).get("info")
        log("reusing main CLIP")
    else:
        clip, info["clip"] = train_clip(1, tok, caps, rec_cap, images, clip_min, False, device)
        torch.save({"model": clip.state_dict(), "info": info["clip"]}, clip_ck)
    clip = clip.to(device).eval()
    for p in clip.parameters():
        p.requires_grad_(False)
    export_clip(clip, tok, out)
    clip = clip.to(device)
    write_tokenizer(tok, clip, out)
    clip = clip.to(device)
    log("exported text/image encoders + tokenizer")

    # ---- evaluator CLIP (different seed, all texts incl. held-out; never used by G)
    ev_ck = os.path.join(run_dir, "evaluator.pt")
    if not (args.reuse_clip and os.path.exists(ev_ck)):
        ev, ev_info = train_clip(2, etok, caps, rec_cap, images, eval_min, True, device)
        torch.save({"model": ev.state_dict(), "words": etok.words, "info": ev_info}, ev_ck)
        del ev

    # ---- text embeddings for prior fitting (main CLIP, training texts only)
    pair_texts, pair_cap, pair_w = [], [], []
    n_other = sum(len(c["train_texts"]) - 1 for c in caps)
    for ci, c in enumerate(caps):
        for j, t in enumerate(c["train_texts"]):
            pair_texts.append(t)
            pair_cap.append(ci)
            # labels carry half of the sampling mass (prompts are mostly label-like words)
            pair_w.append(max(1.0, n_other / len(caps)) if j == 0 else 1.0)
    pair_cap = torch.tensor(pair_cap)
    pair_w = torch.tensor(pair_w)
    text_emb = embed_texts(clip.text, tok, pair_texts, device)
    label_emb = embed_texts(clip.text, tok, [c["label"] for c in caps], device)

    # fixed progress grid (8 prompts x 4 noise rows; row 0 = prior mean)
    grid_prompts = ["robot", "red heart", "fire", "smiling cat", "ocean wave", "rocket", "pizza", "tree"]
    grid_emb = embed_texts(clip.text, tok, grid_prompts, device)
    g = torch.Generator().manual_seed(7)
    grid_noise = torch.cat([torch.zeros(1, ZDIM), torch.randn(3, ZDIM, generator=g)])

    # ---- VAE-GAN
    torch.manual_seed(3)
    enc, gen, disc, prior = VEncoder().to(device), Generator().to(device), Discriminator().to(device), Prior(ncap=len(caps)).to(device)
    for m in (enc, gen, disc, clip.image):
        m.to(memory_format=CL)
    opt_g = torch.optim.Adam(list(enc.parameters()) + list(gen.parameters()), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999))
    n = images.shape[0]
    bs = 32 if not args.smoke else 16
    steps_per_epoch = max(1, n // bs)
    beta_kl = args.beta_kl
    w_feat, w_emb, w_adv = 1.0, 0.5, 0.05
    zmean, zstd = torch.zeros(ZDIM), torch.ones(ZDIM)
    vae_t0 = time.time()
    reserve = 90 if not args.smoke else 0  # seconds kept for the final export
    epoch, step = 0, 0
    history = []
    vck = os.path.join(run_dir, "vaegan.pt")
    if args.resume and os.path.exists(vck):
        ck = torch.load(vck)
        enc.load_state_dict(ck["enc"])
        gen.load_state_dict(ck["gen"])
        disc.load_state_dict(ck["disc"])
        try:
            missing = prior.load_state_dict(ck["prior"], strict=False)
            log(f"prior loaded ({missing})")
        except RuntimeError:
            log("prior shape changed; starting the prior from scratch")
        opt_g.load_state_dict(ck["opt_g"])
        opt_d.load_state_dict(ck["opt_d"])
        zmean, zstd, epoch, step = ck["zmean"], ck["zstd"], ck["epoch"], ck["step"]
        old = json.load(open(os.path.join(run_dir, "train-info.json")))
        history = old.get("vae", {}).get("history", [])
        info["clip"] = old.get("clip")
        info["resumed_at_epoch"] = epoch
        log(f"resumed VAE-GAN at epoch {epoch}, step {step}; beta_kl {beta_kl}")
    stop = False
    if args.refit_prior:
        stop = True
        k = 0
    while True:
        if stop and not args.refit_prior:
            break
        perm = torch.randperm(n)
        te = time.time()
        acc = {"l1": 0.0, "feat": 0.0, "kl": 0.0, "adv": 0.0, "d": 0.0}
        for k in range(0 if args.refit_prior else steps_per_epoch):
            idx = perm[k * bs : (k + 1) * bs]
            x = images[idx].to(device).contiguous(memory_format=CL)
            mu, logvar = enc(x)
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
            xr = gen(z)
            adv_on = epoch >= 2 or args.smoke
            # discriminator
            if adv_on:
                zr = torch.randn(bs // 2, ZDIM, device=device) * zstd.to(device) + zmean.to(device)
                with torch.no_grad():
                    xs = gen(zr)
                d_real = disc(x)
                d_fake = disc(torch.cat([xr.detach(), xs]))
                ld = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
                opt_d.zero_grad(set_to_none=True)
                ld.backward()
                opt_d.step()
                acc["d"] += ld.item()
            # generator / encoder
            l1 = (xr - x).abs().mean()
            fr = clip.image.features(x)
            ff = clip.image.features(xr)
            lfeat = sum((a - b).abs().mean() for a, b in zip(fr[1:], ff[1:])) / 3
            lemb = (1 - (clip.image.embed_from(fr[-1]) * clip.image.embed_from(ff[-1])).sum(1)).mean()
            kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
            loss = l1 + w_feat * lfeat + w_emb * lemb + beta_kl * kl
            if adv_on:
                ladv = -disc(xr).mean()
                loss = loss + w_adv * ladv
                acc["adv"] += ladv.item()
            opt_g.zero_grad(set_to_none=True)
            loss.backward()
            opt_g.step()
            acc["l1"] += l1.item()
            acc["feat"] += lfeat.item()
            acc["kl"] += kl.item()
            step += 1
            if step % 50 == 0:
                log(f"vae ep {epoch} step {step} l1 {l1.item():.3f} feat {lfeat.item():.3f} emb {lemb.item():.3f} kl {kl.item():.1f}"
                    f" {(time.time() - te) / (k + 1):.2f}s/step")
            elapsed = time.time() - T0
            if args.smoke and step >= 3:
                stop = True
                break
            if elapsed > budget - reserve:
                stop = True
                break
        if not args.refit_prior:
            epoch += 1
        # ---- per-epoch: prior refit + export
        zmean, zstd, cmean, cscale = posterior_stats(enc, images, rec_cap, len(caps), device)
        final = stop or args.refit_prior
        psteps = (args.prior_steps if final else 400) if not args.smoke else 5
        ploss = fit_prior(prior, text_emb, pair_cap, cmean, cscale, psteps, device, weights=pair_w)
        prior.set_table(label_emb, cmean, cscale)
        gen.eval()
        eg = ExportGenerator(gen, zmean.to(device), zstd.to(device)).eval()
        with torch.no_grad():
            m, s = prior(grid_emb)
            zz = (m.unsqueeze(0) + s.unsqueeze(0) * grid_noise.to(device).unsqueeze(1)).reshape(-1, ZDIM)
            imgs = eg(zz)
        save_grid(imgs, 8, os.path.join(run_dir, f"progress-{epoch:03d}.png"))
        eg_cpu = ExportGenerator(plain(gen), zmean, zstd).eval()
        onnx_export(eg_cpu, (torch.zeros(2, ZDIM),), os.path.join(out, "generator.onnx"), ["z"], ["image"],
                    {"z": {0: "batch"}, "image": {0: "batch"}})
        onnx_export(plain(prior), (torch.zeros(2, EMB),), os.path.join(out, "prior.onnx"), ["embedding"], ["mean", "scale"],
                    {"embedding": {0: "batch"}, "mean": {0: "batch"}, "scale": {0: "batch"}}, fold=False)
        gen.train()
        nsteps = k + 1
        h = {k2: round(v / nsteps, 4) for k2, v in acc.items()}
        h.update(epoch=epoch, seconds=round(time.time() - te), prior_loss=round(ploss, 4))
        if not args.refit_prior:
            history.append(h)
        log(f"epoch {epoch} done {h}")
        torch.save({"enc": enc.state_dict(), "gen": gen.state_dict(), "disc": disc.state_dict(), "prior": prior.state_dict(),
                    "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "zmean": zmean, "zstd": zstd,
                    "epoch": epoch, "step": step, "beta_kl": beta_kl, "prior_table": prior.use_table}, os.path.join(run_dir, "vaegan.pt"))
        h["beta_kl"] = beta_kl
        if args.refit_prior:
            old = json.load(open(os.path.join(run_dir, "train-info.json")))
            old["prior_refit"] = {"steps": psteps, "loss": round(ploss, 4)}
            old["vae"]["history"] = old["vae"]["history"][:epoch]
            with open(os.path.join(run_dir, "train-info.json"), "w") as f:
                json.dump(old, f, indent=1)
            save_grid(imgs, 8, os.path.join(out, "samples", "progress.png"))
            break
        info.update(vae={"epochs": epoch, "steps": step, "batch": bs, "seconds": round(time.time() - vae_t0), "history": history},
                    total_seconds=round(time.time() - T0), torch=torch.__version__, threads=args.threads, device=args.device)
        with open(os.path.join(run_dir, "train-info.json"), "w") as f:
            json.dump(info, f, indent=1)
        save_grid(imgs, 8, os.path.join(out, "samples", "progress.png"))
        if args.refit_prior:
            break
    log(f"training finished in {time.time() - T0:.0f}s")


if __name__ == "__main__":
    main()
