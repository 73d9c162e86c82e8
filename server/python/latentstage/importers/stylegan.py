"""Import a StyleGAN generator: an NVlabs network pickle (StyleGAN2, StyleGAN2-ADA, StyleGAN3, as
Autolume and NVIDIA's tools save them), read without running anything in it (nvpickle.py), or a
rosinality StyleGAN2 checkpoint (.pt). Writes generator.onnx (walk vector u -> image, truncation
as an input), torch/generator.pt, latentstage.json and a README."""
import os
import zipfile

import torch

from .. import nvpickle
from ..archs import stylegan2
from ..modelfolder import ImportError_, Staging, check_new_folder, export_onnx, model_id, onnx_weights_to_fp16, save_torch, write_json

TRUNCATION_DEFAULT = 1.0


def _kind_of_file(src):
    if not os.path.isfile(src):
        raise ImportError_(f"{src} is not a file")
    with open(src, "rb") as f:
        head = f.read(4)
    if head[:2] == b"PK":
        return "torch-zip"
    if head[:1] == b"\x80":
        return "pickle"
    raise ImportError_(f"{src} is neither a pickle (.pkl) nor a PyTorch checkpoint (.pt)")


def _nvlabs_generator(src):
    try:
        data = nvpickle.load(src)
    except nvpickle.NVPickleError as err:
        raise ImportError_(f"{src}: {err}") from None
    G = None
    if isinstance(data, dict):
        G = data.get("G_ema") or data.get("G")
    elif isinstance(data, nvpickle.PersistentObject):
        G = data
    if not isinstance(G, nvpickle.PersistentObject):
        keys = ", ".join(map(str, data.keys())) if isinstance(data, dict) else type(data).__name__
        raise ImportError_(f"{src} is a pickle but holds no NVlabs generator (G_ema or G); it holds: {keys}")
    tensors = G.tensors()
    if "synthesis.input.affine.weight" in tensors:
        arch = "stylegan3"
    elif "synthesis.b4.const" in tensors:
        arch = "stylegan2"
    else:
        raise ImportError_(f"{src}: the pickle's {G.class_name} is not a StyleGAN2 or StyleGAN3 generator "
                           f"(it has {len(tensors)} tensors, none named synthesis.b4.const or synthesis.input.*)")
    return arch, G, tensors


def _fc_count(tensors):
    n = 0
    while f"mapping.fc{n}.weight" in tensors:
        n += 1
    return n


def _lr_multiplier(G):
    kw = G.init_kwargs.get("mapping_kwargs") or {}
    if "lr_multiplier" in kw:
        return float(kw["lr_multiplier"])
    fc0 = G.child("mapping").child("fc0") if G.child("mapping") else None
    if fc0 is not None and "bias_gain" in fc0.state:
        return float(fc0.state["bias_gain"])
    return 0.01


def sg2_config_from_nvlabs(G, tensors):
    kw = G.init_kwargs
    res = int(kw.get("img_resolution") or tensors["synthesis.b4.torgb.weight"].shape[0] and max(
        int(k.split(".")[1][1:]) for k in tensors if k.startswith("synthesis.b")))
    z_dim = int(tensors["mapping.fc0.weight"].shape[1]) - (int(tensors["mapping.embed.weight"].shape[0]) if "mapping.embed.weight" in tensors else 0)
    cfg = dict(
        z_dim=int(kw.get("z_dim", z_dim)),
        c_dim=int(tensors["mapping.embed.weight"].shape[1]) if "mapping.embed.weight" in tensors else 0,
        w_dim=int(tensors["mapping.w_avg"].shape[0]),
        img_resolution=res,
        img_channels=int(tensors["synthesis.b4.torgb.weight"].shape[0]),
        channel_base=int(kw.get("channel_base", 32768)),
        channel_max=int(kw.get("channel_max", 512)),
        mapping_layers=_fc_count(tensors),
        lr_multiplier=_lr_multiplier(G),
        conv_clamp=kw.get("conv_clamp"),
    )
    if cfg["conv_clamp"] is not None:
        cfg["conv_clamp"] = float(cfg["conv_clamp"])
    if any(k.endswith(".skip.weight") for k in tensors):
        raise ImportError_("this StyleGAN2 uses the 'resnet' synthesis architecture, which is not supported yet (only 'skip', the default)")
    return cfg


def load_into(model, tensors, what):
    """Load checkpoint tensors by name into our module (all but the walk buffers, which import measures)."""
    want = {k: v for k, v in model.state_dict().items() if not k.startswith("walk.")}
    missing = [k for k in want if k not in tensors]
    extra = [k for k in tensors if k not in want]
    if missing or extra:
        raise ImportError_(f"the file's tensors do not match a {what}: "
                           + (f"missing {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}" if missing else "")
                           + ("; " if missing and extra else "")
                           + (f"unexpected {', '.join(extra[:5])}{' ...' if len(extra) > 5 else ''}" if extra else ""))
    for k, v in want.items():
        if tuple(tensors[k].shape) != tuple(v.shape):
            raise ImportError_(f"the file's tensor {k} has shape {list(tensors[k].shape)}, a {what} with this configuration needs {list(v.shape)}")
    model.load_state_dict({k: tensors[k].float() for k in want}, strict=False)


def build_generator(src):
    """(arch, config, generator module with the walk measured) from a StyleGAN file."""
    kind = _kind_of_file(src)
    if kind == "pickle":
        arch, G, tensors = _nvlabs_generator(src)
        if arch == "stylegan3":
            from ..archs import stylegan3
            cfg = stylegan3.config_from_nvlabs(G, tensors)
            model = stylegan3.build(cfg)
        else:
            cfg = sg2_config_from_nvlabs(G, tensors)
            model = stylegan2.build(cfg)
        load_into(model, tensors, f"{arch} generator")
    else:
        from . import rosinality
        arch, cfg, model = rosinality.build_generator(src)
    model.eval()
    model.walk.measure(model.mapping)
    return arch, cfg, model


class _OnnxGenerator(torch.nn.Module):
    def __init__(self, G):
        super().__init__()
        self.G = G

    def forward(self, z, *rest):
        cond = rest[0] if self.G.c_dim > 0 else None
        return self.G(z, cond, rest[-1])


def run(src, out, fp16=False):
    check_new_folder(out)
    arch, cfg, G = build_generator(src)
    res = cfg["img_resolution"]
    with Staging(out) as tmp:
        b = 2
        args = [torch.randn([b, G.w_dim])]
        names = ["z"]
        if G.c_dim > 0:
            args.append(torch.nn.functional.one_hot(torch.arange(b) % G.c_dim, G.c_dim).float())
            names.append("condition")
        args.append(torch.tensor([TRUNCATION_DEFAULT]))
        names.append("truncation")
        export_onnx(_OnnxGenerator(G), args, os.path.join(tmp, "generator.onnx"), names, ["image"])
        if fp16:
            onnx_weights_to_fp16(os.path.join(tmp, "generator.onnx"))
        save_torch(G, os.path.join(tmp, "torch", "generator.pt"), fp16=fp16)
        label = {"stylegan2": "StyleGAN2", "stylegan3": "StyleGAN3"}[arch]
        generator = {
            "file": "generator.onnx",
            "z": {"input": "z", "dim": G.w_dim},
            **({"condition": {"input": "condition", "dim": G.c_dim}} if G.c_dim > 0 else {}),
            "truncation": {"input": "truncation", "default": TRUNCATION_DEFAULT},
            "output": {"name": "image", "layout": "NCHW", "range": [-1, 1]},
        }
        manifest = {
            "format": "latentstage/1",
            "id": model_id(out),
            "name": os.path.splitext(os.path.basename(src))[0],
            "description": f"{label} {res}x{res} imported from {os.path.basename(src)}; the walk moves in W.",
            "resolution": {"width": res, "height": res},
            "generator": generator,
            "latent": {"space": "w", "spaces": ["z", "w"] + (["class"] if G.c_dim > 0 else [])},
            "torch": {"generator": {"arch": arch, "config": cfg, "weights": "torch/generator.pt", **({"dtype": "float16"} if fp16 else {})}},
        }
        write_json(os.path.join(tmp, "latentstage.json"), manifest)
        with open(os.path.join(tmp, "README.md"), "w") as f:
            f.write(folder_readme(label, src, G, res, fp16))


def folder_readme(label, src, G, res, fp16):
    cond = (f"\n`condition` ({G.c_dim} values) blends the classes: the walk's centre is the blend of the classes' mean w.\n"
            if G.c_dim > 0 else "")
    return f"""# {os.path.basename(src)}

{label}, {res}x{res}, imported by `latentstage import stylegan`.

- `generator.onnx`: inputs `z` ({G.w_dim} values: the walk vector u), `truncation` (shape [1]),
  output `image` (NCHW, range [-1, 1]). {'Weights stored as float16, computed in float32.' if fp16 else ''}
- The walk moves in W: w = centre + L u, where the centre is the mean of W and L the square root of
  W's covariance, both measured at import from 10,000 mapped z. A standard-normal u stays in the
  region the mapping network reaches, and blending walk vectors blends in W. Then
  w = w_avg + truncation (w - w_avg) (StyleGAN's truncation trick around the trained average).
  The server feeds `truncation` its manifest default (1): the walk's `truncation` parameter already
  scales u around the centre, which in W is the same trick.{cond}
- `torch/generator.pt`: the same network as a PyTorch state_dict (NVlabs tensor names plus
  `walk.*`), described under `torch.generator` in latentstage.json, for the torch runtime.
"""
