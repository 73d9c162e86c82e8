"""CLIP's byte-level BPE vocabulary: the OpenAI file (bpe_simple_vocab_16e6.txt.gz) to a Hugging Face
tokenizer.json, a Python reference encoder, and a tiny BPE trainer for test fixtures.

The runtime tokenizer is @huggingface/tokenizers reading the tokenizer.json written here; the reference
``encode`` follows OpenAI's clip/simple_tokenizer.py (without ftfy's text repair, and with the stdlib
``re`` in place of ``regex``: letters are ``[^\\W\\d_]``, numbers ``\\d``) so tests can check the two agree.
"""
from __future__ import annotations

import gzip
import html
import re
from collections import Counter

SOT, EOT = "<|startoftext|>", "<|endoftext|>"
#: The split pattern of CLIP's tokenizer.json (Oniguruma syntax, as the Hugging Face file writes it).
SPLIT = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
_SPLIT_PY = re.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+""", re.IGNORECASE)


def bytes_to_unicode() -> dict:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def read_openai_merges(path: str) -> list:
    """Merges of an OpenAI bpe_simple_vocab file (gzip or plain): header line, then 'a b' per line."""
    with open(path, "rb") as f:
        raw = f.read()
    text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
    lines = text.split("\n")
    if not lines or "#version" not in lines[0]:
        raise ValueError(f"{path}: not a CLIP BPE merges file (first line has no '#version')")
    merges = [tuple(l.split()) for l in lines[1:49152 - 256 - 2 + 1] if l.strip()]
    if any(len(m) != 2 for m in merges):
        raise ValueError(f"{path}: malformed merge line")
    return merges


def vocab_from_merges(merges: list) -> dict:
    """OpenAI's vocabulary order: 256 byte symbols, the same with '</w>', one per merge, then SOT, EOT."""
    base = list(bytes_to_unicode().values())
    vocab = base + [v + "</w>" for v in base] + ["".join(m) for m in merges] + [SOT, EOT]
    return {t: i for i, t in enumerate(vocab)}


def tokenizer_json(vocab: dict, merges: list) -> dict:
    """A Hugging Face tokenizer.json for CLIP (as openai/clip-vit-* ship it)."""
    def special(tok):
        return {"id": vocab[tok], "content": tok, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": True, "special": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(SOT), special(EOT)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFC"},
            {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": " "},
            {"type": "Lowercase"}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": SPLIT}, "behavior": "Removed", "invert": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "RobertaProcessing", "sep": [EOT, vocab[EOT]], "cls": [SOT, vocab[SOT]],
                           "trim_offsets": False, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": EOT, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "</w>", "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": [" ".join(m) for m in merges]},
    }


def _bpe(token: str, ranks: dict) -> list:
    word = list(token[:-1]) + [token[-1] + "</w>"]
    while len(word) > 1:
        pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
        best = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if best not in ranks:
            break
        out, i = [], 0
        while i < len(word):
            if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                out.append(word[i] + word[i + 1])
                i += 2
            else:
                out.append(word[i])
                i += 1
        word = out
    return word


def encode(text: str, vocab: dict, merges: list, context: int = 77) -> list:
    """Reference: OpenAI clip.tokenize(text, truncate=True) -> context ids (SOT ... EOT, zero padded)."""
    b2u = bytes_to_unicode()
    ranks = {m: i for i, m in enumerate(merges)}
    text = html.unescape(html.unescape(text)).strip()
    text = re.sub(r"\s+", " ", text).strip().lower()
    ids = [vocab[SOT]]
    for piece in _SPLIT_PY.findall(text):
        if piece in (SOT, EOT):
            ids.append(vocab[piece])
            continue
        token = "".join(b2u[b] for b in piece.encode("utf-8"))
        ids.extend(vocab[t] for t in _bpe(token, ranks))
    ids.append(vocab[EOT])
    if len(ids) > context:
        ids = ids[:context]
        ids[-1] = vocab[EOT]
    return ids + [0] * (context - len(ids))


def train_merges(words: list, n: int) -> list:
    """A tiny byte-level BPE (for fixtures): the n most frequent merges over the given words."""
    b2u = bytes_to_unicode()
    counts = Counter()
    for w in words:
        for piece in _SPLIT_PY.findall(w.lower()):
            counts["".join(b2u[b] for b in piece.encode("utf-8"))] += 1
    words_split = {w: list(w[:-1]) + [w[-1] + "</w>"] for w in counts}
    merges = []
    while len(merges) < n:
        pairs = Counter()
        for w, syms in words_split.items():
            for i in range(len(syms) - 1):
                pairs[(syms[i], syms[i + 1])] += counts[w]
        if not pairs:
            break
        best = max(sorted(pairs), key=lambda p: pairs[p])
        merges.append(best)
        for w, syms in words_split.items():
            out, i = [], 0
            while i < len(syms):
                if i < len(syms) - 1 and (syms[i], syms[i + 1]) == best:
                    out.append(syms[i] + syms[i + 1])
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            words_split[w] = out
    return merges


def write_openai_merges(path: str, merges: list) -> None:
    text = "bpe_simple_vocab_16e6.txt#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n"
    with gzip.open(path, "wb") as f:
        f.write(text.encode("utf-8"))
