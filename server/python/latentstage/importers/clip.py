"""latentstage import clip SRC -o FOLDER: add CLIP's text and image encoders to an existing model folder.

SRC is OpenAI's TorchScript archive (ViT-B-32.pt, read without running its code: latentstage.safeload)
with its BPE vocabulary (bpe_simple_vocab_16e6.txt.gz from OpenAI's clip package) beside it, or a
Hugging Face CLIPModel folder (config.json + model.safetensors or pytorch_model.bin, tokenizer.json or
vocab.json + merges.txt). Writes text_encoder.onnx (ids [B, 77] int64 -> [B, D], L2-normalised),
image_encoder.onnx ([B, 3, S, S] in [0, 1] -> [B, D], L2-normalised; CLIP's mean/std inside), a
Hugging Face tokenizer.json, torch/text.pt + torch/image.pt, and the manifest's text/image entries.
Refuses (writing nothing) a CLIP whose embedding size differs from the one the folder already uses.
"""
from __future__ import annotations

import json
import os

import torch

from .. import clip_bpe, safeload
from ..archs import clip as clip_arch
from ..modelfolder import ImportError_, export_onnx, onnx_weights_to_fp16, save_torch, write_json
from .staging import add_to_folder

BPE_NAMES = ("bpe_simple_vocab_16e6.txt.gz", "bpe_simple_vocab_16e6.txt")


def _read_json(path: str):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except ValueError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None


def _openai(path: str):
    state = safeload.torchscript_state(path) if _is_zip(path) else safeload.torch_state(path)
    tc, ic = clip_arch.configs_from_openai(state)
    ts, vs = clip_arch.split_openai(state)
    folder = os.path.dirname(os.path.abspath(path))
    bpe = next((os.path.join(folder, n) for n in BPE_NAMES if os.path.exists(os.path.join(folder, n))), None)
    if bpe is None:
        raise FileNotFoundError(f"{folder}: OpenAI's archive holds no tokenizer; put bpe_simple_vocab_16e6.txt.gz "
                                "(from OpenAI's CLIP repository, clip/bpe_simple_vocab_16e6.txt.gz) next to it")
    merges = clip_bpe.read_openai_merges(bpe)
    vocab = clip_bpe.vocab_from_merges(merges)
    if len(vocab) != tc["vocab_size"]:
        raise ValueError(f"{bpe}: makes {len(vocab)} tokens, the text encoder has {tc['vocab_size']}")
    return tc, ic, ts, vs, clip_bpe.tokenizer_json(vocab, merges)


def _is_zip(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def _hf(folder: str):
    cfg_path = os.path.join(folder, "config.json")
    if not os.path.exists(cfg_path):
        raise FileNotFoundError(f"{folder}: no config.json (a Hugging Face CLIPModel folder has one)")
    config = _read_json(cfg_path)
    if not isinstance(config, dict) or config.get("model_type") not in (None, "clip"):
        raise ValueError(f"{cfg_path}: model_type {config.get('model_type')!r} is not a CLIP model")
    st, bin_ = os.path.join(folder, "model.safetensors"), os.path.join(folder, "pytorch_model.bin")
    if os.path.exists(st):
        state = safeload.safetensors_state(st)
    elif os.path.exists(bin_):
        state = safeload.torch_state(bin_)
    else:
        raise FileNotFoundError(f"{folder}: no model.safetensors or pytorch_model.bin")
    tc, ic, ts, vs = clip_arch.from_hf(config, state)
    tok = os.path.join(folder, "tokenizer.json")
    if os.path.exists(tok):
        tokenizer = _read_json(tok)
    elif os.path.exists(os.path.join(folder, "vocab.json")) and os.path.exists(os.path.join(folder, "merges.txt")):
        vocab = _read_json(os.path.join(folder, "vocab.json"))
        merges = clip_bpe.read_openai_merges(os.path.join(folder, "merges.txt"))
        tokenizer = clip_bpe.tokenizer_json(vocab, merges)
    else:
        raise FileNotFoundError(f"{folder}: no tokenizer.json (or vocab.json + merges.txt)")
    if not isinstance(tokenizer, dict) or (tokenizer.get("model") or {}).get("type") != "BPE":
        raise ValueError(f"{folder}: tokenizer.json is not a BPE tokenizer")
    return tc, ic, ts, vs, tokenizer


def load(src: str):
    """(text tower, image tower, tokenizer.json dict) from either format."""
    if os.path.isdir(src):
        if os.path.exists(os.path.join(src, "config.json")):
            tc, ic, ts, vs, tok = _hf(src)
        else:
            pts = sorted(f for f in os.listdir(src) if f.endswith(".pt"))
            if len(pts) != 1:
                raise FileNotFoundError(f"{src}: neither a Hugging Face CLIPModel folder (config.json) nor one OpenAI .pt")
            tc, ic, ts, vs, tok = _openai(os.path.join(src, pts[0]))
    elif os.path.isfile(src):
        tc, ic, ts, vs, tok = _openai(src)
    else:
        raise FileNotFoundError(f"{src} does not exist")
    return clip_arch.build_text(tc, ts), clip_arch.build_image(ic, vs), tok


def existing_dim(folder: str, manifest: dict) -> tuple[int | None, str]:
    """The embedding size the folder already relies on (its encoders or its latent bank), if any."""
    for key in ("text", "image"):
        entry = manifest.get(key)
        if isinstance(entry, dict) and isinstance(entry.get("dim"), int):
            return entry["dim"], f"{key} encoder"
    bank = manifest.get("bank")
    if isinstance(bank, str):
        try:
            header = _read_json(os.path.join(folder, bank))
            if isinstance(header.get("imageDim"), int):
                return header["imageDim"], "latent bank"
        except (OSError, ValueError, AttributeError):
            pass
    return None, ""


def export(text: clip_arch.TextTower, image: clip_arch.ImageTower, folder: str) -> None:
    ctx = text.config["context_length"]
    ids = torch.zeros(2, ctx, dtype=torch.int64)
    ids[:, 0], ids[:, 1], ids[:, 2] = text.config["vocab_size"] - 2, 1, text.config["vocab_size"] - 1
    export_onnx(text, [ids], os.path.join(folder, "text_encoder.onnx"), ["ids"], ["embedding"])
    s = image.config["resolution"]
    export_onnx(image, [torch.rand(2, 3, s, s)], os.path.join(folder, "image_encoder.onnx"), ["image"], ["embedding"])


def run(src: str, out: str, fp16: bool) -> None:
    try:
        _run(src, out, fp16)
    except ImportError_:
        raise
    except (ValueError, OSError) as err:
        raise ImportError_(f"{err} (nothing was written)") from None


def _run(src: str, out: str, fp16: bool) -> None:
    mpath = os.path.join(out, "latentstage.json")
    if not os.path.exists(mpath):
        raise FileNotFoundError(f"{out} is not a model folder (no latentstage.json): import clip adds encoders to "
                                "an existing model, so import the generator first")
    manifest = _read_json(mpath)
    text, image, tokenizer = load(src)
    dim = text.config["embed_dim"]
    have, where = existing_dim(out, manifest)
    if have is not None and have != dim:
        raise ValueError(f"this CLIP embeds in {dim} dimensions but {out} already uses {have} (its {where}): "
                         "import the CLIP that matches, or start from a fresh model folder")
    with add_to_folder(out) as tmp:
        export(text, image, tmp)
        if fp16:
            for f in ("text_encoder.onnx", "image_encoder.onnx"):
                onnx_weights_to_fp16(os.path.join(tmp, f))
        save_torch(text, os.path.join(tmp, "torch", "text.pt"), fp16=fp16)
        save_torch(image, os.path.join(tmp, "torch", "image.pt"), fp16=fp16)
        write_json(os.path.join(tmp, "tokenizer.json"), tokenizer)
        manifest["text"] = {"encoder": "text_encoder.onnx", "input": "ids", "output": "embedding", "dim": dim,
                            "tokenizer": "tokenizer.json", "tokenizerFormat": "huggingface",
                            "length": text.config["context_length"]}
        manifest["image"] = {"encoder": "image_encoder.onnx", "input": "image", "output": "embedding", "dim": dim,
                             "size": image.config["resolution"], "layout": "NCHW", "range": [0, 1]}
        torch_entry = manifest.setdefault("torch", {})
        half = {"dtype": "float16"} if fp16 else {}
        torch_entry["text"] = {"arch": clip_arch.ARCH, "config": text.config, "weights": "torch/text.pt", **half}
        torch_entry["image"] = {"arch": clip_arch.ARCH, "config": image.config, "weights": "torch/image.pt", **half}
        write_json(os.path.join(tmp, "latentstage.json"), manifest)
    print(f"added CLIP text + image encoders ({dim}-d embeddings, {image.config['resolution']} px images) to {out}"
          f" ({'fp16' if fp16 else 'fp32'} weights)")
