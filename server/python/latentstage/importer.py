"""python3 -m latentstage.importer KIND SRC -o OUT [--fp16]: dispatch to latentstage/importers/<kind>.py."""
from __future__ import annotations

import argparse
import importlib
import sys

KINDS = ("biggan", "clip")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="latentstage import", description=__doc__)
    ap.add_argument("kind", choices=KINDS)
    ap.add_argument("src")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--fp16", action="store_true")
    a = ap.parse_args(argv)
    try:
        importlib.import_module(f"latentstage.importers.{a.kind}").run(a.src, a.out, a.fp16)
    except (ValueError, OSError) as err:
        print(f"latentstage import {a.kind}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
