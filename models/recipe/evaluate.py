#!/usr/bin/python3
"""Evaluate the emoji-64 model with the independent EVALUATOR tiny-CLIP (seed 2, never used by G).

Metrics
  R-precision (AttnGAN-style): for each caption, generate an image from the prompt through
    main text encoder -> prior -> generator; embed it with the evaluator image encoder; rank the
    true caption label among 100 candidate labels (itself + 99 random other captions) by the
    evaluator's cosine; R-precision = % ranked first.
      (a) prompts = training caption labels
      (b) prompts = held-out paraphrases (keywords/tags that were withheld from the main CLIP's and
          the prior's training text; the target is still the caption's label)
  FD: Frechet distance in the evaluator's image-embedding space, all real images vs. one
      generated image per real image (same caption, random walk vector).
  Prompt sheet: models/emoji-64/samples/prompt-sheet.png (12 prompts x 4: row 1 = prior mean,
      rows 2-4 = mean + scale * n for fixed n).

Usage: /usr/bin/python3 evaluate.py [--run main] [--out ../emoji-64]
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import (  # noqa: E402
    ALL_STYLES, CLIP, EMB, ZDIM, ExportGenerator, Generator, Prior, Tokenizer, build_captions, embed_texts, load_dataset, save_grid,
    to_tensor_images, vocab_from, VEncoder, HERE,
)

SHEET = ["robot", "red heart", "fire", "smiling cat", "ocean wave", "rocket", "pizza", "tree", "sun", "car", "dog", "rainbow"]


def frechet(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(s1)
    r1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = r1 @ s2 @ r1
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)


def r_precision(img_emb, true_idx, label_emb, rng, ncand=100):
    """img_emb [N,D] (evaluator), true_idx [N] caption ids, label_emb [C,D] evaluator text embeddings."""
    C = label_emb.shape[0]
    ncand = min(ncand, C)
    hits = 0
    for i in range(img_emb.shape[0]):
        t = int(true_idx[i])
        others = rng.choice(C - 1, ncand - 1, replace=False)
        others = others + (others >= t)
        cand = np.concatenate([[t], others])
        s = label_emb[cand] @ img_emb[i]
        hits += int(np.argmax(s) == 0)
    return 100.0 * hits / img_emb.shape[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="main")
    ap.add_argument("--runs", default=os.path.join(HERE, "runs"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "emoji-64"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--styles", default=ALL_STYLES, help="must match the training run")
    ap.add_argument("--smoke", action="store_true", help="evaluate the --smoke run (tiny subset) to test the script")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    run_dir = os.path.join(args.runs, "smoke" if args.smoke else args.run)

    recs, raw = load_dataset(args.smoke, args.styles)
    images = to_tensor_images(raw)
    caps, rec_cap = build_captions(recs)
    tok = Tokenizer(vocab_from([t for c in caps for t in c["train_texts"]]))
    etok = Tokenizer(vocab_from([t for c in caps for t in c["texts"]]))

    clip = CLIP(tok.size, tok.ngram_offset)
    clip.load_state_dict(torch.load(os.path.join(run_dir, "clip.pt"))["model"])
    clip.eval()
    evck = torch.load(os.path.join(run_dir, "evaluator.pt"))
    assert evck["words"] == etok.words
    ev = CLIP(etok.size, etok.ngram_offset)
    ev.load_state_dict(evck["model"])
    ev.eval()
    ck = torch.load(os.path.join(run_dir, "vaegan.pt"))
    gen, prior, enc = Generator(), Prior(ncap=len(caps)), VEncoder()
    gen.load_state_dict(ck["gen"])
    prior.load_state_dict(ck["prior"])
    prior.use_table = bool(ck.get("prior_table", False))
    enc.load_state_dict(ck["enc"])
    G = ExportGenerator(gen, ck["zmean"], ck["zstd"]).eval()
    prior.eval()
    enc.eval()

    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)

    @torch.no_grad()
    def generate(texts, noise=True, bs=256):
        out = []
        e = embed_texts(clip.text, tok, texts, "cpu")
        for i in range(0, len(texts), bs):
            m, s = prior(e[i : i + bs])
            n = torch.randn_like(m) if noise else torch.zeros_like(m)
            out.append(G(m + s * n))
        return torch.cat(out)

    @torch.no_grad()
    def ev_img(x, bs=512):
        return torch.cat([ev.image(x[i : i + bs]) for i in range(0, x.shape[0], bs)]).numpy()

    labels = [c["label"] for c in caps]
    label_emb = embed_texts(ev.text, etok, labels, "cpu").numpy()
    res = {}

    # real-image reference (upper bound): every real image vs. its caption label
    real_emb = ev_img(images)
    res["r_precision_real_images"] = round(r_precision(real_emb, rec_cap, label_emb, rng), 2)

    # (a) training captions
    ci = np.arange(len(caps))
    xa = generate(labels, noise=True)
    res["r_precision_a_train_captions"] = round(r_precision(ev_img(xa), ci, label_emb, rng), 2)
    xa0 = generate(labels, noise=False)
    res["r_precision_a_prior_mean"] = round(r_precision(ev_img(xa0), ci, label_emb, rng), 2)

    # reconstructions through the VAE (upper bound for the generator alone)
    with torch.no_grad():
        rec = torch.cat([G.gen(enc(images[i : i + 512])[0]) for i in range(0, images.shape[0], 512)])
    res["r_precision_vae_reconstructions"] = round(r_precision(ev_img(rec), rec_cap, label_emb, rng), 2)

    # (b) held-out paraphrases
    hb_text, hb_cap = [], []
    for i, c in enumerate(caps):
        for t in c["heldout"]:
            hb_text.append(t)
            hb_cap.append(i)
    xb = generate(hb_text, noise=True)
    res["r_precision_b_heldout_paraphrases"] = round(r_precision(ev_img(xb), np.array(hb_cap), label_emb, rng), 2)
    xb0 = generate(hb_text, noise=False)
    res["r_precision_b_prior_mean"] = round(r_precision(ev_img(xb0), np.array(hb_cap), label_emb, rng), 2)
    # the hand-picked paraphrases (e.g. "flame" for fire), 20 walk vectors each
    from train import FIXED_HELDOUT
    fx = [(t, i) for t, i in zip(hb_text, hb_cap) if FIXED_HELDOUT.get(caps[i]["label"]) == t]
    if fx:
        ft = [t for t, _ in fx] * 20
        fc = np.array([i for _, i in fx] * 20)
        res["r_precision_b_fixed_paraphrases"] = round(r_precision(ev_img(generate(ft, noise=True)), fc, label_emb, rng), 2)
        res["fixed_paraphrases"] = [f"{caps[i]['label']} <- '{t}'" for t, i in fx]
    res["heldout_pairs"] = len(hb_text)
    res["heldout_examples"] = [f"{caps[c]['label']} <- '{t}'" for t, c in list(zip(hb_text, hb_cap))[:12]]
    # chance level
    res["r_precision_chance"] = 1.0

    # FD in evaluator image-embedding space
    xg = generate([caps[c]["label"] for c in rec_cap], noise=True)
    gen_emb = ev_img(xg)
    res["fd_real_vs_generated"] = round(frechet(real_emb, gen_emb), 4)
    res["fd_real_vs_reconstructions"] = round(frechet(real_emb, ev_img(rec)), 4)
    perm = rng.permutation(len(real_emb))
    h = len(perm) // 2
    res["fd_real_half_vs_half"] = round(frechet(real_emb[perm[:h]], real_emb[perm[h:]]), 4)
    with torch.no_grad():
        xu = torch.cat([G(torch.randn(512, ZDIM)) for _ in range((len(real_emb) + 511) // 512)])[: len(real_emb)]
    res["fd_real_vs_unprompted_N01"] = round(frechet(real_emb, ev_img(xu)), 4)

    # prompt sheet: 12 prompts (columns) x 4 rows (prior mean, 3 fixed walk vectors)
    g = torch.Generator().manual_seed(11)
    noise = torch.cat([torch.zeros(1, ZDIM), torch.randn(3, ZDIM, generator=g)])
    with torch.no_grad():
        e = embed_texts(clip.text, tok, SHEET, "cpu")
        m, s = prior(e)
        z = (m.unsqueeze(0) + s.unsqueeze(0) * noise.unsqueeze(1)).reshape(-1, ZDIM)
        sheet = G(z)
    os.makedirs(os.path.join(args.out, "samples"), exist_ok=True)
    save_grid(sheet, len(SHEET), os.path.join(args.out, "samples", "prompt-sheet.png"))
    save_grid(sheet, len(SHEET), os.path.join(run_dir, "prompt-sheet-2x.png"), scale=2)
    # sheet R-precision (how often the evaluator picks the sheet prompt among the 12 sheet prompts)
    sheet_emb = ev_img(sheet)
    st = embed_texts(ev.text, etok, SHEET, "cpu").numpy()
    pick = (sheet_emb @ st.T).argmax(1)
    res["prompt_sheet_top1_of_12"] = round(100.0 * float((pick == np.tile(np.arange(len(SHEET)), 4)).mean()), 1)
    # reconstructions vs. real, and unprompted samples (small grids for the card)
    idx = rng.choice(len(recs), 16, replace=False)
    save_grid(torch.cat([images[idx], rec[idx]]), 16, os.path.join(args.out, "samples", "reconstructions.png"))
    save_grid(xu[:32], 16, os.path.join(args.out, "samples", "unprompted.png"))

    res["seconds"] = round(time.time() - t0)
    with open(os.path.join(run_dir, "eval.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
