"""Fixture generator: randomly initialised instances of the real architectures, written in the
real file formats people download, at small sizes (for tests: no weights can be downloaded).

  python3 -m latentstage.fixtures KIND OUT

KIND is one of FIXTURES below. OUT is a file or folder path (per kind)."""
import argparse
import importlib
import sys

# kind -> "module:function"; function(out: str, seed: int) writes the fixture.
FIXTURES = {
    "nvlabs-sg2": "latentstage.fixtures_stylegan:nvlabs_sg2",
    "nvlabs-sg2-cond": "latentstage.fixtures_stylegan:nvlabs_sg2_cond",
    "nvlabs-sg3": "latentstage.fixtures_stylegan:nvlabs_sg3",
    "nvlabs-sg3r": "latentstage.fixtures_stylegan:nvlabs_sg3r",
    "rosinality-sg2": "latentstage.fixtures_stylegan:rosinality_sg2",
    "nvlabs-other": "latentstage.fixtures_stylegan:nvlabs_other",
    "hostile-pkl": "latentstage.fixtures_stylegan:hostile_pkl",
    "hostile-pt": "latentstage.fixtures_stylegan:hostile_pt",
    "biggan-deep": "latentstage.fixtures_biggan:small",
    "openai-clip": "latentstage.fixtures_clip:openai_small",
    "openai-clip-32": "latentstage.fixtures_clip:openai_small_32",
    "hf-clip": "latentstage.fixtures_clip:hf_small",
    # real sizes, random weights (benchmarks; hundreds of MB)
    "biggan-deep-128-full": "latentstage.fixtures_biggan:full_128",
    "biggan-deep-256-full": "latentstage.fixtures_biggan:full_256",
    "biggan-deep-512-full": "latentstage.fixtures_biggan:full_512",
    "hf-clip-vit-b32": "latentstage.fixtures_clip:hf_vit_b32",
    "nvlabs-sg2-256-full": "latentstage.fixtures_stylegan:nvlabs_sg2_256_full",
    "nvlabs-sg2-512-full": "latentstage.fixtures_stylegan:nvlabs_sg2_512_full",
    "nvlabs-sg2-1024-full": "latentstage.fixtures_stylegan:nvlabs_sg2_1024_full",
    "nvlabs-sg3t-512-full": "latentstage.fixtures_stylegan:nvlabs_sg3t_512_full",
}


def make(kind, out, seed=0):
    if kind not in FIXTURES:
        raise SystemExit(f"unknown fixture kind {kind!r} (known: {', '.join(sorted(FIXTURES))})")
    mod, fn = FIXTURES[kind].split(":")
    getattr(importlib.import_module(mod), fn)(out, seed)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m latentstage.fixtures", description=__doc__.splitlines()[0])
    p.add_argument("kind")
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    make(a.kind, a.out, a.seed)


if __name__ == "__main__":
    sys.exit(main())
