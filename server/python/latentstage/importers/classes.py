"""The 1000 ImageNet-1k class names (latentstage/imagenet_classes.txt), in class-index order."""
from __future__ import annotations

import os

PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "imagenet_classes.txt")


def imagenet_classes() -> list:
    with open(PATH, encoding="utf-8") as f:
        names = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    if len(names) != 1000:
        raise ValueError(f"{PATH}: expected 1000 class names, found {len(names)}")
    return names
