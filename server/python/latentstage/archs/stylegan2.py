"""StyleGAN2 / StyleGAN2-ADA generator (NVlabs' networks.py / networks_stylegan2.py, 'skip'
architecture) in plain PyTorch: the same tensors by the same names, the same computation with the
reference ops (modulated convolution written unfused, noise from the stored constant buffers), and
the walk in W in front of it (stylegan_common.WalkInW).

config: z_dim, c_dim, w_dim, img_resolution, img_channels, channel_base, channel_max,
mapping_layers, lr_multiplier, conv_clamp (None or a number), and optionally channels
({"4": 512, "8": 512, ...}: each resolution's channels, overriding channel_base/channel_max)."""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .stylegan_common import FullyConnectedLayer, StyleGenerator, bias_act, setup_filter, upfirdn2d, upsample2d

DEFAULTS = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, img_channels=3, channel_base=32768, channel_max=512,
                mapping_layers=8, lr_multiplier=0.01, conv_clamp=None, channels=None)


def modulated_conv(x, weight, styles, demodulate=True, up=1, padding=0, resample_filter=None):
    """NVlabs modulated_conv2d, unfused: scale inputs by the styles, one convolution for the batch,
    scale outputs by the demodulation coefficients (the same sums as the fused form)."""
    x = x * styles.reshape(styles.shape[0], -1, 1, 1)
    if up > 1:
        # conv2d_resample's transposed-convolution path for up=2, then the FIR filter.
        kw = weight.shape[-1]
        fw = resample_filter.shape[-1]
        p0 = padding + (fw + up - 1) // 2 - (kw - 1)
        p1 = padding + (fw - up) // 2 - (kw - up)
        x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=up)
        x = upfirdn2d(x, resample_filter, padding=(p0, p1, p0, p1), gain=up * up)
    else:
        x = F.conv2d(x, weight, padding=padding)
    if demodulate:
        d = (styles.square() @ weight.square().sum(dim=[2, 3]).t() + 1e-8).rsqrt()
        x = x * d.reshape(d.shape[0], -1, 1, 1)
    return x


class SynthesisLayer(nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, resolution, kernel_size=3, up=1, conv_clamp=None):
        super().__init__()
        self.up, self.padding, self.conv_clamp = up, kernel_size // 2, conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.register_buffer("noise_const", torch.randn([resolution, resolution]))
        self.register_buffer("resample_filter", setup_filter([1, 3, 3, 1]))

    def forward(self, x, w, gain=1.0):
        styles = self.affine(w)
        x = modulated_conv(x, self.weight, styles, up=self.up, padding=self.padding, resample_filter=self.resample_filter)
        x = x + self.noise_const * self.noise_strength
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, act="lrelu", gain=math.sqrt(2) * gain, clamp=clamp)


class ToRGBLayer(nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, conv_clamp=None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x, w):
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv(x, self.weight, styles, demodulate=False)
        return bias_act(x, self.bias, clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, resolution, img_channels, conv_clamp=None):
        super().__init__()
        self.in_channels = in_channels
        self.register_buffer("resample_filter", setup_filter([1, 3, 3, 1]))
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2, conv_clamp=conv_clamp)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, conv_clamp=conv_clamp)
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)

    def forward(self, x, img, w):
        if self.in_channels == 0:
            x = self.const.unsqueeze(0).expand(w.shape[0], -1, -1, -1)
        else:
            x = self.conv0(x, w)
        x = self.conv1(x, w)
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        y = self.torgb(x, w)
        return x, (img + y if img is not None else y)


def channels_for(res, channel_base, channel_max):
    return min(channel_base // res, channel_max)


class SynthesisNetwork(nn.Module):
    def __init__(self, w_dim, img_resolution, img_channels, channel_base=32768, channel_max=512, conv_clamp=None, channels=None):
        super().__init__()
        ch = (lambda r: int(channels[str(r)])) if channels else (lambda r: channels_for(r, channel_base, channel_max))
        log2 = int(np.log2(img_resolution))
        if img_resolution != 2 ** log2 or img_resolution < 4:
            raise ValueError(f"img_resolution {img_resolution} is not a power of two >= 4")
        self.block_resolutions = [2 ** i for i in range(2, log2 + 1)]
        for res in self.block_resolutions:
            in_ch = ch(res // 2) if res > 4 else 0
            out_ch = ch(res)
            setattr(self, f"b{res}", SynthesisBlock(in_ch, out_ch, w_dim, res, img_channels, conv_clamp=conv_clamp))

    def forward(self, w):
        """w: [B, w_dim], the same w for every layer (the walk moves in W, not W+)."""
        x = img = None
        for res in self.block_resolutions:
            x, img = getattr(self, f"b{res}")(x, img, w)
        return img


class Generator(StyleGenerator):
    def __init__(self, config):
        c = {**DEFAULTS, **config}
        super().__init__(c, SynthesisNetwork(c["w_dim"], c["img_resolution"], c["img_channels"], c["channel_base"], c["channel_max"], c["conv_clamp"], c["channels"]))
        self.img_channels = c["img_channels"]


def build(config):
    return Generator(config)
