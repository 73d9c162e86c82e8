"""Import the model files people download into a latentstage model folder.

  python3 -m latentstage.importer KIND SRC -o OUT [--fp16]

KIND: stylegan (NVlabs .pkl, rosinality .pt), biggan (pytorch-pretrained-biggan folder), clip (adds
text + image encoders to an existing model folder OUT). Each kind is latentstage/importers/KIND.py
with run(src, out, fp16). Errors print one line to stderr and exit 2, writing nothing."""
import argparse
import importlib
import sys

KINDS = ("stylegan", "biggan", "clip")


def main(argv=None):
    p = argparse.ArgumentParser(prog="latentstage import", description="Import a model into a latentstage model folder.")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("src")
    p.add_argument("-o", "--out", required=True)
    p.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    a = p.parse_args(argv)
    from .modelfolder import ImportError_
    from .nvpickle import NVPickleError
    try:
        mod = importlib.import_module(f"latentstage.importers.{a.kind}")
    except ModuleNotFoundError as err:
        if err.name == f"latentstage.importers.{a.kind}":
            print(f"latentstage import: the {a.kind} importer is not installed in this copy", file=sys.stderr)
            return 2
        raise
    try:
        mod.run(a.src, a.out, a.fp16)
    except (ImportError_, NVPickleError) as err:
        print(f"latentstage import: {err}", file=sys.stderr)
        return 2
    print(f"imported {a.src} -> {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
