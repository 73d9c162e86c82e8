"""Writing a model folder all-or-nothing: build in a hidden temp folder next to OUT, move in at the end."""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager


def model_id(out: str) -> str:
    base = re.sub(r"[^a-z0-9._-]+", "-", os.path.basename(os.path.normpath(out)).lower()).strip("-._")
    return (base or "model")[:64]


@contextmanager
def new_folder(out: str):
    """Yields a temp folder; renamed to out when the block succeeds, removed when it raises."""
    out = os.path.abspath(out)
    if os.path.exists(out):
        raise FileExistsError(f"{out} already exists: choose a new output folder (import never overwrites)")
    parent = os.path.dirname(out)
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"{parent} does not exist")
    tmp = tempfile.mkdtemp(prefix="." + os.path.basename(out) + ".importing-", dir=parent)
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def add_to_folder(out: str):
    """Yields a temp folder inside out; its files move into out (manifest last) when the block succeeds."""
    out = os.path.abspath(out)
    tmp = tempfile.mkdtemp(prefix=".importing-", dir=out)
    try:
        yield tmp
        moves = []
        for root, _dirs, files in os.walk(tmp):
            for f in files:
                rel = os.path.relpath(os.path.join(root, f), tmp)
                moves.append(rel)
        moves.sort(key=lambda r: r == "latentstage.json")
        for rel in moves:
            dst = os.path.join(out, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.replace(os.path.join(tmp, rel), dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: str, obj) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")
