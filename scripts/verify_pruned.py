#!/usr/bin/env python3
"""Checks a pruned safetensors file against the original and the allocation that made it.

For every tensor of the allocation: the number of zeros is exactly size − kept, the kept
weights are bit-identical to the original and are exactly the largest-magnitude ones (ties by
position, as `solvent allocate` prunes). Every other tensor, and the metadata, are
bit-identical. Then prints the allocation by layer type (attention vs feed-forward).
Needs numpy only (the safetensors header is parsed by hand).

usage: verify_pruned.py ORIGINAL PRUNED ALLOCATION.json
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32,
          "BF16": np.uint16, "U8": np.uint8, "I8": np.int8, "BOOL": np.bool_}


def load(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", None)
    body = data[8 + n:]
    tensors = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        tensors[name] = (info["dtype"], info["shape"], body[a:b])
    return meta, tensors


def main():
    orig_path, pruned_path, alloc_path = sys.argv[1:4]
    meta0, t0 = load(orig_path)
    meta1, t1 = load(pruned_path)
    alloc = json.load(open(alloc_path))
    assert meta0 == meta1, "metadata differ"
    assert set(t0) == set(t1), "tensor names differ"
    layers = {l["name"]: l for l in alloc["layers"]}
    total_kept = total = 0
    for name, (dtype, shape, raw0) in t0.items():
        dtype1, shape1, raw1 = t1[name]
        assert (dtype, shape) == (dtype1, shape1), f"{name}: dtype/shape changed"
        if name not in layers:
            assert raw0 == raw1, f"{name}: not in the allocation but its bytes changed"
            continue
        if dtype == "BF16":
            w0 = (np.frombuffer(raw0, np.uint16).astype(np.uint32) << 16).view(np.float32)
            w1 = (np.frombuffer(raw1, np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            w0 = np.frombuffer(raw0, DTYPES[dtype]).astype(np.float64)
            w1 = np.frombuffer(raw1, DTYPES[dtype]).astype(np.float64)
        n = w0.size
        kept = layers[name]["cost"]["params"]
        order = np.lexsort((np.arange(n), np.abs(w0)))  # by |w|, ties by position
        pruned_idx, kept_idx = order[: n - kept], order[n - kept:]
        assert np.all(w1[pruned_idx] == 0), f"{name}: a pruned weight is not zero"
        assert np.array_equal(w1[kept_idx], w0[kept_idx]), f"{name}: a kept weight changed"
        zeros = int(np.sum(w1 == 0))
        orig_zeros_kept = int(np.sum(w0[kept_idx] == 0))
        assert zeros == n - kept + orig_zeros_kept, f"{name}: {zeros} zeros, expected {n - kept}"
        if n - kept > 0 and kept > 0:
            assert np.abs(w0[kept_idx]).min() >= np.abs(w0[pruned_idx]).max(), f"{name}: not the largest kept"
        total_kept += kept
        total += n
    print(f"verified {len(layers)} pruned tensors and {len(t0) - len(layers)} untouched ones: "
          f"measured sparsity {1 - total_kept / total:.6f} = allocation "
          f"{1 - alloc['total_cost']['params'] / total:.6f}")
    groups = {}
    for l in alloc["layers"]:
        kind = "attention" if ".attention." in l["name"] else "feed-forward"
        sub = l["name"].split(".")[-2] if kind == "feed-forward" else l["name"].split(".")[-2]
        key = (kind, l["name"].split(".attention.")[-1].rsplit(".", 1)[0] if kind == "attention"
               else ("intermediate" if ".intermediate." in l["name"] else "output"))
        g = groups.setdefault(key, [0, 0, []])
        size = int(np.prod(t0[l["name"]][1]))
        g[0] += l["cost"]["params"]
        g[1] += size
        g[2].append(l["sparsity"])
    for kind in ("attention", "feed-forward"):
        kept = sum(v[0] for k, v in groups.items() if k[0] == kind)
        size = sum(v[1] for k, v in groups.items() if k[0] == kind)
        print(f"  {kind:<12} sparsity {1 - kept / size:.3f}")
        for k, v in sorted(groups.items()):
            if k[0] == kind:
                print(f"    {k[1]:<16} sparsity {1 - v[0] / v[1]:.3f}  per block "
                      + " ".join(f"{s:.2f}" for s in v[2]))


if __name__ == "__main__":
    main()
