"""Adding files to an existing model folder all-or-nothing (import clip): build them in a hidden temp
folder inside it and move them in only when all are written, the manifest last."""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager


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
