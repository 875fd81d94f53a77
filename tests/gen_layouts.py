#!/usr/bin/python3
"""Multi-file checkpoint layouts written by real torch, with what torch sees in them (layouts_truth.json).

usage: gen_layouts.py OUT_DIR

Hugging Face sharded sets (safetensors and torch .bin, with index, without index, and a broken one), DeepSpeed
folders (ZeRO data-parallel optimizer partitions; two tensor-parallel ranks), a Megatron iteration folder with
two tensor-parallel ranks, a Lightning DeepSpeed `.ckpt` folder and TorchScript archives. File names and keys
follow what the frameworks write. The truth for a merged tensor-parallel view is torch.cat of the slices torch
loads back from the rank files.
"""
import argparse
import collections
import hashlib
import json
import os
import struct
import sys

import torch
from torch import nn

ST_NAMES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
            torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
            torch.bool: "BOOL"}
ST_TYPES = {v: k for k, v in ST_NAMES.items()}


def tensor_bytes(t):
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def describe(t):
    return {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
            "sha256": hashlib.sha256(tensor_bytes(t)).hexdigest()}


def write_safetensors(path, tensors, metadata=None):
    order = sorted(tensors.items(), key=lambda kv: (-kv[1].element_size(), kv[0]))
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in order:
        b = tensor_bytes(t)
        header[name] = {"dtype": ST_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    # Independent of our reader: the format is a length, a JSON header and raw little-endian bytes.
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        raw = bytearray(data[8 + n + b:8 + n + end])
        t = torch.frombuffer(raw, dtype=torch.uint8) if raw else torch.empty(0, dtype=torch.uint8)
        out[name] = t.view(ST_TYPES[e["dtype"]]).reshape(e["shape"])
    return out


def hf_model():
    g = torch.Generator().manual_seed(7)
    sd = collections.OrderedDict()
    sd["model.embed_tokens.weight"] = torch.randn(64, 16, generator=g)
    for i in range(3):
        p = f"model.layers.{i}."
        sd[p + "self_attn.q_proj.weight"] = torch.randn(16, 16, generator=g).to(torch.bfloat16)
        sd[p + "self_attn.k_proj.weight"] = torch.randn(16, 16, generator=g).to(torch.bfloat16)
        sd[p + "mlp.up_proj.weight"] = torch.randn(32, 16, generator=g).half()
        sd[p + "mlp.down_proj.weight"] = torch.randn(16, 32, generator=g)
        sd[p + "input_layernorm.weight"] = torch.ones(16)
    sd["model.norm.weight"] = torch.ones(16)
    sd["lm_head.weight"] = torch.randn(64, 16, generator=g)
    sd["model.position_ids"] = torch.arange(8, dtype=torch.int64)
    return sd


def hf_index(shards, name_of):
    weight_map = {k: name_of(i) for i, shard in enumerate(shards) for k in shard}
    total = sum(t.numel() * t.element_size() for shard in shards for t in shard.values())
    return {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}


def split_shards(sd, count):
    keys = list(sd)
    per = -(-len(keys) // count)
    return [collections.OrderedDict((k, sd[k]) for k in keys[i * per:(i + 1) * per]) for i in range(count)]


def write_hf(folder, sd, count, fmt, index=True):
    os.makedirs(folder, exist_ok=True)
    shards = split_shards(sd, count)
    if fmt == "safetensors":
        name_of = lambda i: f"model-{i + 1:05d}-of-{count:05d}.safetensors"  # noqa: E731
        for i, s in enumerate(shards):
            write_safetensors(os.path.join(folder, name_of(i)), s, {"format": "pt"})
        index_name = "model.safetensors.index.json"
    else:
        name_of = lambda i: f"pytorch_model-{i + 1:05d}-of-{count:05d}.bin"  # noqa: E731
        for i, s in enumerate(shards):
            torch.save(s, os.path.join(folder, name_of(i)))
        index_name = "pytorch_model.bin.index.json"
    idx = hf_index(shards, name_of)
    if index:
        with open(os.path.join(folder, index_name), "w") as fh:
            json.dump(idx, fh, indent=2)
    return idx, name_of, index_name


def loaded_hf(folder, files):
    # What torch (or a plain safetensors parse) reads back from every shard, merged.
    out = collections.OrderedDict()
    for f in files:
        p = os.path.join(folder, f)
        part = read_safetensors(p) if f.endswith(".safetensors") else torch.load(p)
        for k, v in part.items():
            out.setdefault(k, v)
    return out


# ---- Megatron-style tensor parallelism ----

def megatron_full(layers=2, hidden=8, vocab=32, seq=16):
    g = torch.Generator().manual_seed(11)
    enc = collections.OrderedDict()
    for i in range(layers):
        p = f"layers.{i}."
        enc[p + "input_layernorm.weight"] = torch.randn(hidden, generator=g)
        enc[p + "input_layernorm.bias"] = torch.randn(hidden, generator=g)
        enc[p + "self_attention.query_key_value.weight"] = torch.randn(3 * hidden, hidden, generator=g)
        enc[p + "self_attention.query_key_value.bias"] = torch.randn(3 * hidden, generator=g)
        enc[p + "self_attention.dense.weight"] = torch.randn(hidden, hidden, generator=g)
        enc[p + "self_attention.dense.bias"] = torch.randn(hidden, generator=g)
        enc[p + "mlp.dense_h_to_4h.weight"] = torch.randn(4 * hidden, hidden, generator=g)
        enc[p + "mlp.dense_h_to_4h.bias"] = torch.randn(4 * hidden, generator=g)
        enc[p + "mlp.dense_4h_to_h.weight"] = torch.randn(hidden, 4 * hidden, generator=g)
        enc[p + "mlp.dense_4h_to_h.bias"] = torch.randn(hidden, generator=g)
    enc["final_layernorm.weight"] = torch.randn(hidden, generator=g)
    enc["final_layernorm.bias"] = torch.randn(hidden, generator=g)
    emb = {"word_embeddings": collections.OrderedDict(weight=torch.randn(vocab, hidden, generator=g)),
           "position_embeddings": collections.OrderedDict(weight=torch.randn(seq, hidden, generator=g))}
    return {"language_model": {"embedding": emb, "encoder": enc}}


def split_dim(key):
    leaf = key.split(".")
    mod = leaf[-2]
    if mod in ("query_key_value", "dense_h_to_4h", "word_embeddings"):
        return 0
    if leaf[-1] == "weight" and (mod == "dense_4h_to_h" or (mod == "dense" and "attention" in leaf[-3])):
        return 1
    return None


def flatten(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from flatten(v, prefix + k + ".")
        else:
            yield prefix + k, v


def split_model(model, tp, rank):
    def walk(d, prefix):
        out = collections.OrderedDict() if isinstance(d, collections.OrderedDict) else {}
        for k, v in d.items():
            if isinstance(v, dict):
                out[k] = walk(v, prefix + k + ".")
            else:
                dim = split_dim(prefix + k)
                out[k] = v if dim is None else v.chunk(tp, dim)[rank].clone()
        return out
    return walk(model, "")


def pipeline_stage(full, pp, stage):
    # Megatron numbers layers locally in each stage; the first stage holds the embedding, the last the final norm.
    enc = full["language_model"]["encoder"]
    layers = sorted({int(k.split(".")[1]) for k in enc if k.startswith("layers.")})
    per = len(layers) // pp
    mine = layers[stage * per:(stage + 1) * per]
    out_enc = collections.OrderedDict()
    for k, v in enc.items():
        if k.startswith("layers."):
            i = int(k.split(".")[1])
            if i in mine:
                out_enc[f"layers.{i - mine[0]}." + k.split(".", 2)[2]] = v
        elif stage == pp - 1:
            out_enc[k] = v
    lm = {"encoder": out_enc}
    if stage == 0:
        lm = {"embedding": full["language_model"]["embedding"], "encoder": out_enc}
    return {"language_model": lm}


def write_megatron(root, tp=2, pp=1):
    full = megatron_full()
    with open(os.path.join(root, "latest_checkpointed_iteration.txt"), "w") as fh:
        fh.write("100")
    files = []
    for r, stage in [(r, s) for s in range(pp) for r in range(tp)]:
        d = os.path.join(root, "iter_0000100", f"mp_rank_{r:02d}" if pp == 1 else f"mp_rank_{r:02d}_{stage:03d}")
        os.makedirs(d, exist_ok=True)
        model = split_model(full if pp == 1 else pipeline_stage(full, pp, stage), tp, r)
        params = [v for _, v in flatten(model)]
        opt = torch.optim.Adam([nn.Parameter(p.clone()) for p in params], lr=1e-3)
        for p in opt.param_groups[0]["params"]:
            p.grad = torch.ones_like(p)
        opt.step()
        ckpt = {"model": model, "optimizer": {"optimizer": opt.state_dict(), "fp32_from_fp16_params": []},
                "rng_state": [{"random_rng_state": (3, (1, 2), None), "torch_rng_state": torch.get_rng_state()}],
                "iteration": 100, "checkpoint_version": 3.0}
        path = os.path.join(d, "model_optim_rng.pt")
        torch.save(ckpt, path)
        files.append(path)
    # torch's view: each rank's slices loaded back, concatenated where Megatron splits (stage 0 when pipelined).
    loaded = [dict(flatten(torch.load(f)["model"])) for f in files[:tp]]
    merged = collections.OrderedDict()
    for k, v in loaded[0].items():
        dim = split_dim(k)
        merged[k] = v if dim is None else torch.cat([l[k] for l in loaded], dim)
    want = dict(flatten(full if pp == 1 else pipeline_stage(full, pp, 0)))
    assert set(want) == set(merged)
    for k, v in want.items():
        assert torch.equal(merged[k], v), k
    return merged


def write_deepspeed(root, tp=1, dp=2, tag="global_step10", model_sd=None):
    d = os.path.join(root, tag)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(root, "latest"), "w") as fh:
        fh.write(tag)
    files = []
    sd_full = model_sd if model_sd is not None else collections.OrderedDict(
        (k, v) for k, v in hf_model().items() if v.is_floating_point())
    for r in range(tp):
        module = sd_full if tp == 1 else collections.OrderedDict(
            (k, v if split_dim(k) is None else v.chunk(tp, split_dim(k))[r].clone()) for k, v in sd_full.items())
        states = {"module": module, "buffer_names": [], "optimizer": None, "lr_scheduler": None,
                  "param_shapes": [collections.OrderedDict((k, v.shape) for k, v in module.items())],
                  "sparse_tensor_module_names": set(), "skipped_steps": 0, "global_steps": 10, "global_samples": 80,
                  "dp_world_size": dp, "mp_world_size": tp, "ds_config": {"zero_optimization": {"stage": 2}},
                  "ds_version": "0.10.0"}
        path = os.path.join(d, f"mp_rank_{r:02d}_model_states.pt")
        torch.save(states, path)
        files.append(path)
        flat = torch.cat([v.float().reshape(-1) for v in module.values()])
        for p in range(dp):
            part = flat.chunk(dp)[p].clone()
            optim = {"optimizer_state_dict": {
                "loss_scaler": None, "dynamic_loss_scale": False, "overflow": False, "clip_grad": 1.0,
                "base_optimizer_state": {"state": {0: {"step": torch.tensor(10.0), "exp_avg": torch.zeros_like(part),
                                                       "exp_avg_sq": torch.zeros_like(part)}},
                                         "param_groups": [{"lr": 1e-4, "betas": (0.9, 0.999), "eps": 1e-8,
                                                           "weight_decay": 0.0, "amsgrad": False, "params": [0]}]},
                "single_partition_of_fp32_groups": [part], "zero_stage": 2, "group_paddings": [0],
                "partition_count": [dp], "ds_version": "0.10.0"},
                "ds_config": {"zero_optimization": {"stage": 2}}, "ds_version": "0.10.0"}
            torch.save(optim, os.path.join(d, f"zero_pp_rank_{p}_mp_rank_{r:02d}_optim_states.pt"))
    loaded = [torch.load(f)["module"] for f in files]
    merged = collections.OrderedDict()
    for k, v in loaded[0].items():
        dim = split_dim(k)
        merged[k] = v if dim is None or tp == 1 else torch.cat([l[k] for l in loaded], dim)
    return merged


class Traced(nn.Module):
    # torch.tensor(...) inside forward becomes a tensor constant of the trace: stored in constants.pkl.
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        return self.lin(x) * torch.tensor([1.5, 2.5, -4.0])[:2]


class ScriptNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 6 * 6, 5))
        self.register_buffer("scale", torch.tensor([2.0]))

    def forward(self, x):
        return self.head(torch.relu(self.bn(self.conv(x)))) * self.scale


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    truth = {}

    sd = hf_model()
    idx, name_of, index_name = write_hf(os.path.join(out, "hf_safetensors"), sd, 3, "safetensors")
    files = sorted(set(idx["weight_map"].values()))
    truth["hf_safetensors"] = {"open": ["hf_safetensors", "hf_safetensors/" + index_name,
                                        "hf_safetensors/" + name_of(1)],
                               "layout": "huggingface-sharded", "parts": 3, "problems": [],
                               "tensors": {k: describe(v) for k, v in loaded_hf(os.path.join(out, "hf_safetensors"), files).items()}}
    idx, name_of, index_name = write_hf(os.path.join(out, "hf_bin"), sd, 2, "bin")
    files = sorted(set(idx["weight_map"].values()))
    truth["hf_bin"] = {"open": ["hf_bin", "hf_bin/" + index_name, "hf_bin/" + name_of(0)],
                       "layout": "huggingface-sharded", "parts": 2, "problems": [],
                       "tensors": {k: describe(v) for k, v in loaded_hf(os.path.join(out, "hf_bin"), files).items()}}
    # The same model as one torch file, to compare a sharded set against.
    torch.save(sd, os.path.join(out, "hf_single.bin"))

    idx, name_of, index_name = write_hf(os.path.join(out, "hf_noindex"), sd, 2, "safetensors", index=False)
    truth["hf_noindex"] = {"open": ["hf_noindex", "hf_noindex/" + name_of(1)], "layout": "huggingface-sharded",
                           "parts": 2, "problems": ["no model.safetensors.index.json"],
                           "tensors": {k: describe(v) for k, v in sd.items()}}

    # Broken: shard 2 of 4 missing, an extra shard file the index does not list, a key mapped to a file that
    # lacks it. The shards that are there still open.
    broken = os.path.join(out, "hf_broken")
    idx, name_of, index_name = write_hf(broken, sd, 4, "safetensors")
    os.remove(os.path.join(broken, name_of(1)))
    lost = split_shards(sd, 4)[1]
    write_safetensors(os.path.join(broken, "model-00005-of-00005.safetensors"), {"stray": torch.zeros(2)})
    idx["weight_map"]["model.ghost.weight"] = name_of(0)
    with open(os.path.join(broken, index_name), "w") as fh:
        json.dump(idx, fh, indent=2)
    present = collections.OrderedDict((k, v) for k, v in sd.items() if k not in lost)
    truth["hf_broken"] = {"open": ["hf_broken", "hf_broken/" + index_name], "layout": "huggingface-sharded", "parts": 3,
                          "problems": ["missing shard " + name_of(1), "model.ghost.weight",
                                       "extra shard model-00005-of-00005.safetensors"],
                          "tensors": {k: describe(v) for k, v in present.items()}}
    # Complete, but the index's total_size disagrees with the shards.
    badsize = os.path.join(out, "hf_badsize")
    idx, name_of, index_name = write_hf(badsize, sd, 2, "bin")
    idx["metadata"]["total_size"] += 4
    with open(os.path.join(badsize, index_name), "w") as fh:
        json.dump(idx, fh, indent=2)
    truth["hf_badsize"] = {"open": ["hf_badsize"], "layout": "huggingface-sharded", "parts": 2,
                           "problems": ["total_size"], "tensors": {k: describe(v) for k, v in sd.items()}}

    mega = os.path.join(out, "megatron")
    os.makedirs(mega, exist_ok=True)
    merged = write_megatron(mega)
    truth["megatron"] = {"open": ["megatron", "megatron/iter_0000100"], "layout": "megatron", "parts": 2,
                         "problems": [], "tensors": {k: describe(v) for k, v in merged.items()}}

    mega_pp = os.path.join(out, "megatron_pp")
    os.makedirs(mega_pp, exist_ok=True)
    merged = write_megatron(mega_pp, tp=2, pp=2)
    truth["megatron_pp"] = {"open": ["megatron_pp"], "layout": "megatron", "parts": 4, "problems": [],
                            "tensors": {k: describe(v) for k, v in merged.items()}}

    ds = os.path.join(out, "deepspeed")
    merged = write_deepspeed(ds)
    # Which parameters each data-parallel rank's flat fp32 partition covers, from the shapes torch saved.
    names = list(merged)
    sizes = [merged[k].numel() for k in names]
    part = -(-sum(sizes) // 2)
    roles = []
    for r in range(2):
        lo, hi, at, covered = r * part, (r + 1) * part, 0, []
        for k, n in zip(names, sizes):
            if at < hi and at + n > lo:
                covered.append(k)
            at += n
        roles.append(f"group 0 elements [{lo}, {hi}): {len(covered)} parameter(s), {covered[0]} .. {covered[-1]}")
    truth["deepspeed"] = {"open": ["deepspeed", "deepspeed/global_step10"], "layout": "deepspeed", "parts": 3,
                          "problems": [], "tensors": {k: describe(v) for k, v in merged.items()},
                          "roles": {f"zero_pp_rank_{r}_mp_rank_00_optim_states.pt": roles[r] for r in range(2)}}
    ds_tp = os.path.join(out, "deepspeed_tp2")
    mfull = dict(flatten(megatron_full()))
    merged = write_deepspeed(ds_tp, tp=2, dp=1, tag="global_step5", model_sd=collections.OrderedDict(mfull))
    truth["deepspeed_tp2"] = {"open": ["deepspeed_tp2"], "layout": "deepspeed", "parts": 4, "problems": [],
                              "tensors": {k: describe(v) for k, v in merged.items()}}
    for k, v in mfull.items():
        assert torch.equal(merged[k], v), k

    lt = os.path.join(out, "epoch=0-step=10.ckpt")
    merged = write_deepspeed(lt, tag="checkpoint")
    truth["lightning"] = {"open": ["epoch=0-step=10.ckpt"], "layout": "lightning-deepspeed", "parts": 3, "problems": [],
                          "tensors": {k: describe(v) for k, v in merged.items()}}

    # TorchScript archives: a scripted module with a submodule, a buffer and BatchNorm statistics.
    torch.manual_seed(3)
    net = torch.jit.script(ScriptNet().eval())
    torch.jit.save(net, os.path.join(out, "scripted.pt"))
    loaded = torch.jit.load(os.path.join(out, "scripted.pt"))
    truth["torchscript"] = {"open": ["scripted.pt"], "layout": "", "parts": 0, "problems": [],
                            "tensors": {k: describe(v) for k, v in loaded.state_dict().items()},
                            "parameters": [k for k, _ in loaded.named_parameters()],
                            "buffers": [k for k, _ in loaded.named_buffers()]}

    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer warns that torch.tensor becomes a constant: that is the point
        traced = torch.jit.trace(Traced(), torch.ones(1, 3))
    torch.jit.save(traced, os.path.join(out, "traced.pt"))
    truth["traced_constants"] = [describe(torch.tensor([1.5, 2.5, -4.0]))]

    with open(os.path.join(out, "layouts_truth.json"), "w") as fh:
        json.dump(truth, fh, indent=1)
    print(f"wrote {len(truth)} layouts to {out}")


if __name__ == "__main__":
    sys.exit(main())
