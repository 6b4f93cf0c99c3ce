#!/usr/bin/env python3
"""Independent NumPy reference for BERT-family sentence-transformers embeddings.

Checks `solvent embed` output (for example all-MiniLM-L6-v2) against embeddings computed
here from scratch: the safetensors file is parsed by hand, the BERT uncased tokenizer
(BasicTokenizer + greedy longest-match WordPiece) is reimplemented from vocab.txt, and the
encoder runs in float64 NumPy, followed by mean pooling and L2 normalisation
(Transformer -> Pooling(mean) -> Normalize). Nothing here uses the HuggingFace `tokenizers`
library, `transformers`, or candle, so agreement is an independent check of the Rust runner.

Prints the max absolute difference over all embedding entries and the min cosine similarity,
and exits 1 if the max abs difference exceeds --tol (default 1e-4).

usage: bert_reference.py MODEL_DIR TEXT_FILE SOLVENT_JSON [--tol 1e-4] [--verbose] [--dump OUT.json]
"""
import argparse
import json
import math
import os
import struct
import sys
import unicodedata

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def load_safetensors(path):
    """Return {name: float64/int array}, with any leading 'bert.' stripped from names."""
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    body = memoryview(data)[8 + n:]
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        dt = info["dtype"]
        if dt == "BF16":  # upper 16 bits of an f32
            arr = (np.frombuffer(body[a:b], dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(body[a:b], dtype=np.dtype(DTYPES[dt]).newbyteorder("<"))
        arr = arr.reshape(info["shape"])
        if arr.dtype.kind == "f":
            arr = arr.astype(np.float64)
        out[name[len("bert."):] if name.startswith("bert.") else name] = arr
    return out


# ----------------------------------------------------------------------------- tokenizer

def _is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def _is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokenize(text):
    """BERT uncased BasicTokenizer: clean, pad CJK, lowercase, strip accents, split punctuation."""
    chars = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        if _is_whitespace(ch):
            chars.append(" ")
        elif _is_cjk(cp):
            chars.append(" " + ch + " ")
        else:
            chars.append(ch)
    words = []
    for word in "".join(chars).split():
        word = unicodedata.normalize("NFD", word.lower())
        word = "".join(c for c in word if unicodedata.category(c) != "Mn")
        current = []
        for ch in word:
            if _is_punctuation(ch):
                if current:
                    words.append("".join(current))
                    current = []
                words.append(ch)
            else:
                current.append(ch)
        if current:
            words.append("".join(current))
    return words


def wordpiece(word, vocab, unk="[UNK]", max_chars=100):
    """Greedy longest-match-first WordPiece with '##' continuation; [UNK] if any piece fails."""
    if len(word) > max_chars:
        return [vocab[unk]]
    ids, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                ids.append(vocab[piece])
                break
            end -= 1
        else:
            return [vocab[unk]]
        start = end
    return ids


def tokenize(text, vocab, max_len):
    ids = [i for w in basic_tokenize(text) for i in wordpiece(w, vocab)]
    ids = ids[:max_len - 2]
    return [vocab["[CLS]"]] + ids + [vocab["[SEP]"]]


# ----------------------------------------------------------------------------- model

def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def linear(x, W, prefix):
    return x @ W[prefix + ".weight"].T + W[prefix + ".bias"]


def encode(ids, W, cfg):
    """Float64 BERT forward for one unpadded sequence -> L2-normalised mean-pooled embedding."""
    eps, heads = cfg["layer_norm_eps"], cfg["num_attention_heads"]
    n = len(ids)
    x = (W["embeddings.word_embeddings.weight"][ids]
         + W["embeddings.position_embeddings.weight"][:n]
         + W["embeddings.token_type_embeddings.weight"][0])
    x = layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], eps)
    d = x.shape[1]
    hd = d // heads
    for layer in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        q, k, v = (linear(x, W, p + "attention.self." + t).reshape(n, heads, hd).transpose(1, 0, 2)
                   for t in ("query", "key", "value"))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        scores -= scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(1, 0, 2).reshape(n, d)
        x = layer_norm(linear(ctx, W, p + "attention.output.dense") + x,
                       W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"], eps)
        h = gelu(linear(x, W, p + "intermediate.dense"))
        x = layer_norm(linear(h, W, p + "output.dense") + x,
                       W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], eps)
    pooled = x.mean(0)
    return pooled / max(np.linalg.norm(pooled), 1e-12)


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("text_file")
    ap.add_argument("solvent_json")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--dump", metavar="OUT.json")
    args = ap.parse_args()

    cfg = json.load(open(os.path.join(args.model_dir, "config.json")))
    max_len = cfg["max_position_embeddings"]
    st_cfg = os.path.join(args.model_dir, "sentence_bert_config.json")
    if os.path.exists(st_cfg):
        max_len = json.load(open(st_cfg)).get("max_seq_length", max_len)
    with open(os.path.join(args.model_dir, "vocab.txt"), encoding="utf-8") as f:
        vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
    W = load_safetensors(os.path.join(args.model_dir, "model.safetensors"))

    with open(args.text_file, encoding="utf-8") as f:
        sentences = [s.strip() for s in f if s.strip()]
    solvent = json.load(open(args.solvent_json))
    if solvent["sentences"] != sentences:
        bad = [i for i, (a, b) in enumerate(zip(sentences, solvent["sentences"])) if a != b]
        sys.exit(f"sentence lists differ: {len(sentences)} here vs {len(solvent['sentences'])} "
                 f"in solvent output; first mismatches at {bad[:5]}")

    ref = []
    for i, s in enumerate(sentences):
        ids = tokenize(s, vocab, max_len)
        if args.verbose and i == 0:
            print(f"token ids of sentence 0 ({len(ids)}): {ids}")
        ref.append(encode(ids, W, cfg))
    ref = np.array(ref)
    got = np.array(solvent["embeddings"], dtype=np.float64)
    if got.shape != ref.shape:
        sys.exit(f"shape mismatch: reference {ref.shape} vs solvent {got.shape}")

    diff = np.abs(ref - got)
    cos = (ref * got).sum(1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1))
    worst = int(diff.max(1).argmax())
    if args.verbose:
        for i, s in enumerate(sentences):
            print(f"  [{i:3}] max|d|={diff[i].max():.2e} cos={cos[i]:.9f}  {s[:60]!r}")
    if args.dump:
        json.dump({"sentences": sentences, "embeddings": ref.tolist()}, open(args.dump, "w"))

    ok = diff.max() <= args.tol
    print(f"{'OK' if ok else 'FAIL'}: {len(sentences)} sentences, dim {ref.shape[1]}, "
          f"max abs diff {diff.max():.3e} (worst sentence {worst}), min cosine {cos.min():.9f}, "
          f"tol {args.tol:g}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
