#!/usr/bin/env python3
"""Builds the fuzzers' seed corpora; plain Python, torch not needed (torch's globals are faked in sys.modules).

    make_seeds.py WORK [--root REPO] [--fixtures DIR] [--targets fuzz_pickle fuzz_safetensors fuzz_checkpoint]

WORK/seeds/<target>/ is rebuilt on every run from:
  - the committed seeds and reproducers in REPO/fuzz/corpus/<target>/
  - data.pkl of REPO/resources/samples/*.pth, of the committed torch-written fuzz_checkpoint seeds and of the
    torch fixtures in DIR (written by tests/gen_fixtures.py) when present, and the small fixture files
    themselves for fuzz_checkpoint
  - hand-made pickles (protocols 0-5, torch-shaped state dicts and training checkpoints), torch zip files
    (stored and deflated), legacy (torch < 1.6) files and safetensors files
WORK/found/<target>/ (what the fuzzers add) and WORK/artifacts/ are created and kept.
"""

import argparse
import collections
import io
import json
import os
import pickle
import shutil
import struct
import sys
import types
import zipfile

MAX_SEED = 64 * 1024  # larger seeds slow libFuzzer's mutations down more than they help


# ---------------------------------------------------------------- fake torch globals

def _module(name):
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        n = ".".join(parts[:i])
        if not isinstance(sys.modules.get(n), types.ModuleType) or not getattr(sys.modules[n], "_ckptlens_fake", False):
            m = types.ModuleType(n)
            m._ckptlens_fake = True
            sys.modules[n] = m
            if i > 1:
                setattr(sys.modules[".".join(parts[: i - 1])], parts[i - 1], m)
    return sys.modules[name]


def fake_function(module, name):
    def f(*args, **kwargs):
        raise RuntimeError("a stand-in, never called")
    f.__module__, f.__name__, f.__qualname__ = module, name, name
    setattr(_module(module), name, f)
    return f


def fake_class(module, name):
    cls = type(name, (), {"__module__": module})
    cls.__qualname__ = name
    setattr(_module(module), name, cls)
    return cls


rebuild_v2 = fake_function("torch._utils", "_rebuild_tensor_v2")
rebuild_v3 = fake_function("torch._utils", "_rebuild_tensor_v3")
rebuild_v1 = fake_function("torch._utils", "_rebuild_tensor")
rebuild_parameter = fake_function("torch._utils", "_rebuild_parameter")
rebuild_from_type_v2 = fake_function("torch._tensor", "_rebuild_from_type_v2")
Parameter = fake_class("torch.nn.parameter", "Parameter")
Size = fake_class("torch", "Size")
device = fake_class("torch", "device")
float32 = fake_class("torch", "float32")
bfloat16 = fake_class("torch", "bfloat16")
STORAGE = {n: fake_class("torch", n) for n in ("FloatStorage", "HalfStorage", "LongStorage", "BFloat16Storage",
                                               "ByteStorage", "BoolStorage", "DoubleStorage", "UntypedStorage")}
ITEM = {"FloatStorage": 4, "HalfStorage": 2, "LongStorage": 8, "BFloat16Storage": 2, "ByteStorage": 1,
        "BoolStorage": 1, "DoubleStorage": 8, "UntypedStorage": 1}
np_scalar = fake_function("numpy.core.multiarray", "scalar")
np_dtype = fake_class("numpy", "dtype")
Namespace = fake_class("argparse", "Namespace")
Module = fake_class("mymodels", "Net")


class Storage:
    def __init__(self, cls, key, numel, location="cpu", view=False):
        self.cls, self.key, self.numel, self.location, self.view = cls, key, numel, location, view

    def pid(self, legacy):
        t = ("storage", STORAGE[self.cls], self.key, self.location, self.numel)
        return t + (None,) if legacy else t


class Tensor:
    def __init__(self, storage, size, stride=None, offset=0, fn="v2", requires_grad=False, dtype=None):
        if stride is None:
            stride, acc = [], 1
            for s in reversed(size):
                stride.insert(0, acc)
                acc *= max(s, 1)
        self.storage, self.size, self.stride, self.offset = storage, tuple(size), tuple(stride), offset
        self.fn, self.requires_grad, self.dtype = fn, requires_grad, dtype

    def __reduce_ex__(self, proto):
        if self.fn == "v1":
            return rebuild_v1, (self.storage, self.offset, self.size, self.stride)
        if self.fn == "v3":
            return rebuild_v3, (self.storage, self.offset, self.size, self.stride, self.requires_grad,
                                collections.OrderedDict(), self.dtype)
        return rebuild_v2, (self.storage, self.offset, self.size, self.stride, self.requires_grad,
                            collections.OrderedDict())


class Param:
    def __init__(self, tensor, via="utils"):
        self.tensor, self.via = tensor, via

    def __reduce_ex__(self, proto):
        if self.via == "class":
            return Parameter, (self.tensor, True)
        if self.via == "subclass":
            return rebuild_from_type_v2, (rebuild_v2, Parameter, (self.tensor.storage, 0, self.tensor.size,
                                                                  self.tensor.stride, True, collections.OrderedDict()),
                                          {})
        return rebuild_parameter, (self.tensor, True, collections.OrderedDict())


class Reduced:
    """Pickles as callable(*args) plus an optional BUILD state."""

    def __init__(self, fn, args, state=None):
        self.fn, self.args, self.state = fn, args, state

    def __reduce_ex__(self, proto):
        return (self.fn, self.args) if self.state is None else (self.fn, self.args, self.state)


def Obj(cls, state):
    """An instance of a stand-in class: NEWOBJ + BUILD at protocol >= 2 (as argparse.Namespace and pickled
    modules arrive), copyreg._reconstructor below."""
    o = cls.__new__(cls)
    o.__dict__.update(state)
    return o


class TorchPickler(pickle.Pickler):
    def __init__(self, f, protocol, legacy=False):
        super().__init__(f, protocol=protocol)
        self.legacy = legacy

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return obj.pid(self.legacy)
        return None


def dumps(obj, protocol=2, legacy=False):
    buf = io.BytesIO()
    TorchPickler(buf, protocol, legacy).dump(obj)
    return buf.getvalue()


# ---------------------------------------------------------------- sample objects

def state_dict(n_layers=2, d=4, dtype_cls="FloatStorage", tied=True):
    storages, sd, key = [], collections.OrderedDict(), 0

    def t(*shape):
        nonlocal key
        numel = 1
        for s in shape:
            numel *= s
        st = Storage(dtype_cls, str(key), numel)
        key += 1
        storages.append(st)
        return Tensor(st, shape)

    sd["embed.weight"] = t(8, d)
    for i in range(n_layers):
        sd[f"layers.{i}.linear.weight"] = t(d, d)
        sd[f"layers.{i}.linear.bias"] = t(d)
        sd[f"layers.{i}.norm.num_batches_tracked"] = Tensor(Storage("LongStorage", str(key), 1), ())
        storages.append(sd[f"layers.{i}.norm.num_batches_tracked"].storage)
        key += 1
    if tied:
        sd["head.weight"] = sd["embed.weight"]
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("layers.0", {"version": 2})])
    return sd, storages


def training_checkpoint():
    sd, storages = state_dict()
    big = Storage("FloatStorage", "99", 64)
    storages.append(big)
    view = Tensor(big, (4, 4), (1, 4), offset=8)  # transposed view into a shared storage
    half = Storage("HalfStorage", "98", 6)
    bf = Storage("UntypedStorage", "97", 12)
    storages += [half, bf]
    ckpt = {
        "epoch": 3,
        "global_step": 123456789012,
        "loss": 0.125,
        "lr": Reduced(np_scalar, (Reduced(np_dtype, ("f8", False, True), (3, "<", None, None, None, -1, -1, 0)),
                                  struct.pack("<d", 3e-4))),
        "model_state_dict": sd,
        "view": view,
        "half": Tensor(half, (2, 3)),
        "bf16": Tensor(bf, (6,), fn="v3", dtype=bfloat16),
        "old": Tensor(storages[0], (2, 2), fn="v1"),
        "param": Param(Tensor(big, (8,))),
        "param_cls": Param(Tensor(big, (2,)), via="class"),
        "param_sub": Param(Tensor(big, (3,)), via="subclass"),
        "optimizer_state_dict": {"state": {0: {"step": 10, "exp_avg": Tensor(big, (16,))}},
                                 "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1, 2]}]},
        "args": Obj(Namespace, {"lr": 0.001, "name": "run-1", "tags": ["a", "b"], "seed": None, "amp": True}),
        "device": Reduced(device, ("cuda", 0)),
        "size": Reduced(Size, ((2, 3),)),
        "misc": [b"bytes", bytearray(b"ba"), {1, 2}, frozenset({3}), complex(1, -2), 2 ** 70, -2 ** 65, 1.5,
                 None, True, False, "ünïcode", (), [], {}],
        "module": Obj(Module, {"training": True, "_parameters": collections.OrderedDict()}),
    }
    return ckpt, storages


def storage_bytes(st):
    n = st.numel * ITEM[st.cls]
    return bytes((i * 37 + 11) & 0xFF for i in range(n))


def torch_zip(obj, storages, prefix="archive", compression=zipfile.ZIP_STORED, protocol=2):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        z.writestr(f"{prefix}/data.pkl", dumps(obj, protocol))
        z.writestr(f"{prefix}/byteorder", "little")
        seen = set()
        for st in storages:
            if st.key not in seen:
                seen.add(st.key)
                z.writestr(f"{prefix}/data/{st.key}", storage_bytes(st))
        z.writestr(f"{prefix}/version", "3\n")
    return buf.getvalue()


def legacy_file(obj, storages, big_endian=False):
    out = io.BytesIO()
    for part in (0x1950A86A20F9469CFC6C, 1001,
                 {"protocol_version": 1001, "little_endian": not big_endian,
                  "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        out.write(pickle.dumps(part, protocol=2))
    out.write(dumps(obj, 2, legacy=True))
    keys = sorted({st.key for st in storages})
    out.write(pickle.dumps(keys, protocol=2))
    by_key = {st.key: st for st in storages}
    for k in keys:
        st = by_key[k]
        out.write(struct.pack(">q" if big_endian else "<q", st.numel))
        out.write(storage_bytes(st))
    return out.getvalue()


def safetensors(tensors, metadata=None, pad=True):
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, item) in tensors.items():
        n = item
        for s in shape:
            n *= s
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + n]}
        data += bytes((i * 13 + 1) & 0xFF for i in range(n))
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


# ---------------------------------------------------------------- corpora

def pickle_seeds():
    seeds = {}
    sd, _ = state_dict()
    ck, _ = training_checkpoint()
    for proto in range(0, 6):
        seeds[f"state_dict_p{proto}.pkl"] = dumps(sd, proto)
        seeds[f"training_p{proto}.pkl"] = dumps(ck, proto)
    seeds["legacy_object.pkl"] = dumps(ck, 2, legacy=True)
    seeds["legacy_magic.pkl"] = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    seeds["legacy_magic_p0.pkl"] = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=0)
    seeds["plain_p0.pkl"] = pickle.dumps({"a": [1, 2.5, "x", None, (True, False)], "b": b"\x00\xff"}, protocol=0)
    seeds["bf16_sd_p2.pkl"] = dumps(state_dict(1, 2, "BFloat16Storage")[0], 2)
    return seeds


def safetensors_seeds():
    return {
        "basic.safetensors": safetensors({"a.weight": ("F32", (2, 3), 4), "a.bias": ("F32", (3,), 4)}),
        "metadata.safetensors": safetensors({"x": ("F16", (4,), 2), "y": ("BF16", (2, 2), 2)},
                                            {"format": "pt", "note": "seed"}),
        "dtypes.safetensors": safetensors({f"t{i}": (dt, (2,), it) for i, (dt, it) in enumerate(
            [("BOOL", 1), ("U8", 1), ("I8", 1), ("F8_E5M2", 1), ("F8_E4M3", 1), ("I16", 2), ("U16", 2),
             ("I32", 4), ("U32", 4), ("F64", 8), ("I64", 8), ("U64", 8), ("C64", 8)])}),
        "scalar_and_empty.safetensors": safetensors({"s": ("F32", (), 4), "e": ("F32", (0, 4), 4)}),
        "unpadded.safetensors": safetensors({"w": ("I64", (1, 2, 1), 8)}, pad=False),
        "empty_header.safetensors": safetensors({}),
    }


def checkpoint_seeds():
    sd, sd_st = state_dict(1, 2)
    ck, ck_st = training_checkpoint()
    seeds = {
        "zip_state_dict.pth": torch_zip(sd, sd_st),
        "zip_deflated.pth": torch_zip(sd, sd_st, "model", zipfile.ZIP_DEFLATED),
        "zip_training_p4.pth": torch_zip(ck, ck_st, "ckpt", protocol=4),
        "legacy_state_dict.pth": legacy_file(sd, sd_st),
        "legacy_big_endian.pth": legacy_file(sd, sd_st, big_endian=True),
    }
    seeds["raw_training_p2.pkl"] = dumps(ck, 2)  # a plain pickle file: what scanPickles reads besides checkpoints
    seeds["raw_state_dict_p0.pkl"] = dumps(sd, 0)
    st = safetensors_seeds()
    seeds["basic.safetensors"] = st["basic.safetensors"]
    seeds["metadata.safetensors"] = st["metadata.safetensors"]
    return seeds


def torch_files(folder):
    if not folder or not os.path.isdir(folder):
        return []
    out = []
    for dirpath, _, names in os.walk(folder):
        for n in sorted(names):
            if n.endswith((".pth", ".pt", ".ckpt", ".bin", ".safetensors")):
                out.append(os.path.join(dirpath, n))
    return sorted(out)


def data_pkl(path):
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if info.filename.endswith("/data.pkl") and info.file_size <= MAX_SEED:
                    return z.read(info)
    except (zipfile.BadZipFile, OSError, NotImplementedError):
        pass
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--fixtures", default="")
    ap.add_argument("--targets", nargs="+", default=["fuzz_pickle", "fuzz_safetensors", "fuzz_checkpoint"])
    args = ap.parse_args()

    generated = {"fuzz_pickle": pickle_seeds(), "fuzz_safetensors": safetensors_seeds(),
                 "fuzz_checkpoint": checkpoint_seeds()}
    torch_written = (torch_files(os.path.join(args.root, "resources", "samples")) + torch_files(args.fixtures)
                     + torch_files(os.path.join(args.root, "fuzz", "corpus", "fuzz_checkpoint")))
    for path in torch_written:
        tag = os.path.basename(os.path.dirname(path)) + "_" + os.path.basename(path)
        pkl = data_pkl(path)
        if pkl is not None:
            generated["fuzz_pickle"]["torch_" + tag + ".data.pkl"] = pkl
        committed = os.path.dirname(path) == os.path.join(args.root, "fuzz", "corpus", "fuzz_checkpoint")
        if os.path.getsize(path) <= MAX_SEED and not committed:
            with open(path, "rb") as f:
                generated["fuzz_checkpoint"]["torch_" + tag] = data = f.read()
            if path.endswith(".safetensors"):
                generated["fuzz_safetensors"]["fixture_" + tag] = data

    os.makedirs(os.path.join(args.work, "artifacts"), exist_ok=True)
    for t in args.targets:
        seeds = os.path.join(args.work, "seeds", t)
        shutil.rmtree(seeds, ignore_errors=True)
        os.makedirs(seeds)
        os.makedirs(os.path.join(args.work, "found", t), exist_ok=True)
        for name, data in generated.get(t, {}).items():
            with open(os.path.join(seeds, name), "wb") as f:
                f.write(data)
        committed = os.path.join(args.root, "fuzz", "corpus", t)
        n_committed = 0
        if os.path.isdir(committed):
            for name in sorted(os.listdir(committed)):
                shutil.copy(os.path.join(committed, name), os.path.join(seeds, "corpus_" + name))
                n_committed += 1
        print(f"{t}: {len(generated.get(t, {}))} generated + {n_committed} committed seeds in {seeds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
