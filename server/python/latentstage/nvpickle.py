"""Read NVlabs persistent pickles (StyleGAN2-ADA, StyleGAN3, and tools built on them such as
Autolume) without NVIDIA's code and without running anything stored in the file.

Those pickles hold each network as `torch_utils.persistence._reconstruct_persistent_obj(meta)`,
where meta carries the class's source code, its name and the object's stored state (the nn.Module
__dict__: parameters, buffers, sub-modules, init kwargs). A normal unpickler would import and
exec that source. This one resolves only a short list of known-safe globals (containers, torch's
tensor rebuilders, numpy scalars) and turns each persistent object into a PersistentObject holding
its class name and stored state; anything else in the pickle is refused with NVPickleError before
it can be called."""
import collections
import io
import pickle

import torch


class NVPickleError(ValueError):
    pass


class PersistentObject:
    """A network as stored in the pickle: its class name and state, never its code."""

    def __init__(self, meta):
        if not isinstance(meta, dict) or meta.get("type") != "class" or not isinstance(meta.get("class_name"), str):
            raise NVPickleError("a persistent object in the pickle is not a stored class instance")
        self.class_name = meta["class_name"]
        self.module_src = meta.get("module_src") if isinstance(meta.get("module_src"), str) else ""
        self.state = meta.get("state") if isinstance(meta.get("state"), dict) else {}

    def __repr__(self):
        return f"<stored {self.class_name}>"

    @property
    def init_kwargs(self):
        kw = self.state.get("_init_kwargs")
        return dict(kw) if isinstance(kw, dict) else {}

    def child(self, name):
        mods = self.state.get("_modules") or {}
        return mods.get(name)

    def tensors(self, prefix=""):
        """The state_dict this object would have as an nn.Module: parameters and persistent
        buffers of it and its sub-modules, by dotted name."""
        out = collections.OrderedDict()
        skip = self.state.get("_non_persistent_buffers_set") or set()
        for kind in ("_parameters", "_buffers"):
            for name, t in (self.state.get(kind) or {}).items():
                if t is None or (kind == "_buffers" and name in skip):
                    continue
                if not isinstance(t, torch.Tensor):
                    raise NVPickleError(f"{prefix}{name} is stored as {type(t).__name__}, not a tensor")
                out[prefix + name] = t.detach()
        for name, m in (self.state.get("_modules") or {}).items():
            if isinstance(m, PersistentObject):
                out.update(m.tensors(f"{prefix}{name}."))
            elif m is not None:
                raise NVPickleError(f"sub-module {prefix}{name} is not a stored network")
        return out


class EasyDict(dict):
    """dnnlib.util.EasyDict as data: a dict."""


def _reconstruct_persistent_obj(meta):
    return PersistentObject(meta)


def _load_storage(b):
    # torch pickles a storage as the bytes of a torch.save of it; read them with torch's own
    # weights-only unpickler.
    if not isinstance(b, (bytes, bytearray)):
        raise NVPickleError("a stored tensor's data is not bytes")
    return torch.load(io.BytesIO(b), map_location="cpu", weights_only=True)


def _rebuild_from_type_v2(func, new_type, args, state):
    if func not in _TENSOR_REBUILDERS:
        raise NVPickleError("a stored tensor names an unknown rebuild function")
    t = func(*args)
    if new_type is torch.nn.Parameter:
        return torch.nn.Parameter(t, requires_grad=False)
    if new_type is not torch.Tensor:
        raise NVPickleError(f"a stored tensor has type {getattr(new_type, '__name__', new_type)!r}")
    return t


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *state):
    return torch.nn.Parameter(data, requires_grad=False)


_TENSOR_REBUILDERS = {torch._utils._rebuild_tensor_v2, _rebuild_parameter}


def _np_globals():
    import numpy as np
    out = {("numpy", "dtype"): np.dtype, ("numpy", "ndarray"): np.ndarray}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        out[(mod, "scalar")] = np.core.multiarray.scalar
        out[(mod, "_reconstruct")] = np.core.multiarray._reconstruct
    return out


ALLOWED = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("dnnlib", "EasyDict"): EasyDict,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("__builtin__", "set"): set,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch.nn.parameter", "Parameter"): torch.nn.Parameter,
    ("torch", "Tensor"): torch.Tensor,
    ("torch", "Size"): torch.Size,
    ("torch.storage", "_load_from_bytes"): _load_storage,
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        key = (module, name)
        fn = ALLOWED.get(key) or _np_globals().get(key)
        if fn is None:
            raise NVPickleError(
                f"refusing to load {module}.{name}: this pickle asks to run code that a StyleGAN network pickle "
                "never needs (only stored tensors, settings and containers are read); it may be malicious or not an NVlabs network pickle")
        return fn

    def persistent_load(self, pid):
        raise NVPickleError("the pickle refers to external persistent storage, which NVlabs network pickles do not")


def load(path_or_file):
    """Unpickle an NVlabs pickle safely. Returns the top-level object (usually a dict with G, D,
    G_ema, ...), with networks as PersistentObject."""
    f = open(path_or_file, "rb") if isinstance(path_or_file, str) else path_or_file
    try:
        return _Unpickler(f).load()
    except NVPickleError:
        raise
    except (pickle.UnpicklingError, EOFError) as err:
        raise NVPickleError(f"the file is not a complete pickle ({err or 'it ends early'}); is the download truncated?") from None
    except RuntimeError as err:
        raise NVPickleError(f"a stored tensor cannot be read ({str(err).splitlines()[0]}); is the download truncated?") from None
    finally:
        if isinstance(path_or_file, str):
            f.close()
