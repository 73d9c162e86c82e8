"""python3 -m latentstage.fixtures KIND OUT: random-init instances of real architectures in their real
file formats, at small sizes, for tests (no weights can be downloaded)."""
from __future__ import annotations

import argparse
import sys


def _biggan(out, a):
    from . import fixtures_biggan
    fixtures_biggan.make(out, size=a.size or 128, width=a.width or 4)


def _openai_clip(out, a):
    from . import fixtures_clip
    fixtures_clip.make_openai(out, width=a.width or 128, embed=a.embed or 64)


def _hf_clip(out, a):
    from . import fixtures_clip
    if a.vit_b32:
        v = fixtures_clip.VIT_B32
        fixtures_clip.make_hf(out, width=v["width"], image_width=v["image_width"], layers=v["layers"], embed=v["embed"])
    else:
        fixtures_clip.make_hf(out, width=a.width or 128, embed=a.embed or 64)


KINDS = {"biggan-deep": _biggan, "openai-clip": _openai_clip, "hf-clip": _hf_clip}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("kind", choices=sorted(KINDS))
    ap.add_argument("out")
    ap.add_argument("--size", type=int, help="biggan-deep: 128, 256 or 512 (default 128)")
    ap.add_argument("--width", type=int, help="channel width (biggan-deep: default 4, the release 128; clip: default 128)")
    ap.add_argument("--embed", type=int, help="clip: embedding size (default 64)")
    ap.add_argument("--vit-b32", action="store_true", help="hf-clip: ViT-B/32's widths and depths (benchmarks)")
    a = ap.parse_args(argv)
    KINDS[a.kind](a.out, a)
    print(f"wrote {a.kind} fixture to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
