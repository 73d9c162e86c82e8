"""Architecture registry: `torch.<net>.arch` in a manifest names a module here (archs/<arch>.py)
that exposes `build(config: dict) -> torch.nn.Module`. Adding an architecture is adding a file."""
import importlib
import re


class ArchError(ValueError):
    pass


def arch_module(arch: str):
    """The module for an architecture name; a clear error for a name we do not have."""
    if not isinstance(arch, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", arch):
        raise ArchError(f"architecture name {arch!r} is not a valid name")
    try:
        mod = importlib.import_module(f"latentstage.archs.{arch}")
    except ModuleNotFoundError as err:
        if err.name == f"latentstage.archs.{arch}":
            raise ArchError(f"unknown architecture {arch!r} (no latentstage/archs/{arch}.py)") from None
        raise
    if not hasattr(mod, "build"):
        raise ArchError(f"latentstage/archs/{arch}.py has no build(config)")
    return mod


def build(arch: str, config: dict):
    return arch_module(arch).build(config)
