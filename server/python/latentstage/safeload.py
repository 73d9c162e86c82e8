"""Reading downloaded weight files without running code from them.

- ``torch_state(path)``: a torch.save'd state dict (pytorch_model.bin, zip or legacy format) through
  torch.load(weights_only=True), torch's own restricted unpickler (tensors, dicts, numbers only).
- ``safetensors_state(path)``: a .safetensors file (8-byte header length, JSON header, raw little-endian
  tensors), read directly; no pip package needed.
- ``torchscript_state(path)``: the parameters and buffers of a TorchScript archive (OpenAI's CLIP ``.pt``)
  WITHOUT torch.jit.load, which would compile and run the TorchScript code stored in the archive. The
  archive is a zip holding ``<name>/data.pkl`` (the module tree pickled as ``__torch__.*`` objects whose
  state is their attributes) and ``<name>/data/<key>`` (raw storages). A restricted unpickler builds each
  ``__torch__.*`` object as an inert attribute holder, tensors from the raw storages, and refuses every
  other global; the stored ``code/`` is never read.
- ``torch_checkpoint(path)``: a torch.save'd training checkpoint that may also hold argparse.Namespace
  settings (rosinality's .pt), through a restricted unpickler.
"""
from __future__ import annotations

import collections
import json
import pickle
import struct
import zipfile

import numpy as np
import torch


class UnsafeFileError(ValueError):
    pass


def torch_state(path: str) -> dict:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeFileError(f"{path}: refused, it holds more than tensors ({err})") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: not a readable PyTorch weights file (truncated or corrupt?): {err}") from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        raise ValueError(f"{path}: not a state dict (a mapping of names to tensors)")
    return dict(obj)


_ST_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
              "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
              "BOOL": torch.bool}


def safetensors_state(path: str) -> dict:
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: truncated safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"{path}: truncated safetensors file (header says {n} bytes)")
    try:
        header = json.loads(data[8:8 + n])
    except ValueError as err:
        raise ValueError(f"{path}: bad safetensors header: {err}") from None
    body = memoryview(data)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _ST_DTYPES.get(info.get("dtype"))
        if dtype is None:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {info.get('dtype')}")
        start, end = info["data_offsets"]
        if not (0 <= start <= end <= len(body)):
            raise ValueError(f"{path}: tensor {name} lies outside the file (truncated?)")
        raw = bytes(body[start:end])
        t = torch.frombuffer(bytearray(raw), dtype=torch.uint8) if raw else torch.zeros(0, dtype=torch.uint8)
        t = t.view(dtype).reshape(info["shape"]).clone()
        out[name] = t
    return out


_STORAGE_DTYPES = {"FloatStorage": torch.float32, "HalfStorage": torch.float16, "DoubleStorage": torch.float64,
                   "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
                   "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
                   "BoolStorage": torch.bool}


class ScriptObject:
    """Stand-in for a pickled ``__torch__.*`` object: keeps its attributes, runs nothing."""

    kind = ""

    def __setstate__(self, state):
        self.state = state if isinstance(state, dict) else {"__state__": state}


class _StorageType:
    def __init__(self, name: str):
        self.dtype = _STORAGE_DTYPES[name]


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, *rest):
    return torch.as_strided(storage, tuple(size), tuple(stride), offset).clone()


class _ScriptUnpickler(pickle.Unpickler):
    def __init__(self, file, archive: zipfile.ZipFile, prefix: str):
        super().__init__(file)
        self.archive = archive
        self.prefix = prefix
        self.storages: dict = {}

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "__torch__" or module.startswith("__torch__."):
            return type(name, (ScriptObject,), {"kind": f"{module}.{name}"})
        raise UnsafeFileError(f"refused: the archive asks for {module}.{name}, which a weights file does not need")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[1], _StorageType)):
            raise UnsafeFileError(f"refused: unexpected persistent object {pid!r:.80}")
        _, stype, key, _location, numel = pid[:5]
        if key not in self.storages:
            try:
                raw = self.archive.read(f"{self.prefix}data/{key}")
            except KeyError:
                raise ValueError(f"archive is missing storage data/{key} (truncated?)") from None
            t = torch.frombuffer(bytearray(raw), dtype=torch.uint8) if raw else torch.zeros(0, dtype=torch.uint8)
            t = t.view(stype.dtype)
            if t.numel() < numel:
                raise ValueError(f"archive storage data/{key} is shorter than its tensor (truncated?)")
            self.storages[key] = t
        return self.storages[key]


def torchscript_state(path: str) -> dict:
    """Parameters and buffers of a TorchScript archive by dotted name (as module.state_dict() names them)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise ValueError(f"{path}: not a TorchScript archive (a zip): {err}") from None
    with archive:
        pkls = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if not pkls:
            raise ValueError(f"{path}: no data.pkl in the archive: not a TorchScript / torch.save zip")
        prefix = pkls[0][: -len("data.pkl")]
        import io
        try:
            root = _ScriptUnpickler(io.BytesIO(archive.read(pkls[0])), archive, prefix).load()
        except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, struct.error) as err:
            raise ValueError(f"{path}: unreadable data.pkl (truncated or corrupt?): {err}") from None
    if not isinstance(root, ScriptObject):
        if isinstance(root, dict) and all(torch.is_tensor(v) for v in root.values()):
            return dict(root)
        raise ValueError(f"{path}: the archive does not hold a module")
    out: dict = {}

    def walk(obj: ScriptObject, prefix: str, seen: set):
        if id(obj) in seen:
            return
        seen.add(id(obj))
        for k, v in getattr(obj, "state", {}).items():
            if torch.is_tensor(v):
                out[prefix + k] = v
            elif isinstance(v, ScriptObject):
                walk(v, prefix + k + ".", seen)

    walk(root, "", set())
    return out


# --- torch_checkpoint(path): a torch.save'd training checkpoint (rosinality's {"g_ema": ..., "args":
# argparse.Namespace, ...}), which weights_only refuses for its Namespace. torch.load cannot be given
# a restricted unpickler (torch 1.13 ignores pickle_module), so the zip is read here: data.pkl
# through _ScriptUnpickler's storage handling, plus argparse.Namespace (a plain attribute bag) and
# torch's Parameter rebuilders; every other global is refused before anything runs.
import argparse  # noqa: E402
import io  # noqa: E402


class CheckpointError(ValueError):
    """A training checkpoint that cannot be read safely (refused global, truncated file)."""


def _ckpt_rebuild_parameter(data, requires_grad=False, backward_hooks=None, *state):
    return torch.nn.Parameter(data, requires_grad=False)


_CKPT_EXTRA = {
    ("argparse", "Namespace"): argparse.Namespace,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("torch", "Size"): torch.Size,
    ("torch._utils", "_rebuild_parameter"): _ckpt_rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _ckpt_rebuild_parameter,
}


class _CkptUnpickler(_ScriptUnpickler):
    def find_class(self, module, name):
        if (module, name) in _CKPT_EXTRA:
            return _CKPT_EXTRA[(module, name)]
        if module == "__torch__" or module.startswith("__torch__."):
            raise UnsafeFileError(f"refused: {module}.{name} (TorchScript) in a training checkpoint")
        return super().find_class(module, name)


def torch_checkpoint(path):
    """A torch.save file (zip format, PyTorch >= 1.6) read without running anything in it."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise CheckpointError(f"{path} cannot be read as a PyTorch checkpoint (not a complete zip: {err}); is the download truncated?") from None
    with archive:
        pkls = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if not pkls:
            raise CheckpointError(f"{path} is not a PyTorch checkpoint (no data.pkl)")
        prefix = pkls[0][: -len("data.pkl")]
        try:
            return _CkptUnpickler(io.BytesIO(archive.read(pkls[0])), archive, prefix).load()
        except UnsafeFileError as err:
            raise CheckpointError(str(err)) from None
        except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, struct.error, ValueError, RuntimeError) as err:
            raise CheckpointError(f"{path} cannot be read as a PyTorch checkpoint ({err}); is the download truncated?") from None
