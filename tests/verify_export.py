#!/usr/bin/python3
"""Checks an export against torch's own version of it.

usage: verify_export.py SOURCE PLAN.json OUTPUT

PLAN.json is the export recipe with "select" filled in. torch loads SOURCE, selects, filters, renames and casts
as the plan says; OUTPUT (or the shards listed by OUTPUT.index.json) must hold exactly those tensors, in that
order for single files, bit for bit. torch files are read with torch.load(weights_only=True); safetensors files
with an independent reader written here with the standard library and numpy (never with Checkpoint Lens).
Exits 0 and prints OK, or prints what differs and exits 1.
"""
import collections
import fnmatch
import json
import os
import re
import struct
import sys

import numpy as np
import torch

ST_DTYPES = {"F64": (torch.float64, 8), "F32": (torch.float32, 4), "F16": (torch.float16, 2),
             "BF16": (torch.bfloat16, 2), "I64": (torch.int64, 8), "I32": (torch.int32, 4), "I16": (torch.int16, 2),
             "I8": (torch.int8, 1), "U8": (torch.uint8, 1), "BOOL": (torch.bool, 1)}


def raw(t):
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def expected_tensors(source, plan):
    obj = torch.load(source, map_location="cpu")
    for k in plan["select"]:
        obj = obj[int(k)] if isinstance(obj, (list, tuple)) else obj[k]
    out = collections.OrderedDict()
    for key, t in obj.items():
        if plan["include"] and not any(fnmatch.fnmatchcase(key, g) for g in plan["include"]):
            continue
        if any(fnmatch.fnmatchcase(key, g) for g in plan["exclude"]):
            continue
        name = key
        for r in plan["renames"]:
            name = re.sub(r["pattern"], r["replacement"], name)
        if "dtype" in plan and t.is_floating_point():
            t = t.to(getattr(torch, plan["dtype"]))
        out[name] = (t, key)
    return out


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    assert n % 8 == 0, f"header length {n} is not padded to 8"
    header = json.loads(data[8:8 + n])
    assert header.get("__metadata__", {}).get("format") == "pt", "missing __metadata__ format pt"
    header.pop("__metadata__")
    buf = data[8 + n:]
    end = 0
    result = collections.OrderedDict()
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, stop = e["data_offsets"]
        assert b == end, f"{name}: offsets not contiguous"
        end = stop
        dt, size = ST_DTYPES[e["dtype"]]
        assert (stop - b) == size * int(np.prod(e["shape"], dtype=np.int64)), f"{name}: byte count"
        assert b % size == 0, f"{name}: misaligned"
        result[name] = (dt, list(e["shape"]), buf[b:stop])
    assert end == len(buf), "trailing bytes after the last tensor"
    return result


def main():
    source, plan_path, output = sys.argv[1:4]
    with open(plan_path) as fh:
        plan = json.load(fh)
    expected = expected_tensors(source, plan)
    index = output + ".index.json"
    files = [output]
    weight_map = None
    if os.path.exists(index):
        with open(index) as fh:
            idx = json.load(fh)
        weight_map = idx["weight_map"]
        files = [os.path.join(os.path.dirname(output), f) for f in sorted(set(weight_map.values()))]
    problems = []
    got = collections.OrderedDict()
    for f in files:
        if plan["format"] == "safetensors":
            for name, (dt, shape, b) in read_safetensors(f).items():
                got[name] = (dt, shape, b, None, f)
        else:
            sd = torch.load(f, map_location="cpu", weights_only=True)
            for name, t in sd.items():
                got[name] = (t.dtype, list(t.shape), raw(t), t, f)
    if weight_map is not None:
        if set(weight_map) != set(expected):
            problems.append("index weight_map keys differ from the plan")
        for name, (_, _, _, _, f) in got.items():
            if weight_map.get(name) != os.path.basename(f):
                problems.append(f"{name}: index says {weight_map.get(name)}, found in {os.path.basename(f)}")
        # total_size counts each stored byte once: a storage shared by tied weights is one storage.
        storages = {}
        for _, _, b, t, f in got.values():
            key = (f, t.storage().data_ptr()) if t is not None else (f, id(b))
            storages[key] = t.storage().nbytes() if t is not None else len(b)
        if idx["metadata"]["total_size"] != sum(storages.values()):
            problems.append(f"index total_size {idx['metadata']['total_size']} differs from the {sum(storages.values())} bytes stored")
    if set(got) != set(expected):
        problems.append(f"keys differ: extra {sorted(set(got) - set(expected))[:5]} missing {sorted(set(expected) - set(got))[:5]}")
    elif plan["format"] == "torch" and weight_map is None and list(got) != list(expected):
        # a single torch file keeps the source order; safetensors orders by dtype and name, as its reference does
        problems.append(f"key order differs: {list(got)[:5]} vs {list(expected)[:5]}")
    for name, (t, key) in expected.items():
        if name not in got:
            continue
        dt, shape, b, _, _ = got[name]
        if dt != t.dtype or shape != list(t.shape):
            problems.append(f"{name}: {dt} {shape}, torch has {t.dtype} {list(t.shape)}")
        elif b != raw(t):
            problems.append(f"{name}: values differ from torch's {key} cast")
    if plan["format"] != "safetensors":
        # Tied weights stay tied: tensors on one storage in the source share one in the output.
        by_src = collections.defaultdict(list)
        obj = torch.load(source, map_location="cpu")
        for k in plan["select"]:
            obj = obj[int(k)] if isinstance(obj, (list, tuple)) else obj[k]
        for name, (t, key) in expected.items():
            if obj[key].numel():
                by_src[(obj[key].storage().data_ptr(), str(t.dtype))].append(name)
        for names in by_src.values():
            ptrs = {got[n][3].storage().data_ptr() for n in names if n in got and got[n][3] is not None}
            if len(ptrs) > 1 and len({got[n][4] for n in names}) == 1:
                problems.append(f"{names}: shared in the source, separate in the output")
    if problems:
        print("\n".join(problems[:20]))
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
