#!/usr/bin/python3
"""Checks an export against torch's own version of it.

usage: verify_export.py SOURCE PLAN.json OUTPUT

PLAN.json is the export recipe with "select" filled in. torch loads SOURCE, selects, filters, renames and casts
as the plan says; OUTPUT (or the shards listed by OUTPUT.index.json) must hold exactly those tensors, in that
order for single files, bit for bit. torch files are read with torch.load(weights_only=True); safetensors files
with an independent reader written here with the standard library and numpy (never with Checkpoint Lens). torch
files are also loaded the way torch >= 2.1 does with mmap=True (the file mapped whole, storages sliced at their
records' offsets) and their offsets computed the way torch >= 2.6 may instead of reading headers; both must give
torch.load's tensors, since only Debian's torch 1.13 is here to run.
Exits 0 and prints OK, or prints what differs and exits 1.
"""
import collections
import fnmatch
import io
import json
import os
import pickle
import pickletools
import re
import struct
import sys
import zipfile

import numpy as np
import torch

ST_DTYPES = {"F64": (torch.float64, 8), "F32": (torch.float32, 4), "F16": (torch.float16, 2),
             "BF16": (torch.bfloat16, 2), "I64": (torch.int64, 8), "I32": (torch.int32, 4), "I16": (torch.int16, 2),
             "I8": (torch.int8, 1), "U8": (torch.uint8, 1), "BOOL": (torch.bool, 1)}
ST_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64",
            "U64"]


def raw(t):
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def pairs(text):
    """JSON with every object as its list of (key, value) pairs: order and repeated keys count."""
    return json.loads(text, object_pairs_hook=list)


def matches(pattern, key):
    if pattern.startswith("re:"):
        return re.search(pattern[3:], key) is not None
    return fnmatch.fnmatchcase(key, pattern)


def flatten(obj, prefix=""):
    """A container's leaves under dotted keys, as an export of any container path names them."""
    if isinstance(obj, torch.Tensor):
        yield prefix[:-1], obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from flatten(v, f"{prefix}{k}.")
    elif isinstance(obj, (list, tuple)) and not isinstance(obj, torch.Size):
        for i, v in enumerate(obj):
            yield from flatten(v, f"{prefix}{i}.")
    else:
        yield prefix[:-1], obj


def holds_tensor(v):
    if isinstance(v, torch.Tensor):
        return True
    if isinstance(v, dict):
        return any(holds_tensor(x) for x in v.values())
    if isinstance(v, (list, tuple)):
        return any(holds_tensor(x) for x in v)
    return False


def selected(source, plan):
    obj = torch.load(source, map_location="cpu")
    for k in plan["select"]:
        obj = obj[int(k)] if isinstance(obj, (list, tuple)) else obj[k]
    return obj


def passes(plan, key):
    if plan["include"] and not any(matches(g, key) for g in plan["include"]):
        return False
    return not any(matches(g, key) for g in plan["exclude"])


def rename(plan, key):
    for r in plan["renames"]:
        key = re.sub(r["pattern"], r["replacement"], key)
    return key


def expected_others(source, plan):
    """keep_others: the entries beside the state dict on its path (nested as in the source) and the non-tensor
    leaves inside it (dotted keys), as torch reads them from the source."""
    root = torch.load(source, map_location="cpu")
    inside = collections.OrderedDict()
    for key, v in flatten(selected(source, plan)):
        if not isinstance(v, torch.Tensor) and passes(plan, key):
            inside[rename(plan, key)] = v
    beside = []  # per level: {key: value} of the entries kept there
    obj = root
    for k in plan["select"]:
        beside.append(collections.OrderedDict((kk, v) for kk, v in obj.items() if kk != k and not holds_tensor(v)))
        obj = obj[k]
    return beside, inside


def expected_tensors(source, plan):
    obj = selected(source, plan)
    out = collections.OrderedDict()
    for key, t in flatten(obj):
        if not isinstance(t, torch.Tensor) or not passes(plan, key):
            continue
        name = rename(plan, key)
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
    metadata = header.pop("__metadata__")
    # The reference writer orders tensors by dtype (widest first) then name, and the header as the data.
    names = list(header)
    by_offset = sorted(names, key=lambda k: header[k]["data_offsets"][0])
    assert names == by_offset, "header keys are not in data order"
    assert by_offset == sorted(names, key=lambda k: (-ST_ORDER.index(header[k]["dtype"]), k)), \
        "tensors are not ordered as the reference writer orders them (dtype, then name)"
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
    return result, metadata


def local_header(f, info):
    """A zip record's fixed 30-byte local header."""
    f.seek(info.header_offset)
    return f.read(30)


def record_data_offset(f, info):
    """Where a zip record's data starts: after its local header's name and extra field, as torch's
    get_record_offset reads it (the central directory's extra field may differ in length)."""
    local = local_header(f, info)
    return info.header_offset + 30 + struct.unpack("<H", local[26:28])[0] + struct.unpack("<H", local[28:30])[0]


def header_fields(path):
    """The zip header fields besides names, sizes, CRCs and offsets, per record (central directory and local
    header alike) and for the zip64 end record: what a writer chooses, which torch.save's files fix."""
    with zipfile.ZipFile(path) as z, open(path, "rb") as f:
        records = set()
        for i in z.infolist():
            need, flags, method, tm, dt = struct.unpack("<HHHHH", local_header(f, i)[4:14])
            records.add((i.file_size == 0, "central", (i.create_system << 8) | i.create_version, i.extract_version,
                         i.flag_bits, i.compress_type, i.date_time, i.internal_attr, i.external_attr))
            records.add((i.file_size == 0, "local", need, flags, method, tm, dt))
        f.seek(max(0, f.seek(0, os.SEEK_END) - (1 << 16)))
        tail = f.read()
    at = tail.rfind(b"PK\x06\x06")
    end = struct.unpack("<HH", tail[at + 12:at + 16]) if at >= 0 else None
    return records, end


_control_fields = None


def control_header_fields():
    global _control_fields
    if _control_fields is None:
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            torch.save({"w": torch.ones(3), "empty": torch.zeros(0)}, os.path.join(d, "t.pt"))
            _control_fields = header_fields(os.path.join(d, "t.pt"))
    return _control_fields


def check_torch_zip(path):
    """torch.save's layout: one folder, stored records, data/ records on 64-byte boundaries, version, byteorder;
    every header field torch.save fixes set as it sets it (checked against a torch.save file made here)."""
    problems = []
    records, end = header_fields(path)
    want_records, want_end = control_header_fields()
    for r in sorted(records - want_records, key=repr):
        problems.append(f"{path}: {'an empty' if r[0] else 'a'} record's {r[1]} header {r[2:]} is not as torch.save "
                        f"writes it: {sorted(w[2:] for w in want_records if w[:2] == r[:2])}")
    if end != want_end:
        problems.append(f"{path}: zip64 end record versions {end}, torch.save writes {want_end}")
    with zipfile.ZipFile(path) as z, open(path, "rb") as f:
        infos = z.infolist()
        folders = {i.filename.split("/")[0] for i in infos}
        if len(folders) != 1:
            problems.append(f"{path}: records in several folders {sorted(folders)}")
        names = {i.filename.split("/", 1)[1] for i in infos}
        for need in ("data.pkl", "version", "byteorder"):
            if need not in names:
                problems.append(f"{path}: no {need} record")
        for i in infos:
            if i.compress_type != zipfile.ZIP_STORED:
                problems.append(f"{i.filename}: compressed")
            start = record_data_offset(f, i)
            if "/data/" in i.filename and start % 64:
                problems.append(f"{i.filename}: data at {start}, not on 64 bytes")
    return problems


def storage_walk(pkl):
    """The storages data.pkl names, in the order torch's unpickler first asks for them: [(key, nbytes)]."""
    walk, seen = [], set()

    class Walker(pickle.Unpickler):
        def find_class(self, module, name):
            if module == "torch" and name.endswith("Storage"):
                return ("storage", 1 if name == "UntypedStorage" else
                        torch._utils._element_size(torch.serialization.StorageType(name).dtype))
            if (module, name) == ("collections", "OrderedDict"):
                return collections.OrderedDict
            if (module, name) == ("_codecs", "encode"):
                return lambda text, encoding: text.encode(encoding)
            if module == "torch":  # a dtype for _rebuild_tensor_v3
                return getattr(torch, name)
            return lambda *args: None  # _rebuild_tensor_v2 / v3: only its persistent ids matter here

        def persistent_load(self, pid):
            _, (_, item_size), key, _, numel = pid[:5]
            if key not in seen:
                seen.add(key)
                walk.append((key, numel * item_size))
            return None

    Walker(io.BytesIO(pkl)).load()
    return walk


def check_storage_offsets(path):
    """torch >= 2.6 may not read a storage record's local header at all: for a file whose .format_version is 1,
    torch.load(map_location="meta") and config.load.calculate_storage_offsets compute each storage's offset from
    the previous one's end, assuming miniz's layout (serialization.py _get_offset, ported here: the first storage
    is key 0, each next key's header follows the previous data and its data descriptor of 16 bytes, 24 with zip64,
    none for an empty record; inline_container.cc getPadding places the data after the zip64 and 'FB' extra
    fields on the alignment). A file laid out otherwise loads the wrong bytes without an error, so every computed
    offset must equal the one its local header gives (get_record_offset)."""
    problems = []
    with zipfile.ZipFile(path) as z, open(path, "rb") as f:
        infos = z.infolist()
        prefix = infos[0].filename.split("/")[0] + "/"
        by_name = {i.filename[len(prefix):]: i for i in infos}
        alignment = int(z.read(prefix + ".storage_alignment")) if ".storage_alignment" in by_name else 64

        def record_offset(name):
            return record_data_offset(f, by_name[name])

        def offset_no_read(cursor, full_name, size):
            start = cursor + 30 + len(full_name.encode()) + 4
            if size >= 0xFFFFFFFF or cursor >= 0xFFFFFFFF:
                start += 4 + (16 if size >= 0xFFFFFFFF else 0) + (8 if cursor >= 0xFFFFFFFF else 0)
            return start + (alignment - start % alignment) % alignment

        current = None
        for key, nbytes in storage_walk(z.read(prefix + "data.pkl")):
            name = f"data/{key}"
            if name not in by_name:
                problems.append(f"{path}: no record {name}")
                break
            if current is None:
                if key != "0":
                    problems.append(f"{path}: the first storage loaded is {key!r}, torch expects '0'")
                    break
                header, offset = by_name[name].header_offset, record_offset(name)
            else:
                header, offset = current, offset_no_read(current, prefix + name, nbytes)
            if offset != record_offset(name):
                problems.append(f"{path}: {name} computed at {offset}, its header puts it at {record_offset(name)}")
                break
            current = offset + nbytes
            if nbytes > 0:
                current += 24 if header >= 0xFFFFFFFF or nbytes >= 0xFFFFFFFF else 16
    return problems


def load_like_mmap(path):
    """torch.load(path, mmap=True) as torch >= 2.1 does it, from this torch's parts: the whole file mapped as one
    UntypedStorage, each storage the slice at its record's offset (serialization.py _load with overall_storage,
    get_record_offset reading the local header), no record extracted. None where this torch lacks a part the file
    needs (_rebuild_tensor_v3 for float8 on 1.13)."""
    overall = torch.UntypedStorage.from_file(path, False, os.path.getsize(path))
    with zipfile.ZipFile(path) as z, open(path, "rb") as f:
        prefix = z.infolist()[0].filename.split("/")[0] + "/"

        def record_offset(name):
            return record_data_offset(f, z.getinfo(prefix + name))

        loaded = {}

        class Loader(pickle.Unpickler):
            def find_class(self, module, name):
                if module == "torch" and name.endswith("Storage"):
                    return torch.uint8 if name == "UntypedStorage" else torch.serialization.StorageType(name).dtype
                return super().find_class(module, name)

            def persistent_load(self, pid):
                _, dtype, key, _, numel = pid[:5]
                if key not in loaded:
                    offset, nbytes = record_offset(f"data/{key}"), numel * torch._utils._element_size(dtype)
                    loaded[key] = torch.storage.TypedStorage(wrap_storage=overall[offset:offset + nbytes], dtype=dtype)
                return loaded[key]

        try:
            return Loader(io.BytesIO(z.read(prefix + "data.pkl"))).load()
        except AttributeError as e:
            if "_rebuild_tensor_v3" in str(e):
                return None
            raise


def check_mmap_load(path, loaded):
    """Every tensor of load_like_mmap(path) equals torch.load's, in the same place, bit for bit."""
    mapped = load_like_mmap(path)
    if mapped is None:
        return []
    a = [(k, t) for k, t in flatten(mapped) if isinstance(t, torch.Tensor)]
    b = [(k, t) for k, t in flatten(loaded) if isinstance(t, torch.Tensor)]
    if [k for k, _ in a] != [k for k, _ in b]:
        return [f"{path}: mapped as mmap=True, the tensors are {[k for k, _ in a][:5]}, torch.load has {[k for k, _ in b][:5]}"]
    return [f"{path}: {k} mapped as mmap=True differs from torch.load's" for (k, x), (_, y) in zip(a, b)
            if x.dtype != y.dtype or x.shape != y.shape or x.stride() != y.stride() or raw(x) != raw(y)]


def check_offsets_emulation():
    """The emulation above must accept torch's own file (a control: the layout rules are torch's, not ours)."""
    import tempfile
    w = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    sd = collections.OrderedDict([("w", w), ("tied", w), ("empty", torch.zeros(0)), ("b", torch.ones(5).bfloat16()),
                                  ("i", torch.arange(3)), ("odd", torch.ones(7, dtype=torch.uint8))])
    with tempfile.TemporaryDirectory() as d:
        torch.save(sd, os.path.join(d, "t.pt"))
        return [f"control (torch.save's own file): {p}" for p in check_storage_offsets(os.path.join(d, "t.pt"))]


ALLOWED_GLOBALS = {("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2"), ("_codecs", "encode")} | \
    {("torch", n) for n in dir(torch) if n.endswith("Storage")}


def load_torch(path):
    """torch.load(weights_only=True); where this torch's weights-only unpickler lacks an opcode the file uses
    (1.13 has none for floats), the pickle's imports are checked against what weights_only allows instead."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True), []
    except pickle.UnpicklingError as e:
        if "Unsupported operand" not in str(e) or torch.__version__ >= "2":
            raise
    with zipfile.ZipFile(path) as z:
        pkl = z.read([n for n in z.namelist() if n.endswith("/data.pkl")][0])
    problems = [f"{path}: data.pkl imports {m}.{n}" for op, arg, _ in pickletools.genops(pkl) if op.name == "GLOBAL"
                for m, n in [arg.split(" ", 1)] if (m, n) not in ALLOWED_GLOBALS]
    return torch.load(path, map_location="cpu"), problems


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
    problems = check_offsets_emulation() if plan["format"] != "safetensors" else []
    if weight_map is not None:
        with open(index, "rb") as fh:
            text = fh.read()
        # Byte for byte as Hugging Face's tools write an index (transformers, huggingface_hub).
        if text != (json.dumps(idx, indent=2, sort_keys=True) + "\n").encode():
            problems.append(f"{index} is not written as json.dumps(index, indent=2, sort_keys=True) + '\\n' writes it")
    got = collections.OrderedDict()
    keep = plan.get("keep_others", False)
    beside, inside = expected_others(source, plan) if keep else ([], {})
    if weight_map is not None:
        stem, ext = os.path.splitext(os.path.basename(output))
        for i, f in enumerate(files):
            want = f"{stem}-{i + 1:05d}-of-{len(files):05d}{ext}"
            if os.path.basename(f) != want:
                problems.append(f"shard {os.path.basename(f)}, expected {want}")
    meta_got = {}
    for f in files:
        if plan["format"] == "safetensors":
            tensors, meta = read_safetensors(f)
            meta_got.update(meta)
            for name, (dt, shape, b) in tensors.items():
                got[name] = (dt, shape, b, None, f)
        else:
            problems += check_torch_zip(f)
            problems += check_storage_offsets(f)
            sd, why = load_torch(f)
            problems += why
            problems += check_mmap_load(f, sd)
            if keep and weight_map is None:
                # The state dict at its path, the kept entries around it as in the source.
                for level, k in zip(beside, plan["select"]):
                    rest = collections.OrderedDict((kk, v) for kk, v in sd.items() if kk != k)
                    if rest != level:
                        problems.append(f"entries beside {k}: {list(rest)[:8]}, torch has {list(level)[:8]}")
                    sd = sd[k]
                kept_inside = collections.OrderedDict((kk, v) for kk, v in sd.items() if not isinstance(v, torch.Tensor))
                if kept_inside != inside:
                    problems.append(f"non-tensor entries {dict(kept_inside)}, torch has {dict(inside)}")
                sd = collections.OrderedDict((kk, v) for kk, v in sd.items() if isinstance(v, torch.Tensor))
            for name, t in sd.items():
                got[name] = (t.dtype, list(t.shape), raw(t), t, f)
    if keep and (plan["format"] == "safetensors" or weight_map is not None):
        # Kept entries as JSON metadata: in the header of a single safetensors file, else in the index.
        meta = idx["metadata"] if weight_map is not None else meta_got
        flat = {}
        for depth, level in enumerate(beside):
            for k, v in level.items():
                flat[".".join(list(plan["select"][:depth]) + [k])] = v
        flat.update(inside)
        for k, v in flat.items():
            text = meta.get(k)
            value = text if weight_map is not None else (text if isinstance(v, str) else None if text is None else json.loads(text))
            if json.loads(json.dumps(v)) != value:
                problems.append(f"metadata {k}: {text!r}, torch has {v!r}")
            elif weight_map is None and text is not None and not isinstance(v, str) and pairs(text) != pairs(json.dumps(v)):
                # Equal as dicts but not as json.dumps writes them: keys reordered or merged.
                problems.append(f"metadata {k}: {text!r}, json.dumps writes {json.dumps(v)!r}")
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
        obj = dict(flatten(selected(source, plan)))
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
