"""Fixtures: CLIP (ViT image tower) with random weights in both release formats, at small widths.

- ``make_openai(out_dir)``: ``ViT-B-32.pt``, a TorchScript archive traced from a module with OpenAI's
  attribute names and fp16 weights (as clip's own download is), plus ``bpe_simple_vocab_16e6.txt.gz``
  (a small BPE trained on the ImageNet class names; the real file has 48,894 merges).
- ``make_hf(out_dir)``: a Hugging Face CLIPModel folder: config.json, model.safetensors (or
  pytorch_model.bin), vocab.json, merges.txt, tokenizer.json.
``VIT_B32`` gives ViT-B/32's widths and depths (benchmarks; the vocabulary stays small).
Both keep the real input sizes (77 tokens, 224 px images, 32 px patches) with small widths and depths.
"""
from __future__ import annotations

import json
import os
import struct

import torch
import torch.nn as nn

from . import clip_bpe
from .archs import clip as clip_arch
from .importers.classes import imagenet_classes


def _merges(n: int = 300) -> list:
    return clip_bpe.train_merges(imagenet_classes() + ["a photo of a", "an owl", "a snowy owl in the night"], n)


#: ViT-B/32's sizes (text width 512, image width 768, 12 layers each, 512-d embeddings), for benchmarks.
VIT_B32 = {"width": 512, "image_width": 768, "layers": 12, "embed": 512}


def _configs(width: int, layers: int, embed: int, vocab_size: int, image_width: int | None = None) -> tuple[dict, dict]:
    iw = image_width or width
    text = {"width": width, "layers": layers, "heads": max(1, width // 64), "context_length": 77,
            "vocab_size": vocab_size, "embed_dim": embed, "act": "quick_gelu", "eps": 1e-5}
    image = {"width": iw, "layers": layers, "heads": max(1, iw // 64), "patch": 32, "resolution": 224,
             "embed_dim": embed, "act": "quick_gelu", "eps": 1e-5}
    return text, image


def _randomise(module: nn.Module) -> None:
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or "ln_" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif p.dim() >= 2:
                p.copy_(torch.randn_like(p) * (p.shape[-1] ** -0.5 if p.dim() == 2 else 0.02))
            else:
                p.copy_(torch.randn_like(p) * 0.05)


class _OpenAIStyle(nn.Module):
    """Attribute tree named as OpenAI's CLIP model (the names its TorchScript archive carries)."""

    def __init__(self, text: dict, image: dict):
        super().__init__()
        t = clip_arch.TextTower(text)
        i = clip_arch.ImageTower(image)
        self.token_embedding, self.positional_embedding = t.token_embedding, t.positional_embedding
        self.transformer, self.ln_final, self.text_projection = t.transformer, t.ln_final, t.text_projection
        self.visual = i.visual
        self.logit_scale = nn.Parameter(torch.tensor(4.6052))
        self.register_buffer("input_resolution", torch.tensor(image["resolution"]))
        self.register_buffer("context_length", torch.tensor(text["context_length"]))
        self.register_buffer("vocab_size", torch.tensor(text["vocab_size"]))
        self._t, self._i = [t], [i]

    def forward(self, image, text):
        return self._i[0](image).sum() + self._t[0](text).sum()


def make_openai(out: str, width: int = 128, layers: int = 2, embed: int = 64, seed: int = 0) -> str:
    torch.manual_seed(seed)
    merges = _merges()
    vocab = clip_bpe.vocab_from_merges(merges)
    text, image = _configs(width, layers, embed, len(vocab))
    model = _OpenAIStyle(text, image).eval()
    _randomise(model)
    traced = torch.jit.trace(model, (torch.rand(1, 3, 224, 224), torch.randint(0, len(vocab), (1, 77))), check_trace=False)
    traced = traced.half()
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "ViT-B-32.pt")
    torch.jit.save(traced, path)
    clip_bpe.write_openai_merges(os.path.join(out, "bpe_simple_vocab_16e6.txt.gz"), merges)
    return path


def _write_safetensors(path: str, state: dict) -> None:
    header, blobs, offset = {}, [], 0
    names = {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64"}
    for k, v in state.items():
        b = v.contiguous().numpy().tobytes()
        header[k] = {"dtype": names[v.dtype], "shape": list(v.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def make_hf(out: str, width: int = 128, layers: int = 2, embed: int = 64, seed: int = 1, safetensors: bool = True,
            image_width: int | None = None) -> str:
    torch.manual_seed(seed)
    merges = _merges()
    vocab = clip_bpe.vocab_from_merges(merges)
    text, image = _configs(width, layers, embed, len(vocab), image_width)
    t, i = clip_arch.TextTower(text), clip_arch.ImageTower(image)
    _randomise(t)
    _randomise(i)
    ts, vs = t.state_dict(), i.state_dict()
    s = {"text_model.embeddings.token_embedding.weight": ts["token_embedding.weight"],
         "text_model.embeddings.position_embedding.weight": ts["positional_embedding"],
         "text_model.embeddings.position_ids": torch.arange(77).unsqueeze(0),
         "text_model.final_layer_norm.weight": ts["ln_final.weight"],
         "text_model.final_layer_norm.bias": ts["ln_final.bias"],
         "text_projection.weight": ts["text_projection"].t().contiguous(),
         "vision_model.embeddings.class_embedding": vs["visual.class_embedding"],
         "vision_model.embeddings.patch_embedding.weight": vs["visual.conv1.weight"],
         "vision_model.embeddings.position_embedding.weight": vs["visual.positional_embedding"],
         "vision_model.embeddings.position_ids": torch.arange(50).unsqueeze(0),
         "vision_model.pre_layrnorm.weight": vs["visual.ln_pre.weight"],
         "vision_model.pre_layrnorm.bias": vs["visual.ln_pre.bias"],
         "vision_model.post_layernorm.weight": vs["visual.ln_post.weight"],
         "vision_model.post_layernorm.bias": vs["visual.ln_post.bias"],
         "visual_projection.weight": vs["visual.proj"].t().contiguous(),
         "logit_scale": torch.tensor(4.6052)}
    for src, dst, st in (("transformer.resblocks", "text_model.encoder.layers", ts),
                         ("visual.transformer.resblocks", "vision_model.encoder.layers", vs)):
        for n in range(layers):
            a, d = f"{src}.{n}.", f"{dst}.{n}."
            w, b = st[a + "attn.in_proj_weight"].chunk(3), st[a + "attn.in_proj_bias"].chunk(3)
            for j, p in enumerate(("q_proj", "k_proj", "v_proj")):
                s[d + f"self_attn.{p}.weight"], s[d + f"self_attn.{p}.bias"] = w[j].clone(), b[j].clone()
            for x in ("weight", "bias"):
                s[d + "self_attn.out_proj." + x] = st[a + "attn.out_proj." + x]
                s[d + "layer_norm1." + x] = st[a + "ln_1." + x]
                s[d + "layer_norm2." + x] = st[a + "ln_2." + x]
                s[d + "mlp.fc1." + x] = st[a + "mlp.c_fc." + x]
                s[d + "mlp.fc2." + x] = st[a + "mlp.c_proj." + x]
    os.makedirs(out, exist_ok=True)
    s = {k: v.detach().clone() for k, v in s.items()}
    if safetensors:
        _write_safetensors(os.path.join(out, "model.safetensors"), s)
    else:
        torch.save(s, os.path.join(out, "pytorch_model.bin"))
    iw = image["width"]
    cfg = {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": embed,
           "text_config": {"hidden_size": width, "num_hidden_layers": layers, "num_attention_heads": text["heads"],
                           "intermediate_size": 4 * width, "max_position_embeddings": 77, "vocab_size": len(vocab),
                           "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "projection_dim": embed},
           "vision_config": {"hidden_size": iw, "num_hidden_layers": layers, "num_attention_heads": image["heads"],
                             "intermediate_size": 4 * iw, "image_size": 224, "patch_size": 32,
                             "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "projection_dim": embed}}
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(clip_bpe.tokenizer_json(vocab, merges), f, ensure_ascii=False)
    return out


def openai_small(out: str, seed: int = 0) -> None:
    make_openai(out, seed=seed)


def openai_small_32(out: str, seed: int = 0) -> None:
    """Like openai-clip with 32-d embeddings (the wrong size for a folder holding the 64-d ones)."""
    make_openai(out, embed=32, seed=seed)


def hf_small(out: str, seed: int = 0) -> None:
    make_hf(out, seed=seed + 1)


def hf_vit_b32(out: str, seed: int = 0) -> None:
    v = VIT_B32
    make_hf(out, width=v["width"], image_width=v["image_width"], layers=v["layers"], embed=v["embed"], seed=seed)
