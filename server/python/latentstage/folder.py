"""Load an imported model folder's PyTorch networks (manifest `torch` section) for the torch
runtime and the latent bank:

  m = load_folder("models/my-sg3", device="cuda", dtype=torch.float16)
  images = m.generate(z, None, None)        # [B, 3, H, W] in the manifest's output range
  m.encode_text(ids) / m.encode_image(x)     # [B, D], or None where the folder has no such network

Each torch.<net> names an architecture (archs/<arch>.py, build(config)) and a state_dict file.
The networks' forward contracts: generator(z, condition, truncation) -> image (the same computation
as generator.onnx), text(ids int64 [B, L]) -> [B, D], image(images [B, 3, S, S]) -> [B, D]."""
import json
import os

import torch

from . import archs


class FolderError(ValueError):
    pass


def _inside(folder, rel):
    if not isinstance(rel, str) or os.path.isabs(rel) or ".." in rel.replace("\\", "/").split("/"):
        raise FolderError(f"{rel!r} is not a relative path inside the model folder")
    return os.path.join(folder, rel)


def load_network(folder, spec, device="cpu", dtype=torch.float32):
    if not isinstance(spec, dict) or "arch" not in spec or "weights" not in spec:
        raise FolderError("a torch network entry needs arch, config and weights")
    try:
        net = archs.build(spec["arch"], spec.get("config") or {})
    except archs.ArchError as err:
        raise FolderError(str(err)) from None
    path = _inside(folder, spec["weights"])
    if not os.path.isfile(path):
        raise FolderError(f"{path} named in latentstage.json is missing")
    state = torch.load(path, map_location="cpu", weights_only=True)
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return net.to(device=device, dtype=dtype).eval().requires_grad_(False)


class LoadedModel:
    def __init__(self, folder, manifest, nets, device, dtype):
        self.folder, self.manifest, self.device, self.dtype = folder, manifest, torch.device(device), dtype
        self.nets = nets
        gen = manifest.get("generator", {})
        self.truncation_default = (gen.get("truncation") or {}).get("default")
        self.encode_text = self._encode_text if "text" in nets else None
        self.encode_image = self._encode_image if "image" in nets else None

    @torch.no_grad()
    def generate(self, z, condition=None, truncation=None):
        if "generator" not in self.nets:
            raise FolderError("this model folder has no torch generator")
        z = z.to(self.device, self.dtype)
        if condition is not None:
            condition = condition.to(self.device, self.dtype)
        psi = truncation if truncation is not None else self.truncation_default
        if psi is not None:
            psi = torch.full([1], float(psi), device=self.device, dtype=self.dtype)
        return self.nets["generator"](z, condition, psi)

    @torch.no_grad()
    def _encode_text(self, ids):
        return self.nets["text"](ids.to(self.device))

    @torch.no_grad()
    def _encode_image(self, images):
        return self.nets["image"](images.to(self.device, self.dtype))


def load_folder(folder, device="cpu", dtype=torch.float32):
    path = os.path.join(folder, "latentstage.json")
    try:
        with open(path) as f:
            manifest = json.load(f)
    except FileNotFoundError:
        raise FolderError(f"no model at {folder}: latentstage.json is missing") from None
    specs = manifest.get("torch")
    if not isinstance(specs, dict) or not specs:
        raise FolderError(f"{folder} has no PyTorch networks (no `torch` in latentstage.json); import the model with `latentstage import`")
    nets = {role: load_network(folder, spec, device, dtype) for role, spec in specs.items()}
    return LoadedModel(folder, manifest, nets, device, dtype)
