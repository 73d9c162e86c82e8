"""rosinality/stylegan2-pytorch checkpoints (.pt: {"g_ema": state_dict, "latent_avg"?, "args"?, ...})
as our NVlabs-named StyleGAN2 (archs/stylegan2.py): the tensor names and two conventions
differ (rosinality stores conv weights before their 1/sqrt(fan_in) scale and noise as [1, 1, r, r]
buffers), the computation is the same."""
import math

import torch

from ..archs import stylegan2
from ..modelfolder import ImportError_
from ..safeload import CheckpointError, torch_checkpoint as load_checkpoint

IGNORED_SUFFIXES = (".conv.blur.kernel", ".upsample.kernel")  # the fixed [1,3,3,1] FIR filters; ours are built in


def _pairs(log_size):
    """(our layer prefix, rosinality module prefix, noise index) for every modulated conv."""
    out = [("synthesis.b4.conv1", "conv1", 0)]
    for i in range(3, log_size + 1):
        j = i - 3
        out.append((f"synthesis.b{2 ** i}.conv0", f"convs.{2 * j}", 2 * j + 1))
        out.append((f"synthesis.b{2 ** i}.conv1", f"convs.{2 * j + 1}", 2 * j + 2))
    return out


def _rgbs(log_size):
    return [("synthesis.b4.torgb", "to_rgb1")] + [(f"synthesis.b{2 ** i}.torgb", f"to_rgbs.{i - 3}") for i in range(3, log_size + 1)]


def rosinality_to_nvlabs(sd):
    """Return (config, NVlabs-named tensors, latent_avg or None)."""
    if "input.input" not in sd or "style.1.weight" not in sd:
        raise ImportError_("the checkpoint is not a rosinality StyleGAN2 generator (no input.input / style.* tensors)")
    n_mlp = 0
    while f"style.{n_mlp + 1}.weight" in sd:
        n_mlp += 1
    n_rgbs = 0
    while f"to_rgbs.{n_rgbs}.conv.weight" in sd:
        n_rgbs += 1
    log_size = n_rgbs + 2
    style_dim = int(sd["style.1.weight"].shape[1])
    channels = {"4": int(sd["input.input"].shape[1])}
    for i in range(3, log_size + 1):
        channels[str(2 ** i)] = int(sd[f"convs.{2 * (i - 3)}.conv.weight"].shape[1])
    cfg = dict(z_dim=style_dim, c_dim=0, w_dim=style_dim, img_resolution=2 ** log_size, img_channels=int(sd["to_rgb1.conv.weight"].shape[1]),
               mapping_layers=n_mlp, lr_multiplier=0.01, conv_clamp=None, channels=channels)
    out, used = {}, set()

    def take(name):
        if name not in sd:
            raise ImportError_(f"the checkpoint is not a complete rosinality StyleGAN2 generator ({name} is missing)")
        used.add(name)
        return sd[name].float()

    for i in range(n_mlp):
        out[f"mapping.fc{i}.weight"] = take(f"style.{i + 1}.weight")
        out[f"mapping.fc{i}.bias"] = take(f"style.{i + 1}.bias")
    out["synthesis.b4.const"] = take("input.input")[0]
    for ours, theirs, k in _pairs(log_size):
        w = take(f"{theirs}.conv.weight")[0]
        out[f"{ours}.weight"] = w / math.sqrt(w.shape[1] * w.shape[2] * w.shape[3])
        out[f"{ours}.affine.weight"] = take(f"{theirs}.conv.modulation.weight")
        out[f"{ours}.affine.bias"] = take(f"{theirs}.conv.modulation.bias")
        out[f"{ours}.noise_strength"] = take(f"{theirs}.noise.weight").reshape([])
        out[f"{ours}.bias"] = take(f"{theirs}.activate.bias")
        out[f"{ours}.noise_const"] = take(f"noises.noise_{k}")[0, 0]
    for ours, theirs in _rgbs(log_size):
        out[f"{ours}.weight"] = take(f"{theirs}.conv.weight")[0]
        out[f"{ours}.affine.weight"] = take(f"{theirs}.conv.modulation.weight")
        out[f"{ours}.affine.bias"] = take(f"{theirs}.conv.modulation.bias")
        out[f"{ours}.bias"] = take(f"{theirs}.bias").reshape(-1)
    extra = [k for k in sd if k not in used and not k.endswith(IGNORED_SUFFIXES)]
    if extra:
        raise ImportError_(f"the checkpoint has tensors a rosinality StyleGAN2 generator does not: {', '.join(extra[:5])}")
    return cfg, out


def nvlabs_to_rosinality(G):
    """Our StyleGAN2 module's tensors under rosinality's names (for fixtures)."""
    sd = G.state_dict()
    log_size = int(math.log2(G.config["img_resolution"]))
    out = {}
    for i in range(G.config["mapping_layers"]):
        out[f"style.{i + 1}.weight"] = sd[f"mapping.fc{i}.weight"]
        out[f"style.{i + 1}.bias"] = sd[f"mapping.fc{i}.bias"]
    out["input.input"] = sd["synthesis.b4.const"].unsqueeze(0)
    for ours, theirs, k in _pairs(log_size):
        w = sd[f"{ours}.weight"]
        out[f"{theirs}.conv.weight"] = (w * math.sqrt(w.shape[1] * w.shape[2] * w.shape[3])).unsqueeze(0)
        out[f"{theirs}.conv.modulation.weight"] = sd[f"{ours}.affine.weight"]
        out[f"{theirs}.conv.modulation.bias"] = sd[f"{ours}.affine.bias"]
        out[f"{theirs}.noise.weight"] = sd[f"{ours}.noise_strength"].reshape(1)
        out[f"{theirs}.activate.bias"] = sd[f"{ours}.bias"]
        out[f"noises.noise_{k}"] = sd[f"{ours}.noise_const"][None, None]
        if ours.endswith("conv0"):
            out[f"{theirs}.conv.blur.kernel"] = stylegan2.setup_filter([1, 3, 3, 1]) * 4
    for ours, theirs in _rgbs(log_size):
        out[f"{theirs}.conv.weight"] = sd[f"{ours}.weight"].unsqueeze(0)
        out[f"{theirs}.conv.modulation.weight"] = sd[f"{ours}.affine.weight"]
        out[f"{theirs}.conv.modulation.bias"] = sd[f"{ours}.affine.bias"]
        out[f"{theirs}.bias"] = sd[f"{ours}.bias"].reshape(1, -1, 1, 1)
        if theirs != "to_rgb1":
            out[f"{theirs}.upsample.kernel"] = stylegan2.setup_filter([1, 3, 3, 1]) * 4
    return out


def build_generator(src):
    """(arch, config, generator) from a rosinality checkpoint; the walk is measured by the caller."""
    try:
        ckpt = load_checkpoint(src)
    except CheckpointError as err:
        raise ImportError_(str(err)) from None
    sd = ckpt
    if isinstance(ckpt, dict) and ("g_ema" in ckpt or "g" in ckpt):
        sd = ckpt.get("g_ema") or ckpt.get("g")
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise ImportError_(f"{src} holds no generator state_dict (expected a rosinality checkpoint with g_ema)")
    cfg, tensors = rosinality_to_nvlabs(sd)
    G = stylegan2.build(cfg)
    latent_avg = ckpt.get("latent_avg") if isinstance(ckpt, dict) else None
    with torch.no_grad():
        if isinstance(latent_avg, torch.Tensor) and latent_avg.numel() == cfg["w_dim"]:
            tensors["mapping.w_avg"] = latent_avg.float().reshape(-1)
        else:
            tensors["mapping.w_avg"] = G.mapping.w_avg  # measured below
    for k, v in G.state_dict().items():
        if k.endswith("resample_filter"):
            tensors[k] = v  # rosinality's blur kernels are the same [1,3,3,1] filter (times the up gain)
    from .stylegan import load_into
    load_into(G, tensors, "rosinality StyleGAN2 generator")
    if not isinstance(latent_avg, torch.Tensor):
        with torch.no_grad():
            g = torch.Generator().manual_seed(1)
            G.mapping.w_avg.copy_(G.mapping(torch.randn([4096, cfg["z_dim"]], generator=g)).mean(0))
    return "stylegan2", cfg, G
