"""BigGAN-deep generator (Brock et al. 2019) as laid out by pytorch-pretrained-biggan.

Loads that package's checkpoint (config.json + pytorch_model.bin) by tensor name:
``embeddings.weight``, ``generator.gen_z.*``, ``generator.layers.N.{bn_k,conv_k}.*``, the self-attention
layer ``generator.layers.<attention_layer_position>.snconv1x1_*`` + ``gamma``, ``generator.bn.*`` and
``generator.conv_to_rgb.*``. Spectral-normalised weights are stored as ``weight_orig`` + ``weight_u`` +
``weight_v``; in eval mode torch's spectral_norm uses W / (u . W v) with the stored vectors, so that
division is folded into a plain ``weight`` here once, at load time.

Reference ops only (linear, conv, nearest upsampling, bmm, softmax, max-pool), so the module exports to
ONNX as is. ``forward(z, class_vector, truncation)`` is pytorch-pretrained-biggan's ``BigGAN.forward``:
z is the latent as sampled outside (the package's ``truncated_noise_sample(truncation=t)`` is
t * a [-2, 2]-truncated normal; latentstage's walk gives psi * its walker), and truncation, a [1]
tensor input, selects the batch-norm statistics BigGAN precomputed for it (51 of them on [0, 1]).
Output: [B, 3, S, S] in [-1, 1].
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

ARCH = "biggan_deep"

#: Layer tables of the released 128/256/512 checkpoints (up_sample, in_mult, out_mult), as in their config.json.
LAYERS = {
    128: [(False, 16, 16), (True, 16, 16), (False, 16, 16), (True, 16, 8), (False, 8, 8), (True, 8, 4),
          (False, 4, 4), (True, 4, 2), (False, 2, 2), (True, 2, 1)],
    256: [(False, 16, 16), (True, 16, 16), (False, 16, 16), (True, 16, 8), (False, 8, 8), (True, 8, 8),
          (False, 8, 8), (True, 8, 4), (False, 4, 4), (True, 4, 2), (False, 2, 2), (True, 2, 1)],
    512: [(False, 16, 16), (True, 16, 16), (False, 16, 16), (True, 16, 8), (False, 8, 8), (True, 8, 8),
          (False, 8, 8), (True, 8, 4), (False, 4, 4), (True, 4, 2), (False, 2, 2), (True, 2, 1),
          (False, 1, 1), (True, 1, 1)],
}

#: pytorch-pretrained-biggan's examples use 0.4; latentstage's walk defaults to truncation 0.6.
DEFAULT_TRUNCATION = 0.4

CONFIG_KEYS = ("output_dim", "z_dim", "class_embed_dim", "channel_width", "num_classes", "layers",
               "attention_layer_position", "eps", "n_stats")


def default_config(size: int = 256, channel_width: int = 128) -> dict:
    return {"output_dim": size, "z_dim": 128, "class_embed_dim": 128, "channel_width": channel_width,
            "num_classes": 1000, "layers": [list(l) for l in LAYERS[size]], "attention_layer_position": 8,
            "eps": 1e-4, "n_stats": 51}


def check_config(config: dict) -> dict:
    """Validate a pytorch-pretrained-biggan config.json; returns the fields this module uses."""
    missing = [k for k in CONFIG_KEYS if k not in config]
    if missing:
        raise ValueError(f"config.json is not a BigGAN-deep config: missing {', '.join(missing)}")
    if config["class_embed_dim"] != config["z_dim"]:
        raise ValueError("config.json: class_embed_dim must equal z_dim (BigGAN-deep concatenates z and the class embedding)")
    layers = [(bool(l[0]), int(l[1]), int(l[2])) for l in config["layers"]]
    ups = sum(1 for l in layers if l[0])
    if 4 * 2 ** ups != config["output_dim"]:
        raise ValueError(f"config.json: {ups} upsampling layers make {4 * 2 ** ups} px, not output_dim {config['output_dim']}")
    out = {k: config[k] for k in CONFIG_KEYS}
    out["layers"] = [list(l) for l in layers]
    return out


class CondBatchNorm(nn.Module):
    """BigGANBatchNorm: fixed statistics per truncation (n_stats of them on [0, 1]), class-conditional gain/bias."""

    def __init__(self, n: int, cond_dim: int | None, n_stats: int, eps: float):
        super().__init__()
        self.eps = eps
        self.n_stats = n_stats
        self.register_buffer("running_means", torch.zeros(n_stats, n))
        self.register_buffer("running_vars", torch.ones(n_stats, n))
        self.conditional = cond_dim is not None
        if self.conditional:
            self.scale = nn.Linear(cond_dim, n, bias=False)
            self.offset = nn.Linear(cond_dim, n, bias=False)
        else:
            self.weight = nn.Parameter(torch.ones(n))
            self.bias = nn.Parameter(torch.zeros(n))

    def stats(self, truncation: torch.Tensor):
        # pytorch-pretrained-biggan: coef, i = modf(t / step); coef == 0 -> stats[i],
        # else stats[i] * coef + stats[i + 1] * (1 - coef) (its interpolation, kept as is).
        t = truncation.reshape(()) * (self.n_stats - 1)
        i = torch.floor(t)
        coef = t - i
        i0 = i.to(torch.int64).clamp(0, self.n_stats - 1)
        i1 = (i0 + 1).clamp(max=self.n_stats - 1)
        m0, m1 = self.running_means[i0], self.running_means[i1]
        v0, v1 = self.running_vars[i0], self.running_vars[i1]
        exact = coef == 0
        mean = torch.where(exact, m0, m0 * coef + m1 * (1 - coef))
        var = torch.where(exact, v0, v0 * coef + v1 * (1 - coef))
        return mean, var

    def forward(self, x, truncation, cond=None):
        mean, var = self.stats(truncation)
        mean = mean.reshape(1, -1, 1, 1)
        inv = torch.rsqrt(var + self.eps).reshape(1, -1, 1, 1)
        if self.conditional:
            gain = 1 + self.scale(cond).unsqueeze(-1).unsqueeze(-1)
            bias = self.offset(cond).unsqueeze(-1).unsqueeze(-1)
        else:
            gain = self.weight.reshape(1, -1, 1, 1)
            bias = self.bias.reshape(1, -1, 1, 1)
        return (x - mean) * inv * gain + bias


class SelfAttn(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.snconv1x1_theta = nn.Conv2d(ch, ch // 8, 1, bias=False)
        self.snconv1x1_phi = nn.Conv2d(ch, ch // 8, 1, bias=False)
        self.snconv1x1_g = nn.Conv2d(ch, ch // 2, 1, bias=False)
        self.snconv1x1_o_conv = nn.Conv2d(ch // 2, ch, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        _, ch, h, w = x.shape
        theta = self.snconv1x1_theta(x).reshape(-1, ch // 8, h * w)
        phi = F.max_pool2d(self.snconv1x1_phi(x), 2).reshape(-1, ch // 8, h * w // 4)
        attn = torch.softmax(torch.bmm(theta.permute(0, 2, 1), phi), dim=-1)
        g = F.max_pool2d(self.snconv1x1_g(x), 2).reshape(-1, ch // 2, h * w // 4)
        o = torch.bmm(g, attn.permute(0, 2, 1)).reshape(-1, ch // 2, h, w)
        return x + self.gamma * self.snconv1x1_o_conv(o)


class GenBlock(nn.Module):
    def __init__(self, cin: int, cout: int, cond_dim: int, up: bool, n_stats: int, eps: float):
        super().__init__()
        self.up = up
        self.drop = cin != cout
        mid = cin // 4
        self.bn_0 = CondBatchNorm(cin, cond_dim, n_stats, eps)
        self.conv_0 = nn.Conv2d(cin, mid, 1)
        self.bn_1 = CondBatchNorm(mid, cond_dim, n_stats, eps)
        self.conv_1 = nn.Conv2d(mid, mid, 3, padding=1)
        self.bn_2 = CondBatchNorm(mid, cond_dim, n_stats, eps)
        self.conv_2 = nn.Conv2d(mid, mid, 3, padding=1)
        self.bn_3 = CondBatchNorm(mid, cond_dim, n_stats, eps)
        self.conv_3 = nn.Conv2d(mid, cout, 1)

    def forward(self, x, cond, truncation):
        x0 = x
        x = self.conv_0(F.relu(self.bn_0(x, truncation, cond)))
        x = F.relu(self.bn_1(x, truncation, cond))
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = self.conv_1(x)
        x = self.conv_2(F.relu(self.bn_2(x, truncation, cond)))
        x = self.conv_3(F.relu(self.bn_3(x, truncation, cond)))
        if self.drop:
            x0 = x0[:, : x0.shape[1] // 2]
        if self.up:
            x0 = F.interpolate(x0, scale_factor=2.0, mode="nearest")
        return x + x0


class Generator(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        ch = cfg["channel_width"]
        self.ch = ch
        cond_dim = cfg["z_dim"] * 2
        self.gen_z = nn.Linear(cond_dim, 4 * 4 * 16 * ch)
        layers = []
        for i, (up, a, b) in enumerate(cfg["layers"]):
            if i == cfg["attention_layer_position"]:
                layers.append(SelfAttn(ch * a))
            layers.append(GenBlock(ch * a, ch * b, cond_dim, bool(up), cfg["n_stats"], cfg["eps"]))
        self.layers = nn.ModuleList(layers)
        self.bn = CondBatchNorm(ch, None, cfg["n_stats"], cfg["eps"])
        self.conv_to_rgb = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, cond, truncation):
        x = self.gen_z(cond).reshape(-1, 4, 4, 16 * self.ch).permute(0, 3, 1, 2)
        for layer in self.layers:
            x = layer(x, cond, truncation) if isinstance(layer, GenBlock) else layer(x)
        x = self.conv_to_rgb(F.relu(self.bn(x, truncation)))
        return torch.tanh(x[:, :3])


class BigGANDeep(nn.Module):
    """forward(z [B, z_dim], class_vector [B, num_classes], truncation [1] or float) -> [B, 3, S, S] in [-1, 1]."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = check_config(config)
        self.embeddings = nn.Linear(self.config["num_classes"], self.config["z_dim"], bias=False)
        self.generator = Generator(self.config)

    @property
    def z_dim(self) -> int:
        return self.config["z_dim"]

    @property
    def num_classes(self) -> int:
        return self.config["num_classes"]

    @property
    def resolution(self) -> int:
        return self.config["output_dim"]

    def forward(self, z, class_vector=None, truncation=None):
        if class_vector is None:
            class_vector = torch.zeros(z.shape[0], self.num_classes, dtype=z.dtype, device=z.device)
        if truncation is None:
            truncation = DEFAULT_TRUNCATION
        if not torch.is_tensor(truncation):
            truncation = torch.tensor([float(truncation)], dtype=z.dtype, device=z.device)
        t = truncation.reshape(1).to(z.dtype).clamp(1e-3, 1.0)
        cond = torch.cat([z, self.embeddings(class_vector)], dim=1)
        return self.generator(cond, t)


def fold_spectral_norm(state: dict) -> dict:
    """Replace every spectral-norm triple (weight_orig, weight_u, weight_v) with the eval-mode weight
    W / (u . W v), as torch.nn.utils.spectral_norm computes it without power iteration."""
    out = {}
    for key, value in state.items():
        if key.endswith(".weight_u") or key.endswith(".weight_v"):
            continue
        if key.endswith(".weight_orig"):
            base = key[: -len("_orig")]
            u, v = state.get(base + "_u"), state.get(base + "_v")
            if u is None or v is None:
                raise ValueError(f"checkpoint: {key} has no {base}_u / {base}_v (spectral-norm vectors)")
            w = value.double()
            mat = w.reshape(w.shape[0], -1)
            if u.numel() != mat.shape[0] or v.numel() != mat.shape[1]:
                raise ValueError(f"checkpoint: {base}_u / _v do not fit {key} {tuple(value.shape)}")
            sigma = torch.dot(u.double().reshape(-1), torch.mv(mat, v.double().reshape(-1)))
            out[base] = (w / sigma).to(value.dtype)
        else:
            out[key] = value
    return out


def from_checkpoint(config: dict, state: dict) -> BigGANDeep:
    """Build from a pytorch-pretrained-biggan config + state dict (raw, with spectral-norm triples)."""
    model = BigGANDeep(config)
    load_strict(model, fold_spectral_norm(state))
    return model.eval()


def build(config: dict) -> BigGANDeep:
    """The module for a manifest's torch.generator config (its weights, torch/generator.pt, are this
    module's state dict: spectral norm already folded)."""
    return BigGANDeep(config).eval()


def load_strict(model: nn.Module, state: dict) -> None:
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    if missing or extra:
        def few(names):
            return ", ".join(names[:4]) + (f" (+{len(names) - 4} more)" if len(names) > 4 else "")
        parts = []
        if missing:
            parts.append(f"missing {few(missing)}")
        if extra:
            parts.append(f"unexpected {few(extra)}")
        raise ValueError("checkpoint does not fit BigGAN-deep with this config.json: " + "; ".join(parts))
    for k, v in own.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise ValueError(f"checkpoint: {k} has shape {tuple(state[k].shape)}, config.json implies {tuple(v.shape)}")
    model.load_state_dict({k: state[k].to(own[k].dtype) for k in own})
