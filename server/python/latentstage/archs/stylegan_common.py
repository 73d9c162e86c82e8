"""Pieces StyleGAN2 and StyleGAN3 share, written as NVlabs' reference ops in plain PyTorch (no
custom CUDA kernels, so they export to ONNX and run on any device): the FIR filter ops, bias +
activation, the fully connected layer, the mapping network, the walk in W and the generator around
them (StyleGenerator: each architecture brings its synthesis network). Parameter and buffer names follow
NVlabs' networks so their checkpoints' tensors load by name."""
import math

import torch
import torch.nn.functional as F
from torch import nn

SQRT2 = math.sqrt(2.0)


def setup_filter(taps):
    """NVlabs upfirdn2d.setup_filter for a short 1-D list: the normalised 2-D outer product."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def upfirdn2d(x, f, up=1, down=1, padding=(0, 0, 0, 0), gain=1.0):
    """Upsample (zero insertion), pad, convolve with the 2-D FIR filter f, downsample.
    padding = (x0, x1, y0, y1), as NVlabs' _upfirdn2d_ref."""
    c, h, w = int(x.shape[1]), int(x.shape[2]), int(x.shape[3])  # static (only the batch is dynamic in export)
    if up > 1:
        x = x.reshape(-1, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(-1, c, h * up, w * up)
    px0, px1, py0, py1 = padding
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    if min(px0, px1, py0, py1) < 0:
        x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    if not bool(torch.equal(f, f.flip(list(range(f.ndim))))):  # NVlabs' filters are symmetric; a traced flip loses the shape
        f = f.flip(list(range(f.ndim)))
    f = (f * (gain ** (f.ndim / 2))).to(x.dtype)
    if f.ndim == 2:
        x = F.conv2d(x, f[None, None].repeat(c, 1, 1, 1), groups=c)
    else:
        x = F.conv2d(x, f[None, None, None, :].repeat(c, 1, 1, 1), groups=c)
        x = F.conv2d(x, f[None, None, :, None].repeat(c, 1, 1, 1), groups=c)
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


def upsample2d(x, f, up=2):
    fh, fw = f.shape[-2], f.shape[-1]
    p = [(fw + up - 1) // 2, (fw - up) // 2, (fh + up - 1) // 2, (fh - up) // 2]
    return upfirdn2d(x, f, up=up, padding=p, gain=up * up)


def bias_act(x, b=None, act="linear", gain=None, clamp=None, alpha=0.2):
    """x + b (on dim 1), activation, gain (sqrt 2 by default for lrelu), clamp."""
    if b is not None:
        x = x + b.reshape([1, -1] + [1] * (x.ndim - 2))
    if act == "lrelu":
        x = F.leaky_relu(x, alpha)
        gain = SQRT2 if gain is None else gain
    elif act == "linear":
        gain = 1.0 if gain is None else gain
    else:
        raise ValueError(f"activation {act!r} is not supported")
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x, eps=1e-8):
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class FullyConnectedLayer(nn.Module):
    def __init__(self, in_features, out_features, activation="linear", lr_multiplier=1.0, bias_init=0.0):
        super().__init__()
        self.activation = activation
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init)))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x):
        w = self.weight * self.weight_gain
        b = self.bias * self.bias_gain if self.bias_gain != 1 else self.bias
        if self.activation == "linear":
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, act=self.activation)


class MappingNetwork(nn.Module):
    """z (+ class) -> w, as NVlabs' StyleGAN2-ADA and StyleGAN3 mapping networks."""

    def __init__(self, z_dim, c_dim, w_dim, num_layers=8, lr_multiplier=0.01, layer_features=None):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_layers = z_dim, c_dim, w_dim, num_layers
        embed = w_dim if c_dim > 0 else 0
        layer_features = layer_features or w_dim
        features = [z_dim + embed] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed)
        for i in range(num_layers):
            setattr(self, f"fc{i}", FullyConnectedLayer(features[i], features[i + 1], activation="lrelu", lr_multiplier=lr_multiplier))
        self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z, c=None):
        x = normalize_2nd_moment(z.float()) if self.z_dim > 0 else None
        if self.c_dim > 0:
            y = normalize_2nd_moment(self.embed(c.float()))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        return x


class WalkInW(nn.Module):
    """The walk's vector u (standard normal) mapped linearly into W: w = centre + L u, with the
    centre and L (the square root of W's covariance) measured at import, so a standard-normal walk
    stays in W's region and blends of walk vectors are blends in W. For a conditional model the
    centre moves by the condition's blend of per-class offsets (class mean w - overall mean w): a
    one-hot condition centres on that class, an all-zero one on the overall mean. Truncation then
    pulls w towards the mapping network's tracked average: w_avg + psi (w - w_avg)."""

    def __init__(self, w_dim, c_dim):
        super().__init__()
        self.register_buffer("walk_mean", torch.zeros([w_dim]))
        self.register_buffer("walk_scale", torch.eye(w_dim))
        if c_dim > 0:
            self.register_buffer("class_offsets", torch.zeros([c_dim, w_dim]))
        self.c_dim = c_dim

    def forward(self, u, c, psi, w_avg):
        centre = self.walk_mean + c.float() @ self.class_offsets if self.c_dim > 0 and c is not None else self.walk_mean
        w = centre + u.float() @ self.walk_scale.t()
        if psi is None:
            return w
        psi = torch.as_tensor(psi, dtype=w.dtype, device=w.device).reshape(-1, 1)
        return w_avg + psi * (w - w_avg)

    @torch.no_grad()
    def measure(self, mapping, samples=10000, seed=0, chunk=1000):
        """Set the centre and L from `samples` mapped standard-normal z (random classes)."""
        g = torch.Generator().manual_seed(seed)
        ws, cs = [], []
        dev = self.walk_mean.device
        for start in range(0, samples, chunk):
            n = min(chunk, samples - start)
            z = torch.randn([n, mapping.z_dim], generator=g).to(dev)
            c = None
            if self.c_dim > 0:
                c = F.one_hot(torch.randint(0, self.c_dim, [n], generator=g), self.c_dim).float().to(dev)
                cs.append(c)
            ws.append(mapping(z, c).double())
        w = torch.cat(ws)
        mean = w.mean(0)
        self.walk_mean.copy_(mean.float())
        centred = w - mean
        if self.c_dim > 0:
            c = torch.cat(cs).double()
            means = (c.t() @ w) / c.sum(0).clamp(min=1)[:, None]
            self.class_offsets.copy_((means - mean).float())
            centred = w - c @ means  # the spread within a class
        cov = centred.t() @ centred / max(1, w.shape[0] - 1)
        vals, vecs = torch.linalg.eigh(cov)
        self.walk_scale.copy_(((vecs * vals.clamp(min=0).sqrt()) @ vecs.t()).float())


def to_rgb3(img):
    """Grey models give three equal channels; RGBA models drop alpha."""
    if img.shape[1] == 3:
        return img
    if img.shape[1] == 1:
        return img.repeat(1, 3, 1, 1)
    return img[:, :3]


class StyleGenerator(nn.Module):
    """forward(u, condition, truncation) -> image [B, 3, H, W] in [-1, 1] (NVlabs' range, unclamped).
    map(z, condition) -> w is NVlabs' mapping network, for hosts that sample z themselves.
    `c` is the full config; `synthesis` the architecture's synthesis network (w -> image)."""

    def __init__(self, c, synthesis):
        super().__init__()
        self.config = c
        self.z_dim, self.c_dim, self.w_dim = c["z_dim"], c["c_dim"], c["w_dim"]
        self.mapping = MappingNetwork(c["z_dim"], c["c_dim"], c["w_dim"], num_layers=c["mapping_layers"], lr_multiplier=c["lr_multiplier"])
        self.synthesis = synthesis
        self.walk = WalkInW(c["w_dim"], c["c_dim"])

    def map(self, z, condition=None):
        return self.mapping(z, condition)

    def synthesize(self, w):
        return to_rgb3(self.synthesis(w))

    def forward(self, u, condition=None, truncation=None):
        return self.synthesize(self.walk(u, condition, truncation, self.mapping.w_avg))
