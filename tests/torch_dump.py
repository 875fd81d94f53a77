#!/usr/bin/python3
"""What torch itself sees in checkpoint files, as JSON: the ground truth the C++ tests compare against.

usage: torch_dump.py OUT.json FILE...

For each file: torch.load(map_location=<recording callable>) and a depth-first walk of the loaded object in
container order (dict items, list/tuple elements, an object's __dict__), listing every tensor with its path,
dtype, shape, stride, storage offset, requires_grad, whether it is an nn.Parameter, the device its storage was
saved from, a sha256 of its elements (contiguous, little-endian) and a storage group id (tensors that share a
storage in torch share the id). Files torch cannot load get {"error": "..."}.
"""
import collections
import hashlib
import json
import os
import struct
import sys
import warnings
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import fixture_models  # noqa: E402,F401  (classes of whole-model pickles)

MAX_DEPTH = 256


def key_text(k):
    if isinstance(k, str):
        return k
    if isinstance(k, bool):
        return "True" if k else "False"
    if isinstance(k, int):
        return str(k)
    return repr(k)


def children(obj):
    if isinstance(obj, dict):
        return [(key_text(k), v) for k, v in obj.items()]
    if isinstance(obj, (list, tuple)) and not isinstance(obj, torch.Size):
        return [(str(i), v) for i, v in enumerate(obj)]
    if hasattr(obj, "__dict__") and not isinstance(obj, type) and not callable(obj) or isinstance(obj, nn.Module):
        return [(k, v) for k, v in vars(obj).items()]
    return []


def tensor_bytes(t):
    t = t.detach()
    if t.is_quantized:
        t = t.int_repr()
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


SAFETENSORS_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
                      "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
                      "U8": torch.uint8, "BOOL": torch.bool}


def load_safetensors(path):
    # torch 1.13 has no safetensors reader: the format is simple enough to read with json + torch.frombuffer.
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    out = collections.OrderedDict()
    for name, e in sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"])):
        b, end = e["data_offsets"]
        dt = SAFETENSORS_DTYPES[e["dtype"]]
        buf = bytearray(data[b:end])
        t = torch.frombuffer(buf, dtype=dt) if buf else torch.zeros(0, dtype=dt)
        out[name] = t.reshape(e["shape"])
    return out


def is_torchscript(path):
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("/constants.pkl") for n in z.namelist())
    except zipfile.BadZipFile:
        return False


def value_stats(t):
    """Statistics as ckptlens defines them, computed by torch in float64: min/max/mean/std/l2/absmax over the
    finite values (complex: magnitudes), counts over all elements; undefined figures left out."""
    t = t.detach()
    if t.is_quantized:
        return None
    x = t.to(torch.complex128).abs() if t.is_complex() else t.double()  # magnitudes in double, not float32
    x = x.reshape(-1)
    finite = x[torch.isfinite(x)]
    out = {"numel": x.numel(), "zeros": int((finite == 0).sum()), "nan": int(torch.isnan(x).sum()),
           "inf": int(torch.isinf(x).sum()), "l2": float(torch.sqrt((finite * finite).sum()))}
    if finite.numel():
        out.update(min=float(finite.min()), max=float(finite.max()), mean=float(finite.mean()),
                   absmax=float(finite.abs().max()))
    if finite.numel() > 1:
        out["std"] = float(finite.std(unbiased=True))
    return out


def dump_file(path):
    if is_torchscript(path):
        return {"torchscript": True}
    if path.endswith(".safetensors"):
        return walk_object(load_safetensors(path), {})
    locations = {}

    def record(storage, location):
        locations[storage.data_ptr()] = location
        return storage

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obj = torch.load(path, map_location=record)
    return walk_object(obj, locations)


def walk_object(obj, locations):
    tensors = []
    groups = {}

    def walk(o, path_, depth, on_path):
        if isinstance(o, torch.Tensor):
            ptr = o.storage().data_ptr() if o.numel() or o.storage().size() else None
            group = groups.setdefault((ptr, o.storage().size()) if ptr else ("empty", id(o)), len(groups))
            tensors.append({
                "path": list(path_),
                "dtype": str(o.dtype).replace("torch.", ""),
                "shape": list(o.shape),
                "stride": list(o.stride()),
                "storage_offset": o.storage_offset(),
                "requires_grad": bool(o.requires_grad),
                "parameter": isinstance(o, nn.Parameter),
                "device": locations.get(ptr, "cpu") if ptr else None,
                "sha256": hashlib.sha256(tensor_bytes(o)).hexdigest(),
                "group": group,
                "stats": value_stats(o),
            })
            return
        if depth >= MAX_DEPTH or id(o) in on_path:
            return
        on_path.add(id(o))
        for k, v in children(o):
            walk(v, path_ + [k], depth + 1, on_path)
        on_path.discard(id(o))

    walk(obj, [], 0, set())
    top = [k for k, _ in children(obj)] if not isinstance(obj, torch.Tensor) else []
    return {"tensors": tensors, "top_level_keys": top, "root_type": type(obj).__name__}


def main():
    out, files = sys.argv[1], sys.argv[2:]
    result = {}
    for f in files:
        try:
            result[os.path.abspath(f)] = dump_file(f)
        except Exception as e:  # torch refuses the file: the expectation is that we refuse it too
            result[os.path.abspath(f)] = {"error": f"{type(e).__name__}: {e}"[:500]}
    tmp = out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(result, fh, indent=1)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
