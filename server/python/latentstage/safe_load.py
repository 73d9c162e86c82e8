"""torch.load for checkpoints people download (rosinality .pt, pytorch_model.bin): the pickle inside
may name only tensors, containers and plain settings objects (argparse.Namespace); any other global
is refused before it runs, with a clear error."""
import argparse
import collections
import pickle
import types

import torch


class CheckpointError(ValueError):
    pass


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch", "Size"): torch.Size,
    ("argparse", "Namespace"): argparse.Namespace,
}


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *state):
    return torch.nn.Parameter(data, requires_grad=False)


_ALLOWED[("torch._utils", "_rebuild_parameter")] = _rebuild_parameter
_ALLOWED[("torch._utils", "_rebuild_parameter_with_state")] = _rebuild_parameter


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        fn = _ALLOWED.get((module, name))
        if fn is None:
            raise CheckpointError(f"refusing to load {module}.{name}: a weights checkpoint never needs it (only tensors and settings are read)")
        return fn


_restricted = types.ModuleType("latentstage_restricted_pickle")
_restricted.Unpickler = _Unpickler
_restricted.load = lambda f, **kw: _Unpickler(f, **kw).load()
_restricted.__name__ = "latentstage_restricted_pickle"


def load_checkpoint(path):
    """Load a torch.save file on CPU through the restricted unpickler."""
    try:
        return torch.load(path, map_location="cpu", pickle_module=_restricted)
    except CheckpointError:
        raise
    except (RuntimeError, EOFError, pickle.UnpicklingError, OSError) as err:
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise CheckpointError(f"{path} cannot be read as a PyTorch checkpoint ({first}); is the download truncated?") from None
