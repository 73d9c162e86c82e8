"""CLIP text and image towers (Radford et al. 2021; ViT image tower), loading either release format.

Canonical tensor names are OpenAI's (clip/model.py state dict): ``token_embedding.weight``,
``positional_embedding``, ``transformer.resblocks.N.{ln_1,attn.in_proj_*,attn.out_proj,ln_2,mlp.c_fc,mlp.c_proj}``,
``ln_final``, ``text_projection``; ``visual.{conv1,class_embedding,positional_embedding,ln_pre,transformer...,ln_post,proj}``.
A Hugging Face CLIPModel state dict (``text_model.*``, ``vision_model.*``, ``text_projection.weight``,
``visual_projection.weight``) is renamed to those by :func:`from_hf` (q/k/v projections concatenated into
in_proj, projections transposed), so both formats run the same module.

Reference ops only (embedding gather, layer norm, matmul, softmax, GELU/QuickGELU), no
nn.MultiheadAttention, so export to ONNX is plain. ``TextTower(ids [B, L] int64) -> [B, D]`` pools at
the end-of-text token (the largest id in the row, as CLIP does) and returns L2-normalised embeddings;
``ImageTower(images [B, 3, S, S] in [0, 1]) -> [B, D]`` applies CLIP's per-channel mean/std inside the
graph (so the manifest range is [0, 1]) and returns L2-normalised embeddings.
"""
from __future__ import annotations

import math
import re

import torch
import torch.nn as nn
import torch.nn.functional as F

ARCH = "clip"
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


class Block(nn.Module):
    def __init__(self, width: int, heads: int, act: str, eps: float):
        super().__init__()
        self.heads = heads
        self.act = act
        self.ln_1 = nn.LayerNorm(width, eps=eps)
        self.attn = nn.Module()
        self.attn.in_proj_weight = nn.Parameter(torch.zeros(3 * width, width))
        self.attn.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.attn.out_proj = nn.Linear(width, width)
        self.ln_2 = nn.LayerNorm(width, eps=eps)
        self.mlp = nn.Module()
        self.mlp.c_fc = nn.Linear(width, 4 * width)
        self.mlp.c_proj = nn.Linear(4 * width, width)

    def attention(self, x, mask):
        b, n, w = x.shape
        h = self.heads
        d = w // h
        qkv = F.linear(x, self.attn.in_proj_weight, self.attn.in_proj_bias)
        qkv = qkv.reshape(b, n, 3, h, d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = torch.matmul(q * (1.0 / math.sqrt(d)), k.transpose(-1, -2))
        if mask is not None:
            att = att + mask
        out = torch.matmul(torch.softmax(att, dim=-1), v)
        return self.attn.out_proj(out.permute(0, 2, 1, 3).reshape(b, n, w))

    def forward(self, x, mask=None):
        x = x + self.attention(self.ln_1(x), mask)
        y = self.mlp.c_fc(self.ln_2(x))
        y = y * torch.sigmoid(1.702 * y) if self.act == "quick_gelu" else F.gelu(y)
        return x + self.mlp.c_proj(y)


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int, act: str, eps: float):
        super().__init__()
        self.resblocks = nn.ModuleList([Block(width, heads, act, eps) for _ in range(layers)])

    def forward(self, x, mask=None):
        for block in self.resblocks:
            x = block(x, mask)
        return x


class TextTower(nn.Module):
    """config: width, layers, heads, context_length, vocab_size, embed_dim, act, eps."""

    def __init__(self, config: dict):
        super().__init__()
        c = self.config = dict(config)
        self.token_embedding = nn.Embedding(c["vocab_size"], c["width"])
        self.positional_embedding = nn.Parameter(torch.zeros(c["context_length"], c["width"]))
        self.transformer = Transformer(c["width"], c["layers"], c["heads"], c["act"], c["eps"])
        self.ln_final = nn.LayerNorm(c["width"], eps=c["eps"])
        self.text_projection = nn.Parameter(torch.zeros(c["width"], c["embed_dim"]))
        n = c["context_length"]
        self.register_buffer("mask", torch.full((n, n), float("-inf")).triu(1), persistent=False)

    def forward(self, ids):
        n = ids.shape[1]
        x = self.token_embedding(ids) + self.positional_embedding[:n]
        x = self.transformer(x, self.mask[:n, :n])
        x = self.ln_final(x)
        eot = torch.argmax(ids, dim=-1).reshape(-1, 1, 1).expand(-1, 1, x.shape[-1])
        pooled = torch.gather(x, 1, eot).squeeze(1)
        return F.normalize(pooled @ self.text_projection, dim=-1)


class ImageTower(nn.Module):
    """config: width, layers, heads, patch, resolution, embed_dim, act, eps."""

    def __init__(self, config: dict):
        super().__init__()
        c = self.config = dict(config)
        grid = c["resolution"] // c["patch"]
        self.visual = nn.Module()
        v = self.visual
        v.conv1 = nn.Conv2d(3, c["width"], c["patch"], stride=c["patch"], bias=False)
        v.class_embedding = nn.Parameter(torch.zeros(c["width"]))
        v.positional_embedding = nn.Parameter(torch.zeros(grid * grid + 1, c["width"]))
        v.ln_pre = nn.LayerNorm(c["width"], eps=c["eps"])
        v.transformer = Transformer(c["width"], c["layers"], c["heads"], c["act"], c["eps"])
        v.ln_post = nn.LayerNorm(c["width"], eps=c["eps"])
        v.proj = nn.Parameter(torch.zeros(c["width"], c["embed_dim"]))
        self.register_buffer("mean", torch.tensor(MEAN).reshape(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).reshape(1, 3, 1, 1), persistent=False)

    def forward(self, images):
        v = self.visual
        x = v.conv1((images - self.mean) / self.std)
        b, w = x.shape[0], x.shape[1]
        x = x.reshape(b, w, -1).permute(0, 2, 1)
        cls = v.class_embedding.to(x.dtype).reshape(1, 1, w).expand(b, 1, w)
        x = torch.cat([cls, x], dim=1) + v.positional_embedding
        x = v.transformer(v.ln_pre(x))
        return F.normalize(v.ln_post(x[:, 0]) @ v.proj, dim=-1)


def _count(state: dict, pattern: str) -> int:
    rx = re.compile(pattern)
    return len({m.group(1) for k in state for m in [rx.match(k)] if m})


def configs_from_openai(state: dict) -> tuple[dict, dict]:
    """Hyper-parameters from an OpenAI state dict, as clip.model.build_model infers them (ViT image tower only)."""
    if "visual.conv1.weight" not in state or "visual.proj" not in state:
        if any(k.startswith("visual.layer1.") for k in state):
            raise ValueError("this CLIP has a ResNet image tower; only the ViT towers (ViT-B/32, ViT-B/16, ViT-L/14) import")
        raise ValueError("not a CLIP state dict: visual.conv1.weight / visual.proj missing")
    for k in ("token_embedding.weight", "positional_embedding", "text_projection", "ln_final.weight"):
        if k not in state:
            raise ValueError(f"not a CLIP state dict: {k} missing")
    vw = state["visual.conv1.weight"].shape[0]
    patch = state["visual.conv1.weight"].shape[-1]
    grid = round((state["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    tw = state["ln_final.weight"].shape[0]
    embed = state["text_projection"].shape[1]
    image = {"width": vw, "layers": _count(state, r"visual\.transformer\.resblocks\.(\d+)\."), "heads": max(1, vw // 64),
             "patch": patch, "resolution": patch * grid, "embed_dim": embed, "act": "quick_gelu", "eps": 1e-5}
    text = {"width": tw, "layers": _count(state, r"transformer\.resblocks\.(\d+)\."), "heads": max(1, tw // 64),
            "context_length": state["positional_embedding"].shape[0],
            "vocab_size": state["token_embedding.weight"].shape[0], "embed_dim": embed, "act": "quick_gelu", "eps": 1e-5}
    return text, image


def split_openai(state: dict) -> tuple[dict, dict]:
    """OpenAI state dict -> (text state, image state) in our towers' names."""
    text = {k: v for k, v in state.items()
            if k.split(".")[0] in ("token_embedding", "positional_embedding", "transformer", "ln_final", "text_projection")}
    image = {k: v for k, v in state.items() if k.startswith("visual.")}
    return text, image


def from_hf(config: dict, state: dict) -> tuple[dict, dict, dict, dict]:
    """Hugging Face CLIPModel (config.json dict, state dict) -> (text config, image config, text state, image state)."""
    tc, vc = config.get("text_config") or {}, config.get("vision_config") or {}
    if "text_model.embeddings.token_embedding.weight" not in state or "vision_model.embeddings.patch_embedding.weight" not in state:
        raise ValueError("not a Hugging Face CLIPModel: text_model.* / vision_model.* weights missing")
    tw = state["text_model.final_layer_norm.weight"].shape[0]
    vw = state["vision_model.post_layernorm.weight"].shape[0]
    embed = state["text_projection.weight"].shape[0]
    patch = state["vision_model.embeddings.patch_embedding.weight"].shape[-1]
    grid = round((state["vision_model.embeddings.position_embedding.weight"].shape[0] - 1) ** 0.5)

    def act(c):
        a = c.get("hidden_act", "quick_gelu")
        if a not in ("quick_gelu", "gelu"):
            raise ValueError(f"CLIP config: hidden_act {a!r} is not supported (quick_gelu, gelu)")
        return a

    text = {"width": tw, "layers": _count(state, r"text_model\.encoder\.layers\.(\d+)\."),
            "heads": int(tc.get("num_attention_heads", max(1, tw // 64))),
            "context_length": state["text_model.embeddings.position_embedding.weight"].shape[0],
            "vocab_size": state["text_model.embeddings.token_embedding.weight"].shape[0], "embed_dim": embed,
            "act": act(tc), "eps": float(tc.get("layer_norm_eps", 1e-5))}
    image = {"width": vw, "layers": _count(state, r"vision_model\.encoder\.layers\.(\d+)\."),
             "heads": int(vc.get("num_attention_heads", max(1, vw // 64))), "patch": patch, "resolution": patch * grid,
             "embed_dim": embed, "act": act(vc), "eps": float(vc.get("layer_norm_eps", 1e-5))}

    def blocks(src: str, dst: str, n: int) -> dict:
        out = {}
        for i in range(n):
            s, d = f"{src}.{i}.", f"{dst}.{i}."
            a = s + "self_attn."
            out[d + "attn.in_proj_weight"] = torch.cat([state[a + p + ".weight"] for p in ("q_proj", "k_proj", "v_proj")])
            out[d + "attn.in_proj_bias"] = torch.cat([state[a + p + ".bias"] for p in ("q_proj", "k_proj", "v_proj")])
            for x in ("weight", "bias"):
                out[d + "attn.out_proj." + x] = state[a + "out_proj." + x]
                out[d + "ln_1." + x] = state[s + "layer_norm1." + x]
                out[d + "ln_2." + x] = state[s + "layer_norm2." + x]
                out[d + "mlp.c_fc." + x] = state[s + "mlp.fc1." + x]
                out[d + "mlp.c_proj." + x] = state[s + "mlp.fc2." + x]
        return out

    ts = {"token_embedding.weight": state["text_model.embeddings.token_embedding.weight"],
          "positional_embedding": state["text_model.embeddings.position_embedding.weight"],
          "ln_final.weight": state["text_model.final_layer_norm.weight"],
          "ln_final.bias": state["text_model.final_layer_norm.bias"],
          "text_projection": state["text_projection.weight"].t().contiguous()}
    ts.update(blocks("text_model.encoder.layers", "transformer.resblocks", text["layers"]))
    vs = {"visual.conv1.weight": state["vision_model.embeddings.patch_embedding.weight"],
          "visual.class_embedding": state["vision_model.embeddings.class_embedding"],
          "visual.positional_embedding": state["vision_model.embeddings.position_embedding.weight"],
          "visual.ln_pre.weight": state["vision_model.pre_layrnorm.weight"],
          "visual.ln_pre.bias": state["vision_model.pre_layrnorm.bias"],
          "visual.ln_post.weight": state["vision_model.post_layernorm.weight"],
          "visual.ln_post.bias": state["vision_model.post_layernorm.bias"],
          "visual.proj": state["visual_projection.weight"].t().contiguous()}
    vs.update(blocks("vision_model.encoder.layers", "visual.transformer.resblocks", image["layers"]))
    return text, image, ts, vs


def build(config: dict) -> nn.Module:
    """The tower a manifest's torch.text / torch.image config names (config["tower"]: text or image)."""
    tower = config.get("tower")
    if tower == "text":
        return TextTower(config).eval()
    if tower == "image":
        return ImageTower(config).eval()
    raise ValueError(f"CLIP config: tower must be 'text' or 'image', not {tower!r}")


def build_text(config: dict, state: dict) -> TextTower:
    return _load(TextTower({**config, "tower": "text"}), state, "text")


def build_image(config: dict, state: dict) -> ImageTower:
    return _load(ImageTower({**config, "tower": "image"}), state, "image")


def _load(model: nn.Module, state: dict, what: str) -> nn.Module:
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    if missing:
        raise ValueError(f"CLIP {what} tower: missing {', '.join(missing[:4])}" + (f" (+{len(missing) - 4} more)" if len(missing) > 4 else ""))
    for k, v in own.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise ValueError(f"CLIP {what} tower: {k} has shape {tuple(state[k].shape)}, expected {tuple(v.shape)}")
    model.load_state_dict({k: state[k].float() for k in own})
    return model.eval()
