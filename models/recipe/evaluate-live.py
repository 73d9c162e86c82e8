#!/usr/bin/python3
"""Judge LIVE-WALK frames with the evaluator tiny CLIP (seed 2, never used by the model).

Frames come from the real server path (live-frames.ts: prompt language, lexicon, text encoder,
prior, steering, engine walk, ONNX generator), not from the Python modules, so this measures what
a performer sees.

Sets
  captions     a seeded random subset of the caption labels (--n, 0 = all); target = the caption
  paraphrases  paraphrases.json: words never in the training texts, such words in filler phrases,
               and phrases of known words; target = the caption label written next to each
  phrases      phrases.json (words v3, held out): compound names, descriptions, occasions, feelings,
               group words; reported per class (dev-phrases: the tuning phrases)
Metrics
  R-precision (AttnGAN style, as evaluate.py): every frame ranks its target label among 100 labels
  (itself + 99 random others) by evaluator cosine; % ranked first (chance 1%). Also split by kind,
  group and by how the server read the prompt (as the intended label, as another concept, as none).
  as_read: the same R-precision against the concept the server read instead of the intended label (overall
  and per class): does the picture show the reading? Separates the reading from the drawing.
  FD (captions set): Frechet distance in the evaluator's image-embedding space between all real
  images and the live frames; real-vs-real with the same sample count as the noise floor. Also the
  evaluator's own R-precision on the real images (its ceiling: live frames are read against it).
  hold (--hold): does the walk hold the object for the whole prompt? Each prompt dwells fade + 11 s;
  one frame is taken 0.5 s after the fade and one 10 s later; the share of prompts whose later
  frame the evaluator gives the same first choice (of all captions) as the early one.
  variety (--variety): how far the walk strays from the prompt's prior mean, as the evaluator sees
  it: mean 1 - cosine between each live frame and the frame of the same prompt at truncation 0
  (rendered by a second, short walk). 0 = always the same picture. For scale, the same distance
  between two real images of one caption in different art styles is reported too.

Usage (from models/recipe, after train.py / train.py --evaluator-only):
  /usr/bin/python3 evaluate-live.py --set paraphrases [--search 1] [--run main] [--model ../emoji-64]
  /usr/bin/python3 evaluate-live.py --set captions --n 500
  /usr/bin/python3 evaluate-live.py --set captions --n 200 --steer bank --model DIR   # DIR indexed by latentstage index
  --frames-only renders without an evaluator; a later run with --reuse judges the same frames.
Writes runs/NAME/live-SET[-search][-STEER][TAG].json.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import CLIP, HERE, SIZE, Tokenizer, build_captions, embed_texts, load_dataset, normalise_words, to_tensor_images, vocab_from  # noqa: E402
from evaluate import frechet, r_precision  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def normalise(text):
    return " ".join(normalise_words(text))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", choices=["captions", "paraphrases", "phrases", "dev-phrases"], required=True)
    ap.add_argument("--hold", action="store_true", help="frames 0.5 s and 10.5 s after the fade: does the walk hold the object")
    ap.add_argument("--n", type=int, default=500, help="captions set: how many captions (0 = all)")
    ap.add_argument("--search", type=int, default=0)
    ap.add_argument("--model", default=os.path.join(HERE, "..", "emoji-64"))
    ap.add_argument("--run", default="main")
    ap.add_argument("--runs", default=os.path.join(HERE, "runs"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", type=int, default=2, help="frames per prompt")
    ap.add_argument("--fps", type=float, default=2)
    ap.add_argument("--tag", default="", help="suffix of the output file")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--truncation", default="", help="walk truncation (default: the server's)")
    ap.add_argument("--variety", action="store_true", help="also render each prompt at truncation 0 and report how far the walk strays from it")
    ap.add_argument("--reuse", action="store_true", help="judge frames already rendered for the same set/tag again (e.g. with a newer evaluator)")
    ap.add_argument("--steer", default="auto", choices=["auto", "prior", "bank", "search"],
                    help="steering path, as serve --steer (bank: the model's latent bank with its prior switched off; search: the CMA-ES search alone, with --search 1)")
    ap.add_argument("--frames-only", action="store_true", help="only render the live frames (no evaluator needed); judge them later with --reuse")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    run_dir = os.path.join(args.runs, args.run)

    recs, raw = load_dataset()
    caps, rec_cap = build_captions(recs)
    labels = [c["label"] for c in caps]
    by_label = {l: i for i, l in enumerate(labels)}
    etok = Tokenizer(vocab_from([t for c in caps for t in c["texts"]]))
    if not args.frames_only:
        evck = torch.load(os.path.join(run_dir, "evaluator.pt"))
        assert evck["words"] == etok.words
        ev = CLIP(etok.size, etok.ngram_offset)
        ev.load_state_dict(evck["model"])
        ev.eval()
    rng = np.random.default_rng(args.seed)

    if args.set == "captions":
        idx = np.arange(len(caps)) if args.n <= 0 else np.sort(rng.choice(len(caps), min(args.n, len(caps)), replace=False))
        items = [{"text": labels[i], "target": int(i), "kind": "caption", "group": "captions"} for i in idx]
    elif args.set == "paraphrases":
        doc = json.load(open(os.path.join(HERE, "paraphrases.json")))
        items = [{"text": p["text"], "target": by_label[p["label"]], "kind": p["kind"], "group": p["group"]} for p in doc["prompts"]]
    else:
        doc = json.load(open(os.path.join(HERE, f"{args.set}.json")))
        items = [{"text": p["text"], "target": by_label[p["label"]], "kind": p["class"], "group": p["class"]} for p in doc["prompts"]]
    fade = 1.5
    hold_args = ["--dwell", str(fade + 11), "--at", f"{fade + 0.5},{fade + 10.5}"] if args.hold else []
    if args.hold:
        args.samples = 2

    out_dir = os.path.join(run_dir, "live")
    os.makedirs(out_dir, exist_ok=True)
    name = f"live-{args.set}{'-search' if args.search else ''}{'-hold' if args.hold else ''}{'' if args.steer == 'auto' else '-' + args.steer}{args.tag}"
    prompts_file = os.path.join(out_dir, f"{name}.prompts.json")
    frames_file = os.path.join(out_dir, f"{name}.u8")
    json.dump([it["text"] for it in items], open(prompts_file, "w"))
    cmd = ["nice", "-n", "10", "node", "--import", "tsx", os.path.join(HERE, "live-frames.ts"), prompts_file, frames_file,
           "--model", os.path.abspath(args.model), "--samples", str(args.samples), "--fps", str(args.fps), "--search", str(args.search), "--fade", str(fade)] + (["--truncation", args.truncation] if args.truncation else []) + hold_args + ["--steer", args.steer]
    if not (args.reuse and os.path.exists(frames_file + ".json")):
        print(" ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, cwd=ROOT, check=True)
    if args.frames_only:
        return

    def embed_frames(path, n):
        info = json.load(open(path + ".json"))
        h, w = info["height"], info["width"]
        x = to_tensor_images(np.fromfile(path, dtype=np.uint8).reshape(n, h, w, 3))
        if h != SIZE:
            x = torch.nn.functional.interpolate(x, size=(SIZE, SIZE), mode="area")
        with torch.no_grad():
            return info, torch.cat([ev.image(x[i : i + 512]) for i in range(0, x.shape[0], 512)]).numpy()

    info, emb = embed_frames(frames_file, len(items) * args.samples)
    with torch.no_grad():
        label_emb = embed_texts(ev.text, etok, labels, "cpu").numpy()
    target = np.repeat(np.array([it["target"] for it in items]), args.samples)
    kinds = np.repeat(np.array([it["kind"] for it in items]), args.samples)
    groups = np.repeat(np.array([it["group"] for it in items]), args.samples)

    def reading(i):
        """How the server read prompt i: 'as intended' (steered by the target label), 'other concept', 'no concept'."""
        notes = info["meta"][i]["understood"]
        if not notes:  # typed as a label, or no concept at all
            return "as intended" if normalise(items[i]["text"]) == normalise(labels[items[i]["target"]]) else "no concept"
        m = re.match(r"^.*? -> (.*?)(?: \(.*\))?$", notes[0])
        return "as intended" if m and m.group(1) == labels[items[i]["target"]] else "other concept"

    readings = np.repeat(np.array([reading(i) for i in range(len(items))]), args.samples)

    def read_as(i):
        """The caption the server steered prompt i by (its index), or -1 for none: the label the note names."""
        notes = info["meta"][i]["understood"]
        if not notes:
            return by_norm.get(normalise(items[i]["text"]), -1)
        rest = notes[0].split(" -> ", 1)[1] if " -> " in notes[0] else ""
        fits = [l for l in by_label if rest == l or rest.startswith(l + " (")]
        return by_label[max(fits, key=len)] if fits else -1

    by_norm = {normalise(l): k for l, k in by_label.items()}
    as_read = np.repeat(np.array([read_as(i) for i in range(len(items))]), args.samples)

    res = {"set": args.set, "search": bool(args.search), "steer": info.get("steer", "prior"), "prompts": len(items), "frames": int(emb.shape[0]),
           "walk": {k: info.get(k) for k in ("fade", "dwell", "fps", "samples", "seed", "truncation")}}
    res["r_precision"] = round(r_precision(emb, target, label_emb, np.random.default_rng(args.seed)), 2)
    for key, arr in (("by_kind", kinds), ("by_group", groups), ("by_reading", readings)):
        res[key] = {}
        for k in sorted(set(arr)):
            m = arr == k
            res[key][k] = {"n": int(m.sum() // args.samples), "r_precision": round(r_precision(emb[m], target[m], label_emb, np.random.default_rng(args.seed)), 2)}
    # the picture against what the server read (not what the prompt's writer intended): does the frame show the
    # concept the reading chose? Separates the reading (by_reading) from the drawing, e.g. for group words, whose
    # intended label is one member chosen by hand while the reading draws a typical one
    res["as_read"] = {}
    for k in ["all"] + sorted(set(kinds)):
        m = (as_read >= 0) & ((kinds == k) if k != "all" else True)
        if m.any():
            res["as_read"][k] = {"n": int(m.sum() // args.samples), "r_precision": round(r_precision(emb[m], as_read[m], label_emb, np.random.default_rng(args.seed)), 2)}
    # top-1 among all captions (stricter): is the target the evaluator's first choice of 1,914?
    res["top1_of_all"] = round(100.0 * float(((emb @ label_emb.T).argmax(1) == target).mean()), 2)
    if args.hold:
        first = (emb @ label_emb.T).argmax(1).reshape(len(items), 2)
        res["hold_top1_agreement"] = round(100.0 * float((first[:, 0] == first[:, 1]).mean()), 2)
        res["hold_target_early_late"] = [round(100.0 * float((first[:, k] == target[::2]).mean()), 2) for k in (0, 1)]
    res["mean_similarity_main_clip"] = round(float(np.mean([m["similarity"] for m in info["meta"]])), 4)
    if args.set == "captions" or args.variety:
        with torch.no_grad():
            xr = to_tensor_images(raw)
            real = torch.cat([ev.image(xr[i : i + 512]) for i in range(0, xr.shape[0], 512)]).numpy()
    if args.set == "captions":
        res["fd_real_vs_live"] = round(frechet(real, emb), 4)
        sub = rng.choice(len(real), emb.shape[0], replace=False)
        res["fd_real_vs_real_same_n"] = round(frechet(real, real[sub]), 4)
        res["r_precision_real_images"] = round(r_precision(real, rec_cap, label_emb, np.random.default_rng(args.seed)), 2)
    if args.variety:
        mean_file = os.path.join(out_dir, f"{name}-mean.u8")
        mcmd = ["nice", "-n", "10", "node", "--import", "tsx", os.path.join(HERE, "live-frames.ts"), prompts_file, mean_file,
                "--model", os.path.abspath(args.model), "--samples", "1", "--fps", str(args.fps), "--dwell", "2", "--truncation", "0"]
        if not (args.reuse and os.path.exists(mean_file + ".json")):
            print(" ".join(mcmd), file=sys.stderr)
            subprocess.run(mcmd, cwd=ROOT, check=True)
        _, emb0 = embed_frames(mean_file, len(items))
        res["variety"] = round(float(np.mean(1 - np.sum(emb * np.repeat(emb0, args.samples, axis=0), axis=1))), 4)
        res["r_precision_prior_mean"] = round(r_precision(emb0, np.array([it["target"] for it in items]), label_emb, np.random.default_rng(args.seed)), 2)
        # for scale: two real images of one caption in different art styles
        by_cap = defaultdict(list)
        for i, c in enumerate(rec_cap):
            by_cap[int(c)].append(i)
        pairs = [(v[0], v[1]) for v in by_cap.values() if len(v) >= 2]
        res["variety_real_art_styles"] = round(float(np.mean([1 - real[a] @ real[b] for a, b in pairs])), 4)
    per = defaultdict(list)
    for i, it in enumerate(items):
        per["understood"].append({"prompt": it["text"], "target": labels[it["target"]], "understood": info["meta"][i]["understood"],
                                  "warnings": info["meta"][i]["warnings"],
                                  "hits": int(sum((emb[i * args.samples + s] @ label_emb.T).argmax() == it["target"] for s in range(args.samples)))})
    res["seconds"] = round(time.time() - t0)
    json.dump({**res, "prompts_detail": per["understood"]}, open(os.path.join(out_dir, f"{name}.json"), "w"), indent=1)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
