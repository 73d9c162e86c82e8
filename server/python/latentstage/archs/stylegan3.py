"""StyleGAN3 generator (NVlabs' networks_stylegan3.py, configs T and R) in plain PyTorch: the
same tensors by the same names, with the reference ops: Fourier-feature input with its affine
grid computed once as a constant, modulated convolution unfused, filtered leaky ReLU as
upsample -> bias/lrelu/clamp -> downsample with the stored FIR filters (separable for T,
radial 2-D for R's non-critical layers). The walk in W is in front of it (stylegan_common.WalkInW).

One departure: NVlabs normalises the styles by their mean square over the whole batch; here it is
per image, so a frame does not depend on what else is in its batch (identical at batch 1, which is
how NVlabs renders images)."""
import math

import numpy as np
import torch
from torch import nn

from .stylegan_common import FullyConnectedLayer, StyleGenerator, bias_act, upfirdn2d

DEFAULTS = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, img_channels=3, channel_base=32768, channel_max=512,
                num_layers=14, num_critical=2, first_cutoff=2.0, first_stopband=2 ** 2.1, last_stopband_rel=2 ** 0.3,
                margin_size=10, output_scale=0.25, conv_kernel=3, filter_size=6, lrelu_upsampling=2,
                use_radial_filters=False, conv_clamp=256.0, mapping_layers=2, lr_multiplier=0.01)


def _kaiser_beta(numtaps, width_norm):
    a = 2.285 * (numtaps - 1) * math.pi * width_norm + 7.95
    if a > 50:
        return 0.1102 * (a - 8.7)
    if a > 21:
        return 0.5842 * (a - 21) ** 0.4 + 0.07886 * (a - 21)
    return 0.0


def design_lowpass_filter(numtaps, cutoff, width, fs, radial=False):
    """scipy.signal.firwin's Kaiser low-pass (or NVlabs' radial jinc filter) in numpy/torch. Used
    to shape the buffers; an imported checkpoint's stored filters replace these values."""
    if numtaps == 1:
        return None
    beta = _kaiser_beta(numtaps, width / (fs / 2))
    w = np.kaiser(numtaps, beta)
    if not radial:
        c = cutoff / (fs / 2)
        m = np.arange(numtaps) - (numtaps - 1) / 2
        h = c * np.sinc(c * m) * w
        return torch.as_tensor(h / h.sum(), dtype=torch.float32)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    with np.errstate(invalid="ignore", divide="ignore"):
        f = torch.special.bessel_j1(torch.as_tensor(2 * cutoff * np.pi * r)).numpy() / (np.pi * r)
    f[r == 0] = cutoff  # the limit of j1(2 pi c r) / (pi r) at r = 0
    f = f * np.outer(w, w)
    return torch.as_tensor(f / f.sum(), dtype=torch.float32)


def layer_geometry(c):
    """NVlabs SynthesisNetwork's per-layer cutoffs, stopbands, sampling rates, sizes, channels."""
    res = c["img_resolution"]
    n, crit = c["num_layers"], c["num_critical"]
    last_cutoff = res / 2
    last_stopband = last_cutoff * c["last_stopband_rel"]
    exponents = np.minimum(np.arange(n + 1) / (n - crit), 1)
    cutoffs = c["first_cutoff"] * (last_cutoff / c["first_cutoff"]) ** exponents
    stopbands = c["first_stopband"] * (last_stopband / c["first_stopband"]) ** exponents
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, res))))
    half_widths = np.maximum(stopbands, rates / 2) - cutoffs
    sizes = rates + c["margin_size"] * 2
    sizes[-2:] = res
    channels = np.rint(np.minimum((c["channel_base"] / 2) / cutoffs, c["channel_max"]))
    channels[-1] = c["img_channels"]
    return cutoffs, rates, half_widths, sizes, channels


def modulated_conv(x, weight, styles, demodulate, padding, input_gain):
    """NVlabs networks_stylegan3.modulated_conv2d, unfused (styles normalised per image)."""
    if demodulate:
        weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
        styles = styles * styles.square().mean(dim=1, keepdim=True).rsqrt()
    x = x * (styles * input_gain).reshape(styles.shape[0], -1, 1, 1)
    x = torch.nn.functional.conv2d(x, weight, padding=padding)
    if demodulate:
        d = (styles.square() @ weight.square().sum(dim=[2, 3]).t() + 1e-8).rsqrt()
        x = x * d.reshape(d.shape[0], -1, 1, 1)
    return x


class SynthesisInput(nn.Module):
    def __init__(self, w_dim, channels, size, sampling_rate, bandwidth):
        super().__init__()
        self.channels, self.size, self.sampling_rate, self.bandwidth = channels, int(size), float(sampling_rate), float(bandwidth)
        freqs = torch.randn([channels, 2])
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs /= radii * radii.square().exp().pow(0.25)
        freqs *= bandwidth
        self.weight = nn.Parameter(torch.randn([channels, channels]))
        self.affine = FullyConnectedLayer(w_dim, 4)
        with torch.no_grad():
            self.affine.weight.zero_()
            self.affine.bias.copy_(torch.tensor([1.0, 0, 0, 0]))
        self.register_buffer("transform", torch.eye(3, 3))
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", torch.rand([channels]) - 0.5)
        # affine_grid(theta, align_corners=False) of the constant theta, as a constant.
        s = self.size
        t = 0.5 * s / self.sampling_rate
        lin = (torch.arange(s, dtype=torch.float64) * 2 + 1) / s - 1
        gy, gx = torch.meshgrid(lin * t, lin * t, indexing="ij")
        self.register_buffer("grid", torch.stack([gx, gy], dim=-1).reshape(1, s * s, 2).float(), persistent=False)

    def forward(self, w):
        t = self.affine(w)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        c, s, tx, ty = t[:, 0], t[:, 1], t[:, 2], t[:, 3]
        zero, one = torch.zeros_like(c), torch.ones_like(c)
        # rotation @ translation, as NVlabs builds them, in closed form
        m = torch.stack([
            torch.stack([c, -s, -c * tx + s * ty], dim=1),
            torch.stack([s, c, -s * tx - c * ty], dim=1),
            torch.stack([zero, zero, one], dim=1),
        ], dim=1)
        m = m @ self.transform.unsqueeze(0)
        freqs = self.freqs.unsqueeze(0)
        phases = self.phases.unsqueeze(0) + (freqs @ m[:, :2, 2:]).squeeze(2)
        freqs = freqs @ m[:, :2, :2]
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)
        x = self.grid @ freqs.transpose(1, 2)  # [B, H*W, C]
        x = torch.sin((x + phases.unsqueeze(1)) * (np.pi * 2)) * amplitudes.unsqueeze(1)
        x = x @ (self.weight / np.sqrt(self.channels)).t()
        return x.transpose(1, 2).reshape(-1, self.channels, self.size, self.size)


class SynthesisLayer(nn.Module):
    def __init__(self, w_dim, is_torgb, is_critically_sampled, in_channels, out_channels, in_size, out_size,
                 in_sampling_rate, out_sampling_rate, in_cutoff, out_cutoff, in_half_width, out_half_width,
                 conv_kernel=3, filter_size=6, lrelu_upsampling=2, use_radial_filters=False, conv_clamp=256):
        super().__init__()
        self.is_torgb = is_torgb
        self.in_channels, self.out_channels = in_channels, out_channels
        self.out_size = int(out_size)
        tmp_rate = max(in_sampling_rate, out_sampling_rate) * (1 if is_torgb else lrelu_upsampling)
        self.conv_kernel = 1 if is_torgb else conv_kernel
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, self.conv_kernel, self.conv_kernel]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))
        self.up_factor = int(np.rint(tmp_rate / in_sampling_rate))
        self.up_taps = filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        self.register_buffer("up_filter", design_lowpass_filter(self.up_taps, in_cutoff, in_half_width * 2, tmp_rate))
        self.down_factor = int(np.rint(tmp_rate / out_sampling_rate))
        self.down_taps = filter_size * self.down_factor if self.down_factor > 1 and not is_torgb else 1
        radial = use_radial_filters and not is_critically_sampled
        self.register_buffer("down_filter", design_lowpass_filter(self.down_taps, out_cutoff, out_half_width * 2, tmp_rate, radial=radial))
        pad_total = (out_size - 1) * self.down_factor + 1
        pad_total -= (in_size + self.conv_kernel - 1) * self.up_factor
        pad_total += self.up_taps + self.down_taps - 2
        pad_lo = (pad_total + self.up_factor) // 2
        pad_hi = pad_total - pad_lo
        self.padding = (int(pad_lo), int(pad_hi), int(pad_lo), int(pad_hi))

    def forward(self, x, w):
        styles = self.affine(w)
        if self.is_torgb:
            styles = styles * (1 / np.sqrt(self.in_channels * self.conv_kernel ** 2))
        x = modulated_conv(x, self.weight, styles, demodulate=not self.is_torgb, padding=self.conv_kernel - 1,
                           input_gain=self.magnitude_ema.rsqrt())
        # filtered_lrelu, NVlabs' reference path
        one = torch.ones([1, 1], dtype=x.dtype, device=x.device)
        x = bias_act(x, self.bias)
        x = upfirdn2d(x, self.up_filter if self.up_filter is not None else one, up=self.up_factor, padding=self.padding, gain=self.up_factor ** 2)
        x = bias_act(x, None, act="lrelu", alpha=1.0 if self.is_torgb else 0.2, gain=1.0 if self.is_torgb else np.sqrt(2), clamp=self.conv_clamp)
        return upfirdn2d(x, self.down_filter if self.down_filter is not None else one, down=self.down_factor)


class SynthesisNetwork(nn.Module):
    def __init__(self, c):
        super().__init__()
        cutoffs, rates, half_widths, sizes, channels = layer_geometry(c)
        self.output_scale = c["output_scale"]
        self.input = SynthesisInput(c["w_dim"], int(channels[0]), int(sizes[0]), rates[0], cutoffs[0])
        self.layer_names = []
        n = c["num_layers"]
        for idx in range(n + 1):
            prev = max(idx - 1, 0)
            layer = SynthesisLayer(
                c["w_dim"], is_torgb=idx == n, is_critically_sampled=idx >= n - c["num_critical"],
                in_channels=int(channels[prev]), out_channels=int(channels[idx]), in_size=int(sizes[prev]), out_size=int(sizes[idx]),
                in_sampling_rate=int(rates[prev]), out_sampling_rate=int(rates[idx]), in_cutoff=cutoffs[prev], out_cutoff=cutoffs[idx],
                in_half_width=half_widths[prev], out_half_width=half_widths[idx], conv_kernel=c["conv_kernel"],
                filter_size=c["filter_size"], lrelu_upsampling=c["lrelu_upsampling"], use_radial_filters=c["use_radial_filters"],
                conv_clamp=c["conv_clamp"])
            name = f"L{idx}_{layer.out_size}_{layer.out_channels}"
            setattr(self, name, layer)
            self.layer_names.append(name)

    def forward(self, w):
        x = self.input(w)
        for name in self.layer_names:
            x = getattr(self, name)(x, w)
        return x * self.output_scale if self.output_scale != 1 else x


class Generator(StyleGenerator):
    def __init__(self, config):
        c = {**DEFAULTS, **config}
        super().__init__(c, SynthesisNetwork(c))


def config_from_nvlabs(G, tensors):
    """Our config from a stored NVlabs StyleGAN3 generator: its init kwargs over NVlabs' defaults,
    dimensions from the tensors."""
    kw = G.init_kwargs
    c = {k: kw[k] for k in ("img_resolution", "img_channels", "channel_base", "channel_max", "num_layers", "num_critical", "first_cutoff",
                            "first_stopband", "last_stopband_rel", "margin_size", "output_scale", "conv_kernel", "filter_size",
                            "lrelu_upsampling", "use_radial_filters", "conv_clamp") if k in kw}
    mk = kw.get("mapping_kwargs") or {}
    n_fc = 0
    while f"mapping.fc{n_fc}.weight" in tensors:
        n_fc += 1
    c.update(
        z_dim=int(kw.get("z_dim", tensors["mapping.fc0.weight"].shape[1])),
        c_dim=int(tensors["mapping.embed.weight"].shape[1]) if "mapping.embed.weight" in tensors else 0,
        w_dim=int(tensors["mapping.w_avg"].shape[0]),
        mapping_layers=n_fc,
        lr_multiplier=float(mk.get("lr_multiplier", 0.01)),
    )
    if "num_layers" not in c:
        c["num_layers"] = sum(1 for k in tensors if k.startswith("synthesis.L") and k.endswith(".affine.weight")) - 1
    for k in ("first_cutoff", "first_stopband", "last_stopband_rel", "output_scale", "conv_clamp"):
        if c.get(k) is not None:
            c[k] = float(c[k])
    for k in ("img_resolution", "img_channels", "channel_base", "channel_max", "num_layers", "num_critical", "margin_size", "conv_kernel", "filter_size", "lrelu_upsampling"):
        if k in c:
            c[k] = int(c[k])
    if "use_radial_filters" in c:
        c["use_radial_filters"] = bool(c["use_radial_filters"])
    return {**DEFAULTS, **c}


def build(config):
    return Generator(config)
