"""Reference check for the StyleGAN importers: the original code bases' forward passes, transcribed
in their own form (NVlabs: fused modulated convolution as one grouped convolution, conv2d_resample,
StyleGAN3's index-assigned rotation/translation and F.affine_grid, batch-wide style normalisation;
rosinality: its ModulatedConv2d, Blur and Upsample with its own weight scaling) and run on the raw
checkpoint tensors, compared with the imported folder's torch generator at batch 1 (where NVlabs'
batch-wide normalisation equals ours). Prints one JSON line per fixture with the max abs diff.

  PYTHONPATH=server/python python3 test/python/stylegan_reference.py KIND SRC FOLDER"""
import json
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F

from latentstage import nvpickle
from latentstage.folder import load_folder
from latentstage.safeload import torch_checkpoint as load_checkpoint


def fir(x, f, up=1, down=1, pad=(0, 0, 0, 0), gain=1.0):  # NVlabs _upfirdn2d_ref
    b, c, h, w = x.shape
    if up > 1:
        x = x.reshape(b, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1]).reshape(b, c, h * up, w * up)
    x = F.pad(x, [max(pad[0], 0), max(pad[1], 0), max(pad[2], 0), max(pad[3], 0)])
    x = x[:, :, max(-pad[2], 0): x.shape[2] - max(-pad[3], 0), max(-pad[0], 0): x.shape[3] - max(-pad[1], 0)]
    f = f * (gain ** (f.ndim / 2))
    f = f.flip(list(range(f.ndim)))
    f = f[None, None].repeat([c, 1] + [1] * f.ndim)
    if f.ndim == 4:
        x = F.conv2d(x, f, groups=c)
    else:
        x = F.conv2d(x, f.unsqueeze(2), groups=c)
        x = F.conv2d(x, f.unsqueeze(3), groups=c)
    return x[:, :, ::down, ::down]


def fc(t, p, x, lr=1.0, act="linear"):
    w = t[p + ".weight"] * (lr / math.sqrt(t[p + ".weight"].shape[1]))
    x = x.matmul(w.t()) + t[p + ".bias"] * lr
    return F.leaky_relu(x, 0.2) * math.sqrt(2) if act == "lrelu" else x


# --- NVlabs StyleGAN2 (networks_stylegan2.py), fused modconv -----------------------------------
def nv_modconv(x, weight, styles, noise=None, up=1, padding=0, f=None, demodulate=True):
    # flip_weight: NVlabs passes flip_weight=(up == 1) and conv2d_resample negates it on the
    # transposed path, so neither path flips the kernel.
    B = x.shape[0]
    O, I, kh, kw = weight.shape
    w = weight.unsqueeze(0) * styles.reshape(B, 1, -1, 1, 1)
    if demodulate:
        d = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()
        w = w * d.reshape(B, -1, 1, 1, 1)
    x = x.reshape(1, -1, *x.shape[2:])
    w = w.reshape(-1, I, kh, kw)
    if up > 1:  # conv2d_resample, transposed path
        fw = f.shape[-1]
        px0 = padding + (fw + up - 1) // 2 - (kw - 1)
        px1 = padding + (fw - up) // 2 - (kw - up)
        w = w.reshape(B, O, I, kh, kw).transpose(1, 2).reshape(B * I, O, kh, kw)
        x = F.conv_transpose2d(x, w, stride=up, groups=B)
        x = fir(x, f, pad=(px0, px1, px0, px1), gain=up ** 2)
    else:
        x = F.conv2d(x, w, padding=padding, groups=B)
    x = x.reshape(B, -1, *x.shape[2:])
    return x + noise if noise is not None else x


def nv_sg2(t, w, conv_clamp):
    res_list = sorted({int(k.split(".")[1][1:]) for k in t if k.startswith("synthesis.b")})
    x = img = None
    for res in res_list:
        p = f"synthesis.b{res}"
        f = t[p + ".resample_filter"]
        if res == 4:
            x = t[p + ".const"].unsqueeze(0).repeat(w.shape[0], 1, 1, 1)
        names = ["conv1"] if res == 4 else ["conv0", "conv1"]
        for n in names:
            q = f"{p}.{n}"
            styles = fc(t, q + ".affine", w)
            noise = t[q + ".noise_const"] * t[q + ".noise_strength"]
            x = nv_modconv(x, t[q + ".weight"], styles, noise, up=2 if n == "conv0" else 1, padding=1, f=f)
            x = F.leaky_relu(x + t[q + ".bias"].reshape(1, -1, 1, 1), 0.2) * math.sqrt(2)
            if conv_clamp is not None:
                x = x.clamp(-conv_clamp, conv_clamp)
        if img is not None:
            img = fir(img, f, up=2, pad=(2, 1, 2, 1), gain=4)
        q = p + ".torgb"
        styles = fc(t, q + ".affine", w) * (1 / math.sqrt(t[q + ".weight"].shape[1]))
        y = nv_modconv(x, t[q + ".weight"], styles, demodulate=False) + t[q + ".bias"].reshape(1, -1, 1, 1)
        if conv_clamp is not None:
            y = y.clamp(-conv_clamp, conv_clamp)
        img = img + y if img is not None else y
    return img


# --- NVlabs StyleGAN3 (networks_stylegan3.py) --------------------------------------------------
def nv_sg3_input(t, w, size, sampling_rate, bandwidth):
    p = "synthesis.input"
    transforms = t[p + ".transform"].unsqueeze(0)
    freqs = t[p + ".freqs"].unsqueeze(0)
    phases = t[p + ".phases"].unsqueeze(0)
    tt = fc(t, p + ".affine", w)
    tt = tt / tt[:, :2].norm(dim=1, keepdim=True)
    m_r = torch.eye(3).unsqueeze(0).repeat([w.shape[0], 1, 1])
    m_r[:, 0, 0] = tt[:, 0]
    m_r[:, 0, 1] = -tt[:, 1]
    m_r[:, 1, 0] = tt[:, 1]
    m_r[:, 1, 1] = tt[:, 0]
    m_t = torch.eye(3).unsqueeze(0).repeat([w.shape[0], 1, 1])
    m_t[:, 0, 2] = -tt[:, 2]
    m_t[:, 1, 2] = -tt[:, 3]
    transforms = m_r @ m_t @ transforms
    phases = phases + (freqs @ transforms[:, :2, 2:]).squeeze(2)
    freqs = freqs @ transforms[:, :2, :2]
    amplitudes = (1 - (freqs.norm(dim=2) - bandwidth) / (sampling_rate / 2 - bandwidth)).clamp(0, 1)
    theta = torch.eye(2, 3)
    theta[0, 0] = 0.5 * size / sampling_rate
    theta[1, 1] = 0.5 * size / sampling_rate
    grids = F.affine_grid(theta.unsqueeze(0), [1, 1, size, size], align_corners=False)
    x = (grids.unsqueeze(3) @ freqs.permute(0, 2, 1).unsqueeze(1).unsqueeze(2)).squeeze(3)
    x = x + phases.unsqueeze(1).unsqueeze(2)
    x = torch.sin(x * (np.pi * 2))
    x = x * amplitudes.unsqueeze(1).unsqueeze(2)
    weight = t[p + ".weight"] / np.sqrt(t[p + ".weight"].shape[0])
    return (x @ weight.t()).permute(0, 3, 1, 2)


def nv_sg3_modconv(x, w, s, demodulate, padding, input_gain):
    B = x.shape[0]
    O, I, kh, kw = w.shape
    if demodulate:
        w = w * w.square().mean([1, 2, 3], keepdim=True).rsqrt()
        s = s * s.square().mean().rsqrt()  # over the whole batch, as NVlabs
    w = w.unsqueeze(0) * s.unsqueeze(1).unsqueeze(3).unsqueeze(4)
    if demodulate:
        d = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()
        w = w * d.unsqueeze(2).unsqueeze(3).unsqueeze(4)
    w = w * input_gain.expand(B, I).unsqueeze(1).unsqueeze(3).unsqueeze(4)
    x = F.conv2d(x.reshape(1, -1, *x.shape[2:]), w.reshape(-1, I, kh, kw), padding=padding, groups=B)
    return x.reshape(B, -1, *x.shape[2:])


def nv_sg3(t, w, layers, geometry, conv_clamp, output_scale):
    size0, rate0, cutoff0 = geometry
    x = nv_sg3_input(t, w, size0, rate0, cutoff0)
    for name, layer in layers:
        q = f"synthesis.{name}"
        styles = fc(t, q + ".affine", w)
        if layer.is_torgb:
            styles = styles * (1 / np.sqrt(layer.in_channels * layer.conv_kernel ** 2))
        x = nv_sg3_modconv(x, t[q + ".weight"], styles, not layer.is_torgb, layer.conv_kernel - 1, t[q + ".magnitude_ema"].rsqrt())
        fu = t.get(q + ".up_filter", torch.ones([1, 1]))
        fd = t.get(q + ".down_filter", torch.ones([1, 1]))
        x = x + t[q + ".bias"].reshape(1, -1, 1, 1)
        x = fir(x, fu, up=layer.up_factor, pad=layer.padding, gain=layer.up_factor ** 2)
        x = F.leaky_relu(x, 1.0 if layer.is_torgb else 0.2) * (1 if layer.is_torgb else np.sqrt(2))
        x = x.clamp(-conv_clamp, conv_clamp)
        x = fir(x, fd, down=layer.down_factor)
    return x * output_scale


# --- rosinality stylegan2-pytorch (model.py) ---------------------------------------------------
def ro_modconv(t, p, x, style, upsample=False, demodulate=True):
    weight0 = t[p + ".weight"]
    _, O, I, k, _ = weight0.shape
    B = x.shape[0]
    s = F.linear(style, t[p + ".modulation.weight"] * (1 / math.sqrt(style.shape[1])), t[p + ".modulation.bias"]).view(B, 1, I, 1, 1)
    weight = (1 / math.sqrt(I * k * k)) * weight0 * s
    if demodulate:
        weight = weight * torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8).view(B, O, 1, 1, 1)
    weight = weight.view(B * O, I, k, k)
    h, w_ = x.shape[2:]
    if upsample:
        x = x.view(1, B * I, h, w_)
        weight = weight.view(B, O, I, k, k).transpose(1, 2).reshape(B * I, O, k, k)
        out = F.conv_transpose2d(x, weight, padding=0, stride=2, groups=B)
        out = out.view(B, O, *out.shape[2:])
        kern = t[p + ".blur.kernel"]  # Blur(pad=(1, 1)), kernel already times 4
        return fir(out, kern, pad=(1, 1, 1, 1))
    out = F.conv2d(x.view(1, B * I, h, w_), weight, padding=k // 2, groups=B)
    return out.view(B, O, *out.shape[2:])


def ro_styledconv(t, p, x, style, noise, upsample=False):
    out = ro_modconv(t, p + ".conv", x, style, upsample)
    out = out + t[p + ".noise.weight"] * noise
    return F.leaky_relu(out + t[p + ".activate.bias"].view(1, -1, 1, 1), 0.2) * math.sqrt(2)


def ro_torgb(t, p, x, style, skip=None):
    out = ro_modconv(t, p + ".conv", x, style, demodulate=False) + t[p + ".bias"]
    if skip is not None:
        out = out + fir(skip, t[p + ".upsample.kernel"], up=2, pad=(2, 1, 2, 1))
    return out


def ro_generator(t, w):
    n_rgbs = sum(1 for k in t if k.startswith("to_rgbs.") and k.endswith(".conv.weight"))
    noise = [t[f"noises.noise_{i}"] for i in range(2 * n_rgbs + 1)]
    out = t["input.input"].repeat(w.shape[0], 1, 1, 1)
    out = ro_styledconv(t, "conv1", out, w, noise[0])
    skip = ro_torgb(t, "to_rgb1", out, w)
    for j in range(n_rgbs):
        out = ro_styledconv(t, f"convs.{2 * j}", out, w, noise[2 * j + 1], upsample=True)
        out = ro_styledconv(t, f"convs.{2 * j + 1}", out, w, noise[2 * j + 2])
        skip = ro_torgb(t, f"to_rgbs.{j}", out, w, skip)
    return skip


def ro_mapping(t, z):
    x = z * torch.rsqrt(torch.mean(z ** 2, dim=1, keepdim=True) + 1e-8)
    i = 1
    while f"style.{i}.weight" in t:
        x = F.leaky_relu(F.linear(x, t[f"style.{i}.weight"] * (0.01 / math.sqrt(x.shape[1]))) + t[f"style.{i}.bias"] * 0.01, 0.2) * math.sqrt(2)
        i += 1
    return x


@torch.no_grad()
def main(kind, src, folder):
    G = load_folder(folder).nets["generator"]
    g = torch.Generator().manual_seed(3)
    z = torch.randn([1, G.z_dim], generator=g)
    if kind.startswith("rosinality"):
        t = load_checkpoint(src)["g_ema"]
        w_ref = ro_mapping(t, z)
        img_ref = ro_generator(t, w_ref)
    else:
        t = dict(nvpickle.load(src)["G_ema"].tensors())
        kw = nvpickle.load(src)["G_ema"].init_kwargs
        x = z * (z.square().mean(1, keepdim=True) + 1e-8).rsqrt()
        i = 0
        while f"mapping.fc{i}.weight" in t:
            x = fc(t, f"mapping.fc{i}", x, lr=0.01, act="lrelu")
            i += 1
        w_ref = x
        if kind.startswith("nvlabs-sg3"):
            layers = [(n, getattr(G.synthesis, n)) for n in G.synthesis.layer_names]
            inp = G.synthesis.input
            img_ref = nv_sg3(t, w_ref, layers, (inp.size, inp.sampling_rate, inp.bandwidth), float(kw.get("conv_clamp", 256)), 0.25)
        else:
            img_ref = nv_sg2(t, w_ref, kw.get("conv_clamp"))
    w_ours = G.map(z)
    img_ours = G.synthesize(w_ours)
    print(json.dumps({"kind": kind, "mapping": (w_ours - w_ref).abs().max().item(), "image": (img_ours - img_ref).abs().max().item(),
                      "peak": img_ref.abs().max().item()}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
