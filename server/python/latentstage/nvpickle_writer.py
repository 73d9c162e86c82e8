"""Write NVlabs-style persistent pickles from our own modules, for test fixtures: the same global
names (torch_utils.persistence._reconstruct_persistent_obj, dnnlib.util.EasyDict) and the same
stored state layout (the nn.Module __dict__ with _init_kwargs) as NVIDIA's torch_utils.persistence
writes. The loader (nvpickle.py) never runs these names; here they are stand-ins registered only
while pickling."""
import collections
import contextlib
import pickle
import sys
import types


class EasyDict(dict):
    pass


def _reconstruct_persistent_obj(meta):  # never called: only its name is written
    raise RuntimeError("stand-in")


@contextlib.contextmanager
def _stand_ins():
    names = ["torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util"]
    saved = {n: sys.modules.get(n) for n in names}
    mods = {n: types.ModuleType(n) for n in names}
    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    EasyDict.__module__, EasyDict.__qualname__ = "dnnlib.util", "EasyDict"
    mods["torch_utils.persistence"]._reconstruct_persistent_obj = _reconstruct_persistent_obj
    mods["dnnlib.util"].EasyDict = EasyDict
    sys.modules.update(mods)
    try:
        yield
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m


class Persistent:
    """Pickles as NVlabs' persistent class instance of `class_name` with the module's state."""

    def __init__(self, module, class_name, module_src, init_kwargs=None, drop=()):
        self.module, self.class_name, self.module_src = module, class_name, module_src
        self.init_kwargs, self.drop = init_kwargs or {}, set(drop)

    def __reduce__(self):
        state = dict(self.module.__dict__)
        state["_parameters"] = collections.OrderedDict((k, v.detach().clone().requires_grad_(False)) for k, v in state["_parameters"].items())
        state["_buffers"] = collections.OrderedDict((k, v) for k, v in state["_buffers"].items() if k not in self.drop)
        state["_modules"] = collections.OrderedDict(
            (k, Persistent(v, type(v).__name__, self.module_src, drop=self.drop)) for k, v in state["_modules"].items() if k not in self.drop)
        state["_init_args"] = ()
        state["_init_kwargs"] = EasyDict(self.init_kwargs)
        meta = dict(type="class", version=6, module_src=self.module_src, class_name=self.class_name, state=state)
        return (_reconstruct_persistent_obj, (meta,))


def dump(obj, path):
    with _stand_ins(), open(path, "wb") as f:
        pickle.dump(obj, f)


def easydict(d):
    return EasyDict(d)
