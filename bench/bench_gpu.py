#!/usr/bin/env python3
"""GPU histogram benchmark: the CUDA backend against the pinned host-to-device bandwidth, the CPU backend of the
same machine, numpy.histogram and torch.histc (CPU and CUDA), in one run.

Needs a machine with an NVIDIA GPU and a python3 with torch (CUDA) and numpy, and a CUDA build of the project:

    python3 bench/bench_gpu.py --bench build/bench/ckptlens-bench-hist [--workdir /tmp/ckptlens-gpu] [--gib 2.5]

Writes into WORKDIR (made once, reused): f32.pth (torch.randn * 0.02, GIB GiB), bf16.pth (the same bytes of
bfloat16) and model.pth (a 48-layer transformer-shaped bfloat16 state dict, 1,200 tensors, for the many-tensor
mode). ckptlens-bench-hist times computeHistogram / profileTensors in one process: one untimed warm-up run (CUDA
context, first page faults), then REPS timed runs; the best and median are reported with GB/s over the tensor bytes.
The files are read once before timing, so every figure is warm page cache. The pinned bandwidth is torch's copy of
a 1 GiB pinned tensor to the device (CUDA events, best of 10). Nothing is asserted; the table goes to stdout and
the raw figures to WORKDIR/bench_gpu.json (or --json).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time


def gen(workdir, gib):
    import torch
    os.makedirs(workdir, exist_ok=True)
    n = int(gib * (1 << 30) / 4)
    paths = {"f32": os.path.join(workdir, "f32.pth"), "bf16": os.path.join(workdir, "bf16.pth"),
             "model": os.path.join(workdir, "model.pth"), "f32b": os.path.join(workdir, "f32b.pth")}
    g = torch.Generator(device="cuda").manual_seed(1)
    if not os.path.exists(paths["f32"]):
        t = torch.randn(n, generator=g, device="cuda").mul_(0.02).cpu()
        torch.save({"t": t}, paths["f32"] + ".partial")
        os.replace(paths["f32"] + ".partial", paths["f32"])
        del t
    if not os.path.exists(paths["f32b"]):  # f32.pth after a small update of four elements in five
        t = torch.load(paths["f32"], mmap=True, weights_only=True)["t"].cuda()
        t.add_(torch.randn(t.shape, generator=g, device="cuda").mul_(1e-4).mul_(torch.rand(t.shape, generator=g, device="cuda") < 0.8))
        torch.save({"t": t.cpu()}, paths["f32b"] + ".partial")
        os.replace(paths["f32b"] + ".partial", paths["f32b"])
        del t
    if not os.path.exists(paths["bf16"]):
        t = torch.randn(2 * n, generator=g, device="cuda").mul_(0.02).bfloat16().cpu()
        torch.save({"t": t}, paths["bf16"] + ".partial")
        os.replace(paths["bf16"] + ".partial", paths["bf16"])
        del t
    if not os.path.exists(paths["model"]):
        d, sd = 1024, {}
        for layer in range(48):
            p = f"model.layers.{layer}."
            for name, shape in [("self_attn.q_proj.weight", (d, d)), ("self_attn.k_proj.weight", (d, d)),
                                ("self_attn.v_proj.weight", (d, d)), ("self_attn.o_proj.weight", (d, d)),
                                ("mlp.gate_proj.weight", (4 * d, d)), ("mlp.up_proj.weight", (4 * d, d)),
                                ("mlp.down_proj.weight", (d, 4 * d)), ("input_layernorm.weight", (d,)),
                                ("post_attention_layernorm.weight", (d,))]:
                sd[p + name] = torch.randn(shape, generator=g, device="cuda").mul_(0.02).bfloat16().cpu()
            for i in range(16):  # small buffers and biases: the many-small-tensors case
                sd[p + f"extra.{i}.bias"] = torch.randn(64 * (i + 1), generator=g, device="cuda").bfloat16().cpu()
        sd["model.embed_tokens.weight"] = torch.randn(32000, d, generator=g, device="cuda").mul_(0.02).bfloat16().cpu()
        torch.save(sd, paths["model"] + ".partial")
        os.replace(paths["model"] + ".partial", paths["model"])
    return paths


def warm(path):
    with open(path, "rb") as f:
        while f.read(64 << 20):
            pass


def pinned_h2d():
    import torch
    n = 1 << 30
    host = torch.empty(n, dtype=torch.uint8, pin_memory=True)
    host.fill_(1)
    dev = torch.empty(n, dtype=torch.uint8, device="cuda")
    pageable = torch.empty(n, dtype=torch.uint8)
    pageable.fill_(1)
    out = {}
    for name, src in (("pinned", host), ("pageable", pageable)):
        best = 0.0
        for _ in range(10):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            dev.copy_(src, non_blocking=(name == "pinned"))
            b.record()
            torch.cuda.synchronize()
            best = max(best, n / (a.elapsed_time(b) / 1e3) / 1e9)
        out[name + "_gbps"] = best
    return out


def baselines(path, bins=100):
    """numpy.histogram (one thread), torch.histc on the CPU (every core) and on the GPU (with and without the
    upload), on the tensor torch.load gives (mmap=True: no read before the operation)."""
    import numpy
    import torch
    t = torch.load(path, mmap=True, weights_only=True)["t"]
    r = {"torch_threads": torch.get_num_threads()}

    def timed(fn, reps=1):
        best = None
        for _ in range(reps):
            torch.cuda.synchronize()
            a = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            s = time.perf_counter() - a
            best = s if best is None else min(best, s)
        return best

    f = t if t.dtype == torch.float32 else None
    if f is None:
        r["convert_s"] = timed(lambda: t.float())
        f = t.float()
    arr = f.numpy()
    r["numpy_hist_s"] = timed(lambda: numpy.histogram(arr, bins))
    try:
        r["histc_cpu_s"] = timed(lambda: torch.histc(t, bins), reps=2)
    except RuntimeError as e:
        r["histc_cpu_error"] = str(e)[:100]
    # torch.histc has no bfloat16 kernel: the CUDA baselines widen on the device (after the upload).
    up = (lambda: t.cuda()) if t.dtype == torch.float32 else (lambda: t.cuda().float())
    r["histc_cuda_with_upload_s"] = timed(lambda: torch.histc(up(), bins), reps=3)
    d = up()
    r["histc_cuda_resident_s"] = timed(lambda: torch.histc(d, bins), reps=5)
    del d
    torch.cuda.empty_cache()
    return r


def diff_baseline(a_path, b_path):
    """The same metrics with torch: on the GPU (upload included) and on the CPU (every core), in float64 as ckptlens."""
    import torch
    a = torch.load(a_path, mmap=True, weights_only=True)["t"]
    b = torch.load(b_path, mmap=True, weights_only=True)["t"]

    def metrics(x, y):
        x, y = x.double(), y.double()
        d = (x - y).abs_()
        nx, ny = x.norm(), y.norm()
        return float(d.max()), float(d.mean()), float(d.norm() / nx), float((x * y).sum() / (nx * ny)), int((x != y).sum())

    r = {}
    for name, dev in (("cuda_with_upload_s", "cuda"), ("cpu_s", "cpu")):
        best = None
        for _ in range(2 if dev == "cpu" else 3):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            metrics(a.to(dev), b.to(dev))
            torch.cuda.synchronize()
            s = time.perf_counter() - t0
            best = s if best is None else min(best, s)
        r[name] = best
    torch.cuda.empty_cache()
    return r


def run_bench(bench, path, key, reps, env=None, extra=()):
    e = dict(os.environ)
    e.update(env or {})
    proc = subprocess.run([bench, path, key, "--reps", str(reps), "--bins", "100", *extra], capture_output=True, text=True, env=e)
    if proc.returncode != 0:
        return {"error": proc.stderr[-500:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--workdir", default="/tmp/ckptlens-gpu")
    ap.add_argument("--gib", type=float, default=2.5)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json")
    ap.add_argument("--sweep", action="store_true", help="time every staging configuration")
    args = ap.parse_args()
    import torch
    R = {"machine": {"gpu": torch.cuda.get_device_name(0), "cpus": os.cpu_count(), "torch": torch.__version__,
                     "python": platform.python_version()}}
    t0 = time.perf_counter()
    paths = gen(args.workdir, args.gib)
    R["gen_s"] = time.perf_counter() - t0
    for p in paths.values():
        warm(p)
    R["h2d"] = pinned_h2d()
    print(f"# {R['machine']['gpu']}, {R['machine']['cpus']} CPUs, torch {R['machine']['torch']}; "
          f"pinned H2D {R['h2d']['pinned_gbps']:.1f} GB/s, pageable {R['h2d']['pageable_gbps']:.1f} GB/s", flush=True)
    runs = {}
    pinned = R["h2d"]["pinned_gbps"]
    print("| tensor | run | backend | best | median | GB/s (best) | of pinned H2D | first run (warm-up) | peak RSS |", flush=True)
    print("|---|---|---|---|---|---|---|---|---|", flush=True)

    def row(dt, name, r):
        if "error" in r:
            print(f"| {dt} | {name} | error: {r['error'][:80]} |||||||", flush=True)
            return
        print(f"| {dt} ({r['bytes'] / 1e9:.2f} GB, {r['tensors']} tensors) | {name} | {r['backend']} | {r['best_ms']:.1f} ms | "
              f"{r['median_ms']:.1f} ms | {r['gbps_best']:.1f} | {100 * r['gbps_best'] / pinned:.0f}% | {r['first_ms']:.0f} ms | "
              f"{r['peak_rss_kib'] / 1024:.0f} MiB |", flush=True)

    # Staging configurations (buffers x chunk MiB) and direct registration, on the float32 tensor.
    # (--sweep: all of 2..4 buffers x 16..64 MiB; by default the two that decided the defaults.)
    sweep = {}
    for stages in ((2, 3, 4) if args.sweep else (2, 3)):
        for mb in ((16, 32, 64) if args.sweep else (64,)):
            sweep[f"cuda auto, {stages} x {mb} MiB"] = {"CKPTLENS_CUDA_STAGES": str(stages), "CKPTLENS_CUDA_CHUNK_MB": str(mb)}
    sweep["cuda auto, registered"] = {"CKPTLENS_CUDA_REGISTER": "1"}
    runs["sweep"] = {}
    for name, env in sweep.items():
        runs["sweep"][name] = run_bench(args.bench, paths["f32"], "t", args.reps, env=env, extra=("--backend", "cuda"))
        row("f32", name, runs["sweep"][name])
    for dt in ("f32", "bf16"):
        p = paths[dt]
        runs[dt] = {
            "cuda auto": run_bench(args.bench, p, "t", args.reps, extra=("--backend", "cuda")),
            "cuda range": run_bench(args.bench, p, "t", args.reps, extra=("--backend", "cuda", "--range", "-0.05", "0.05")),
            "cpu auto": run_bench(args.bench, p, "t", args.reps, extra=("--backend", "cpu")),
            "cpu range": run_bench(args.bench, p, "t", args.reps, extra=("--backend", "cpu", "--range", "-0.05", "0.05")),
        }
        for name, r in runs[dt].items():
            row(dt, name, r)
    runs["model"] = {"cuda --all": run_bench(args.bench, paths["model"], "--all", 3, extra=("--backend", "cuda")),
                     "cpu --all": run_bench(args.bench, paths["model"], "--all", 3, extra=("--backend", "cpu"))}
    for name, r in runs["model"].items():
        row("model", name, r)
    runs["diff"] = {"cuda": run_bench(args.bench, paths["f32"], "t", args.reps, extra=("--backend", "cuda", "--diff", paths["f32b"])),
                    "cpu": run_bench(args.bench, paths["f32"], "t", 2, extra=("--backend", "cpu", "--diff", paths["f32b"]))}
    for name, r in runs["diff"].items():
        row("diff f32 vs f32b", name, r)
    R["diff_torch"] = diff_baseline(paths["f32"], paths["f32b"])
    print(f"# torch diff metrics: {R['diff_torch']}", flush=True)
    R["runs"] = runs
    out = args.json or os.path.join(args.workdir, "bench_gpu.json")
    with open(out, "w") as fh:
        json.dump(R, fh, indent=1)
    for dt in ("f32", "bf16"):
        try:
            runs[dt]["baselines"] = baselines(paths[dt])
        except Exception as e:  # a baseline failing must not cost the figures above
            runs[dt]["baselines"] = {"error": str(e)[:200]}
        print(f"# {dt} baselines: {runs[dt]['baselines']}", flush=True)
    print()
    print("| tensor | numpy.histogram | torch.histc CPU | torch.histc CUDA incl. upload | torch.histc CUDA resident | "
          "ckptlens cuda auto | numpy / ckptlens cuda | histc CUDA+upload / ckptlens cuda | ckptlens cpu / cuda |")
    print("|---|---|---|---|---|---|---|---|---|")
    for dt in ("f32", "bf16"):
        b, c, cpu = runs[dt]["baselines"], runs[dt]["cuda auto"], runs[dt]["cpu auto"]
        if "error" in c or "error" in cpu or "error" in b:
            continue
        ck = c["best_ms"] / 1e3
        hc = f"{b['histc_cpu_s'] * 1e3:.0f} ms" if "histc_cpu_s" in b else "n/a"
        print(f"| {dt} | {b['numpy_hist_s'] * 1e3:.0f} ms | {hc} | {b['histc_cuda_with_upload_s'] * 1e3:.0f} ms | "
              f"{b['histc_cuda_resident_s'] * 1e3:.1f} ms | {ck * 1e3:.1f} ms | {b['numpy_hist_s'] / ck:.0f}x | "
              f"{b['histc_cuda_with_upload_s'] / ck:.1f}x | {cpu['best_ms'] / c['best_ms']:.1f}x |")
    with open(out, "w") as fh:
        json.dump(R, fh, indent=1)
    print(f"\nraw figures: {out}")


if __name__ == "__main__":
    sys.exit(main())
