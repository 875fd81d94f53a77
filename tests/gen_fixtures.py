#!/usr/bin/python3
"""Writes the test fixtures with real torch (Debian's python3-torch) and torch's own view of each of them.

usage: gen_fixtures.py OUT_DIR

Each fixture FILE gets FILE beside expected.json, which torch_dump.py fills from torch.load of the written file.
manifest.json lists the fixtures and what each one covers. Seeds are fixed, so reruns write identical tensors.
"""
import collections
import json
import os
import struct
import subprocess
import sys
import argparse as argparse_mod

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fixture_models  # noqa: E402


def all_dtypes():
    # Every dtype this torch (1.13) can save; float8 and unsigned 16/32/64 appeared in torch 2.1+.
    g = torch.Generator().manual_seed(1)
    base = torch.randn(2, 3, generator=g) * 100
    d = collections.OrderedDict()
    for dt in [torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int8, torch.int16, torch.int32,
               torch.int64, torch.uint8]:
        d[str(dt).replace("torch.", "")] = base.to(dt)
    d["bool"] = base > 0
    d["complex64"] = torch.complex(base, -base).to(torch.complex64)
    d["complex128"] = torch.complex(base.double(), base.double() * 2)
    return d


def views():
    g = torch.Generator().manual_seed(2)
    base = torch.randn(6, 8, generator=g)
    d = collections.OrderedDict()
    d["base"] = base
    d["transposed"] = base.t()
    d["row_slice"] = base[2:5]
    d["col_slice"] = base[:, 3:7]
    d["strided"] = base[::2, ::3]
    d["element"] = base[4, 5]
    d["expanded"] = torch.arange(4.0).view(4, 1).expand(4, 5)
    d["permuted"] = torch.arange(24).view(2, 3, 4).permute(2, 0, 1)
    d["unrelated"] = torch.linspace(0, 1, 7)
    d["tied_a"] = d["tied_b"] = torch.ones(3, 3) * 2  # one tensor under two keys
    return d


def scalars_and_empty():
    return {
        "zero_dim_float": torch.tensor(3.25),
        "zero_dim_int": torch.tensor(-7),
        "zero_dim_bool": torch.tensor(True),
        "empty_1d": torch.zeros(0),
        "empty_2d": torch.zeros(3, 0),
        "empty_int": torch.zeros(0, 5, dtype=torch.int64),
        "one": torch.ones(1),
    }


def nested():
    g = torch.Generator().manual_seed(3)
    return {
        "list": [torch.randn(2, generator=g), [torch.randn(3, generator=g), (torch.arange(4), "text")]],
        "tuple": (torch.ones(2, 2), 5, 2.5, None, True),
        "int_keys": {0: torch.zeros(2), 1: {7: torch.ones(1)}, -3: torch.arange(3)},
        "strings": {"name": "resnet", "bytes": b"\x00\x01binary", "unicode": "\u00e9t\u00e9 \u2603"},
        "numbers": [1, -1, 2 ** 40, -(2 ** 63), 2 ** 70, 1.5e-300, float("inf")],
        "namespace": argparse_mod.Namespace(lr=0.1, layers=[64, 64], name="exp"),
        "numpy_scalars": {"f8": np.float64(0.5), "i8": np.int64(-3), "f4": np.float32(1.25)},
    }


def value_cases():
    # Values that trip statistics: specials, subnormals of every float format, a large mean with a tiny spread,
    # tensors large enough to be split over threads, and strided views of them.
    g = torch.Generator().manual_seed(9)
    big = torch.randn(700, 1000, generator=g)
    specials = torch.tensor([1.0, float("nan"), float("inf"), -float("inf"), 0.0, -0.0, -2.5])
    d = collections.OrderedDict()
    d["specials_f32"] = specials
    d["specials_f16"] = specials.half()
    d["specials_bf16"] = specials.bfloat16()
    d["subnormal_f16"] = torch.tensor([5.96e-8, 6.0e-5, -1e-7, 65504.0]).half()
    d["subnormal_bf16"] = torch.tensor([1e-40, -3e-39, 3.0e38]).bfloat16()
    d["subnormal_f32"] = torch.tensor([1e-45, 1e-40, -1e-38], dtype=torch.float32)
    d["subnormal_f64"] = torch.tensor([5e-324, 1e-310], dtype=torch.float64)
    d["offset_mean"] = (1e8 + torch.randn(100000, generator=g, dtype=torch.float64))
    d["big"] = big
    d["big_t"] = big.t()
    d["big_strided"] = big[::3, 1::7]
    d["big_bf16"] = big.bfloat16()
    # Large <= 16-bit tensors take the pattern-count path (model/patterncounts.h), strided and with specials too.
    half = big.half()
    half.view(-1)[::4999] = float("nan")
    half.view(-1)[3::7001] = float("-inf")
    half.view(-1)[5::3001] = -0.0
    d["big_f16_specials"] = half
    d["big_bf16_t"] = big.bfloat16().t()
    d["big_int16"] = torch.randint(-32768, 32767, (300000,), generator=g, dtype=torch.int16)
    d["big_uint8"] = torch.randint(0, 256, (5000,), generator=g, dtype=torch.uint8)
    d["big_int8"] = torch.randint(-128, 128, (5000,), generator=g, dtype=torch.int8)
    d["big_bool"] = torch.rand(5000, generator=g) > 0.7
    d["all_nan"] = torch.full((5,), float("nan"))
    d["one_value"] = torch.tensor([4.0])
    d["ints_extreme"] = torch.tensor([-(2 ** 63), 2 ** 63 - 1, 0], dtype=torch.int64)
    d["complex_special"] = torch.tensor([complex(3, 4), complex(float("nan"), 1), complex(0, 0)])
    return d


def training_checkpoint():
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=1e-4)
    for _ in range(3):
        loss = model(torch.randn(4, 8)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {"epoch": 3, "step": 12, "model_state_dict": model.state_dict(),
            "optimizer_state_dict": opt.state_dict(), "loss": float(loss), "best_acc": 0.5}


def parameters():
    torch.manual_seed(5)
    return {
        "param": nn.Parameter(torch.randn(3, 4)),
        "frozen": nn.Parameter(torch.randn(2), requires_grad=False),
        "grad_tensor": torch.randn(2, 2).requires_grad_(),
        "plain": torch.randn(2),
    }


def many(n=5000):
    g = torch.Generator().manual_seed(6)
    return collections.OrderedDict((f"layers.{i // 4}.block.{i % 4}.weight", torch.randn(3, generator=g))
                                   for i in range(n))


def large_storages():
    # Storages past the exporter's 4 MiB threshold (their CRC on a thread beside the copy) and past its 8 MiB
    # read-back pieces, one of them tied to a second key, one a view inside a larger storage.
    g = torch.Generator().manual_seed(8)
    w = torch.randn(1536, 1024, generator=g)           # 6 MiB
    v = torch.randn(2600, 1024, generator=g)           # 10.2 MiB
    return collections.OrderedDict([("embed.weight", w), ("head.weight", w), ("body.weight", v),
                                    ("body.rows", v[100:2500])])


def state_dict():
    torch.manual_seed(7)
    net = fixture_models.SmallNet()
    net.eval()
    return net.state_dict()


def whole_model():
    torch.manual_seed(8)
    return fixture_models.SmallNet()


class SemNet(nn.Module):
    """Embedding, norms with running stats, linear layers, a repeated block list: what the semantic view reads."""

    def __init__(self, tied=False):
        super().__init__()
        self.embed = nn.Embedding(50, 12)
        self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(12, 20), nn.BatchNorm1d(20), nn.ReLU(), nn.Linear(20, 12))
                                    for _ in range(3))
        self.head = nn.Linear(12, 50, bias=False)
        if tied:
            self.head.weight = self.embed.weight

    def forward(self, x):
        h = self.embed(x)
        for b in self.blocks:
            h = h + b(h)
        return self.head(h)


def train_steps(model, opt, steps=2):
    model.train()
    for _ in range(steps):
        loss = model(torch.randint(0, 50, (6,))).logsumexp(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(loss)


def optimizer_truth(model, opt):
    # Position across param_groups -> parameter name: what ckptlens must reconstruct from the files.
    names = {id(p): n for n, p in model.named_parameters()}
    return [names[id(p)] for g in opt.param_groups for p in g["params"]]


def semantic_fixtures(out):
    truth = {}

    def record(name, obj, model, opt, sd_path, prefix="", mapped=True, kind=None, findings=()):
        torch.save(obj, os.path.join(out, name))
        sd = model.state_dict()
        # Every key a Parameter lives under, tied duplicates included (named_parameters() drops those).
        params = {prefix + (f"{mn}.{pn}" if mn else pn) for mn, mod in model.named_modules()
                  for pn, p in mod._parameters.items() if p is not None}
        truth[name] = {
            "state_dict_path": sd_path,
            "parameters": sorted(k for k in (prefix + k for k in sd) if k in params),
            "buffers": sorted(k for k in (prefix + k for k in sd) if k not in params),
            "optimizer": [prefix + n for n in optimizer_truth(model, opt)] if mapped else None,
            "optimizer_kind": kind,
            "findings": list(findings),
            "layers": 3,
        }

    torch.manual_seed(10)
    m = SemNet()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    loss = train_steps(m, opt)
    record("sem_adam.pth", {"epoch": 5, "model_state_dict": m.state_dict(), "optimizer_state_dict": opt.state_dict(),
                            "loss": loss}, m, opt, ["model_state_dict"], kind="Adam/AdamW")

    torch.manual_seed(11)
    m = SemNet()
    opt = torch.optim.AdamW(m.parameters(), lr=2e-4, weight_decay=0.05)
    train_steps(m, opt)
    lightning = {
        "epoch": 3, "global_step": 120, "pytorch-lightning_version": "2.1.0",
        "state_dict": collections.OrderedDict(("model." + k, v) for k, v in m.state_dict().items()),
        "loops": {"fit_loop": {"epoch_progress": {"current": {"completed": 3}}}},
        "callbacks": {"ModelCheckpoint{'monitor': 'val_loss'}": {"best_model_score": torch.tensor(0.25)}},
        "optimizer_states": [opt.state_dict()],
        "lr_schedulers": [{"step_size": 10, "gamma": 0.5, "last_epoch": 3}],
        "hyper_parameters": {"lr": 2e-4, "hidden": 20, "layers": 3},
    }
    record("sem_lightning.ckpt", lightning, m, opt, ["state_dict"], prefix="model.", kind="Adam/AdamW")

    torch.manual_seed(12)
    m = SemNet()
    dp = nn.DataParallel(m)
    opt = torch.optim.SGD(dp.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    train_steps(m, opt)
    record("sem_sgd_dataparallel.pth", {"model": dp.state_dict(), "optimizer": opt.state_dict(), "args": {"lr": 0.1}},
           m, opt, ["model"], prefix="module.", kind="SGD", findings=["dataparallel-prefix"])

    torch.manual_seed(13)
    m = SemNet(tied=True)
    opt = torch.optim.Adam(m.parameters())
    train_steps(m, opt)
    record("sem_tied.pth", {"model": m.state_dict(), "optimizer": opt.state_dict()}, m, opt, ["model"],
           kind="Adam/AdamW", findings=["tied-weights"])

    torch.manual_seed(14)
    m = SemNet()
    decay = [p for n, p in m.named_parameters() if n.endswith("weight")]
    no_decay = [p for n, p in m.named_parameters() if not n.endswith("weight")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}])
    train_steps(m, opt)
    record("sem_groups.pth", {"model_state_dict": m.state_dict(), "optimizer_state_dict": opt.state_dict()}, m, opt,
           ["model_state_dict"], mapped=False, kind="Adam/AdamW")

    torch.manual_seed(15)
    m = SemNet()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    train_steps(m, opt)
    compiled = collections.OrderedDict(("_orig_mod." + k, v) for k, v in m.state_dict().items())
    ema = collections.OrderedDict((k, v.clone()) for k, v in m.state_dict().items())
    record("sem_compile_ema.pth", {"model": compiled, "model_ema": ema, "optimizer": opt.state_dict()}, m, opt,
           ["model"], prefix="_orig_mod.", kind="SGD", findings=["compile-prefix"])

    with open(os.path.join(out, "semantic_truth.json"), "w") as fh:
        json.dump(truth, fh, indent=1)
    return list(truth)


def pair_metrics(a, b):
    """What ckptlens-cli diff reports for one pair, computed by torch in float64."""
    x, y = a.double().reshape(-1), b.double().reshape(-1)
    d = (x - y).abs()
    out = {"max_abs": float(d.max()) if d.numel() else 0.0, "mean_abs": float(d.mean()) if d.numel() else 0.0,
           "rel_l2": float(d.norm() / x.norm()) if float(x.norm()) > 0 else (0.0 if float(d.norm()) == 0 else "inf"),
           "differing": int((x != y).sum())}
    if float(x.norm()) > 0 and float(y.norm()) > 0:
        out["cosine"] = float((x * y).sum() / (x.norm() * y.norm()))
    return out


def load_verdict(model_factory, sd):
    """What model.load_state_dict(sd, strict=True) says, from torch itself."""
    import re as re_mod
    model = model_factory()
    try:
        model.load_state_dict(sd, strict=True)
        return {"missing": [], "unexpected": [], "size_mismatch": []}
    except RuntimeError as e:
        msg = str(e)
    mismatch = [{"key": k, "shape": [int(v) for v in a.split(", ") if v], "expected_shape": [int(v) for v in b.split(", ") if v]}
                for k, a, b in re_mod.findall(r"size mismatch for ([^:]+): copying a param with shape torch.Size\(\[([^\]]*)\]\) "
                                              r"from checkpoint, the shape in current model is torch.Size\(\[([^\]]*)\]\)", msg)]
    bad = {m["key"] for m in mismatch}
    ok_keys = collections.OrderedDict((k, v) for k, v in sd.items() if k not in bad)
    result = model_factory().load_state_dict(ok_keys, strict=False)
    return {"missing": [k for k in result.missing_keys if k not in bad], "unexpected": list(result.unexpected_keys),
            "size_mismatch": mismatch}


def diff_fixtures(out):
    torch.manual_seed(20)
    m = SemNet()
    m.eval()
    base = collections.OrderedDict((k, v.clone()) for k, v in m.state_dict().items())
    files = {}

    def save(name, sd):
        torch.save(sd, os.path.join(out, name))
        files[name] = sd

    save("diff_a.pth", base)
    save("diff_a_again.pth", collections.OrderedDict((k, v.clone()) for k, v in base.items()))
    m.train()
    opt = torch.optim.SGD(m.parameters(), lr=0.05)
    train_steps(m, opt, steps=1)
    save("diff_step.pth", m.state_dict())
    save("diff_dp.pth", collections.OrderedDict(("module." + k, v) for k, v in base.items()))
    pruned = collections.OrderedDict((k, v) for k, v in base.items() if not k.startswith("blocks.2."))
    pruned["head.weight"] = torch.randn(60, 12)
    save("diff_pruned.pth", pruned)
    save("diff_half.pth", collections.OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in base.items()))

    truth = {}
    for name in ["diff_a_again.pth", "diff_step.pth", "diff_dp.pth", "diff_pruned.pth", "diff_half.pth"]:
        b = files[name]
        strip = "module." if name == "diff_dp.pth" else ""
        aligned = collections.OrderedDict((k[len(strip):] if strip and k.startswith(strip) else k, v) for k, v in b.items())
        entry = {"metrics": {}, "status": {}}
        for k, va in base.items():
            if k not in aligned:
                entry["status"][k] = "only_a"
                continue
            vb = aligned[k]
            if va.shape != vb.shape:
                entry["status"][k] = "shape"
                continue
            entry["metrics"][k] = pair_metrics(va, vb)
            raw_equal = va.dtype == vb.dtype and torch.equal(va.view(-1).view(torch.uint8) if va.dtype != torch.bool else va,
                                                             vb.view(-1).view(torch.uint8) if vb.dtype != torch.bool else vb)
            entry["status"][k] = ("dtype" if va.dtype != vb.dtype else "equal" if raw_equal
                                  else "close" if torch.allclose(va.double(), vb.double(), rtol=1e-5, atol=1e-8) else "different")
        for k in aligned:
            if k not in base:
                entry["status"][k] = "only_b"
        entry["load"] = load_verdict(SemNet, b)
        truth[name] = entry
    with open(os.path.join(out, "diff_truth.json"), "w") as fh:
        json.dump(truth, fh, indent=1)
    return list(files)


HIST_REQUESTS = [{"bins": 10}, {"bins": 100}, {"bins": 7, "range": [-0.5, 0.5]}, {"bins": 16, "log_abs": True},
                 {"bins": 40}]


def numpy_histogram(t, req):
    """numpy.histogram over the values as doubles: the ground truth for both histogram backends."""
    x = (t.to(torch.complex128).abs() if t.is_complex() else t.double()).reshape(-1).numpy()
    finite = x[np.isfinite(x)]
    out = {"nan": int(np.isnan(x).sum()), "inf": int(np.isinf(x).sum()), "zeros": int((finite == 0).sum())}
    values = np.log10(np.abs(finite[finite != 0])) if req.get("log_abs") else finite
    if "range" in req:
        lo, hi = req["range"]
        counts, edges = np.histogram(values, req["bins"], range=(lo, hi))
        out["underflow"], out["overflow"] = int((values < lo).sum()), int((values > hi).sum())
    else:
        counts, edges = np.histogram(values, req["bins"])
        out["underflow"] = out["overflow"] = 0
    out["counts"], out["edges"] = [int(c) for c in counts], [float(e) for e in edges]
    return out


def histogram_fixtures(out):
    g = torch.Generator().manual_seed(30)
    d = collections.OrderedDict()
    d["numpy_edges"] = torch.from_numpy(np.linspace(-3.0, 5.0, 41))  # every value exactly on an auto-range edge
    d["grid_0p1"] = torch.from_numpy(np.round(np.arange(-10, 11) * 0.05, 2))  # decimals near the (-0.5, 0.5) edges
    d["constant"] = torch.full((10,), 3.0)
    d["all_nan"] = torch.full((5,), float("nan"))
    d["empty"] = torch.zeros(0)
    d["normal_f32"] = torch.randn(50000, generator=g)
    d["normal_bf16"] = (torch.randn(3000, generator=g) * 4).bfloat16()
    d["normal_f16_t"] = torch.randn(40, 30, generator=g).half().t()
    d["with_specials"] = torch.tensor([0.0, -0.0, 1e-30, -2.0, float("inf"), float("nan"), 0.25, 7.0])
    d["ints"] = torch.randint(-50, 50, (1000,), generator=g)
    d["bools"] = torch.rand(100, generator=g) > 0.3
    d["uint8"] = torch.randint(0, 256, (500,), generator=g, dtype=torch.uint8)
    d["complex"] = torch.randn(200, generator=g, dtype=torch.complex64)
    # Large enough for the one-pass path of <= 16-bit dtypes (counts of each bit pattern): 4x their pattern count.
    big = torch.randn(300000, generator=g) * 4
    big[::9973] = float("nan")
    big[5::7919] = float("inf")
    big[7::7907] = -0.0
    d["big_bf16"] = big.bfloat16()
    d["big_f16_t"] = big.reshape(600, 500).half().t()
    d["big_int16"] = torch.randint(-30000, 30000, (300000,), generator=g, dtype=torch.int16)
    d["big_uint8"] = torch.randint(0, 256, (5000,), generator=g, dtype=torch.uint8)
    d["big_int8"] = torch.randint(-128, 128, (5000,), generator=g, dtype=torch.int8)
    d["big_bools"] = torch.rand(5000, generator=g) > 0.5
    torch.save(d, os.path.join(out, "hist.pth"))
    truth = {name: [dict(req, **numpy_histogram(t, req)) for req in HIST_REQUESTS] for name, t in d.items()}
    with open(os.path.join(out, "hist_truth.json"), "w") as fh:
        json.dump(truth, fh)
    return ["hist.pth"]


def write_safetensors(path, tensors, metadata=None):
    # The reference writer's layout: header keys sorted by (alignment desc, name), padded with spaces to 8 bytes.
    names = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
             torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
             torch.bool: "BOOL"}
    order = sorted(tensors.items(), key=lambda kv: (-kv[1].element_size(), kv[0]))
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in order:
        b = t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def save_as_if_on_gpu(obj, path):
    # What torch.save writes on a CUDA machine: the storage location tag is "cuda:0". The bytes are the same.
    orig = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: "cuda:0"
    try:
        torch.save(obj, path)
    finally:
        torch.serialization.location_tag = orig


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = {}

    def save(name, obj, covers, **kw):
        path = os.path.join(out, name)
        torch.save(obj, path, **kw)
        manifest[name] = covers

    legacy = {"_use_new_zipfile_serialization": False}
    save("state_dict.pth", state_dict(), "plain state dict of a conv/bn/linear net (buffers, num_batches_tracked)")
    save("state_dict_legacy.pth", state_dict(), "the same in the legacy format", **legacy)
    save("training.pth", training_checkpoint(), "training checkpoint: model, Adam state, scalars")
    save("training_legacy.pt", training_checkpoint(), "training checkpoint, legacy format", **legacy)
    save("dtypes.pth", all_dtypes(), "every dtype torch 1.13 saves")
    save("dtypes_legacy.pth", all_dtypes(), "every dtype, legacy format", **legacy)
    save("views.pth", views(), "transposes, slices, strides, expand, shared storage, tied keys")
    save("views_legacy.pth", views(), "views in the legacy format", **legacy)
    save("scalars_empty.pth", scalars_and_empty(), "0-dim and empty tensors")
    save("nested.pth", nested(), "nested lists/tuples/int keys, strings, bytes, big ints, Namespace, numpy scalars")
    save("nested_legacy.pth", nested(), "nested containers, legacy format", **legacy)
    save("parameters.pth", parameters(), "nn.Parameter with and without requires_grad")
    save("values.pth", value_cases(), "values that trip statistics: specials, subnormals, large tensors, views")
    save("many.pth", many(), "5000 tensors")
    save("large_storages.pth", large_storages(), "6 and 10 MiB storages, tied and viewed")
    save("whole_model.pth", whole_model(), "a whole nn.Module pickled (torch.save(model))")
    save("reserved_keys.pth", {"state_dict": state_dict(), "total_size": 7, "format": "custom", "epoch": 1},
         "a state dict beside entries named as the keys safetensors metadata and a shard index write themselves")
    for proto in (1, 2, 3, 4, 5):
        save(f"views_proto{proto}.pth", views(), f"views, pickle protocol {proto}", pickle_protocol=proto)
    for proto in (1, 4):
        save(f"nested_legacy_proto{proto}.pth", nested(), f"nested, legacy format, pickle protocol {proto}",
             pickle_protocol=proto, **legacy)
    for name in histogram_fixtures(out):
        manifest[name] = "histogram inputs with numpy.histogram's answers (hist_truth.json)"
    for name in diff_fixtures(out):
        manifest[name] = "compare pairs against diff_a.pth (see diff_truth.json)"
    for name in semantic_fixtures(out):
        manifest[name] = "semantic view: state dict, optimizer mapping, findings (see semantic_truth.json)"
    save_as_if_on_gpu(training_checkpoint(), os.path.join(out, "training_cuda.pth"))
    manifest["training_cuda.pth"] = "training checkpoint whose storages were saved from cuda:0"
    write_safetensors(os.path.join(out, "model.safetensors"),
                      {k: v for k, v in all_dtypes().items() if not k.startswith("complex")} | dict(state_dict()),
                      {"format": "pt", "source": "gen_fixtures"})
    manifest["model.safetensors"] = "safetensors with every dtype it shares with torch 1.13, __metadata__"

    files = [os.path.join(out, f) for f in manifest]
    subprocess.run([sys.executable, os.path.join(HERE, "torch_dump.py"), os.path.join(out, "expected.json")] + files,
                   check=True)
    # What torch's own safe loader accepts: the safety scan must call exactly these files "safe".
    weights_only = {}
    for name in manifest:
        if name.endswith(".safetensors"):
            continue
        try:
            torch.load(os.path.join(out, name), weights_only=True)
            weights_only[name] = "accepted"
        except Exception as e:
            # torch 1.13's safe loader also refuses opcodes it does not implement (BINFLOAT, FRAME, ...) and CUDA
            # storages on a machine without CUDA: those refusals say nothing about safety.
            msg = str(e)
            weights_only[name] = "refused-global" if ("Unsupported class" in msg or "global" in msg.lower()) else "refused-other"
    with open(os.path.join(out, "weights_only.json"), "w") as fh:
        json.dump(weights_only, fh, indent=1)
    subprocess.run([sys.executable, os.path.join(HERE, "gen_malicious.py"), os.path.join(out, "malicious")], check=True,
                   stderr=subprocess.DEVNULL)
    # Multi-file layouts (shards, framework folders) and TorchScript archives, with their own truth file.
    subprocess.run([sys.executable, os.path.join(HERE, "gen_layouts.py"), os.path.join(out, "layouts")], check=True)
    with open(os.path.join(out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
    print(f"wrote {len(manifest)} fixtures to {out}")


if __name__ == "__main__":
    main()
