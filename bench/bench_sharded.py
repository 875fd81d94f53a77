#!/usr/bin/python3
"""Sharded-set open benchmark: `ckptlens-cli info DIR` on a 30-shard set against torch loading every shard.

Run with Debian's torch (/usr/bin/python3):

    /usr/bin/python3 bench/bench_sharded.py [WORKDIR] [--cli build/app/ckptlens-cli] [--reps 5] [--shards 30]

Uses WORKDIR/gpt2-medium.pth (written by bench_open.py's generator when missing, ~1.4 GB float32) and splits
it with ckptlens-cli's own exporter into N shards twice: torch .bin shards with pytorch_model.bin.index.json and
safetensors shards with model.safetensors.index.json, the Hugging Face layouts. Then measures, in fresh child
processes under GNU time (bench_open.run_child), with a warm page cache:
  - ckptlens-cli info on each folder (opens the whole set: every shard mapped, metadata only);
  - torch: torch.load of every .bin shard into one dict (what transformers does for a .bin set).
Debian 12 packages no `safetensors` for Python, so torch's side of the safetensors set is the same .bin load.
Prints a Markdown table (pasted into BENCHMARKS.md) and whether the 20x target holds. Never part of ctest.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_open  # noqa: E402

TORCH_SET_CHILD = r"""
import sys, time, json, glob, os
t0 = time.perf_counter()
import torch
t1, c1 = time.perf_counter(), time.process_time()
sd = {}
files = sorted(glob.glob(os.path.join(sys.argv[1], "pytorch_model-*-of-*.bin")))
for f in files:
    sd.update(torch.load(f, map_location='cpu'))
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "load_cpu_s": c2 - c1, "keys": len(sd), "files": len(files)}))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workdir", nargs="?", default="/tmp/ckptlens-bench")
    ap.add_argument("--cli", default="build/app/ckptlens-cli")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--shards", type=int, default=30)
    args = ap.parse_args()
    cli = os.path.abspath(args.cli)
    src = os.path.join(args.workdir, "gpt2-medium.pth")
    os.makedirs(args.workdir, exist_ok=True)
    if not os.path.exists(src):
        print(f"generating {src} ...", file=sys.stderr)
        bench_open.run_child([sys.executable, "-c", f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); "
                              f"import bench_open; bench_open.gen_gpt2_medium({src!r})"])
    total = os.path.getsize(src)
    shard_mb = max(1, -(-total // args.shards // 1_000_000) + 1)
    sets = {}
    for fmt, out in (("torch", "pytorch_model.bin"), ("safetensors", "model.safetensors")):
        d = os.path.join(args.workdir, f"sharded-{args.shards}-{fmt}")
        if not glob.glob(os.path.join(d, "*.index.json")):
            os.makedirs(d, exist_ok=True)
            print(f"writing {d} ...", file=sys.stderr)
            subprocess.run([cli, "export", src, "-o", os.path.join(d, out), "--format", fmt,
                            "--max-shard-size", f"{shard_mb}MB"], check=True, stdout=subprocess.DEVNULL)
        sets[fmt] = d

    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(TORCH_SET_CHILD)
        child = f.name
    results = {"machine": bench_open.machine(), "reps": args.reps, "sets": {}}
    try:
        for fmt, d in sets.items():
            files = sorted(glob.glob(os.path.join(d, "*-of-*")))
            size = sum(os.path.getsize(f) for f in files)
            for f in files:  # warm the page cache
                bench_open.run_child(["sh", "-c", 'cat "$1" > /dev/null', "sh", f])
            ck = bench_open.measure("ckptlens-cli info", [cli, "info", d], args.reps)
            summary = json.loads(bench_open.run_child([cli, "info", d, "--json"], capture=True)[3])
            results["sets"][fmt] = {"dir": d, "files": len(files), "bytes": size, "ckptlens": ck, "summary": summary}
        bin_dir = sets["torch"]
        for f in sorted(glob.glob(os.path.join(bin_dir, "*-of-*"))):
            bench_open.run_child(["sh", "-c", 'cat "$1" > /dev/null', "sh", f])
        results["torch"] = bench_open.measure("torch.load every shard", [sys.executable, child, bin_dir], args.reps, parse_json=True)
        results["import_torch"] = bench_open.measure("import torch", [sys.executable, child, "/nonexistent"], args.reps, parse_json=True)
    finally:
        os.unlink(child)

    tl = results["torch"]
    print("| set | files | size | tensors | ckptlens-cli info: wall | its CPU | peak RSS | torch.load every shard | "
          "torch process | torch peak RSS | torch.load / ckptlens | RSS torch / ckptlens |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    ok = True
    for fmt, r in results["sets"].items():
        ck = r["ckptlens"]
        ratio = tl["load_s"] / ck["wall_s"]
        ok &= ratio >= 20
        print(f"| {fmt} shards | {r['files']} | {r['bytes'] / 1e9:.2f} GB | {r['summary'].get('tensors', '?'):,} | "
              f"{bench_open.fmt_time(ck['wall_s'])} | {bench_open.fmt_cpu(ck['cpu_s'])} | {bench_open.fmt_mib(ck['rss_kib'])} | "
              f"{bench_open.fmt_time(tl['load_s'])} | {bench_open.fmt_time(tl['wall_s'])} | {bench_open.fmt_mib(tl['rss_kib'])} | "
              f"{ratio:.0f}x | {tl['rss_kib'] / ck['rss_kib']:.0f}x |")
    print()
    print(f"`import torch` alone: {bench_open.fmt_time(results['import_torch']['wall_s'])}, "
          f"peak RSS {bench_open.fmt_mib(results['import_torch']['rss_kib'])}; medians of {args.reps} runs, warm cache; "
          f"{results['machine']['nproc']} CPUs, torch {results['machine']['torch']}")
    for fmt, r in results["sets"].items():
        ratio = tl["load_s"] / r["ckptlens"]["wall_s"]
        print(f"target: {fmt} set: torch.load of every shard / ckptlens-cli = {ratio:.0f}x (>= 20x) "
              f"{'met' if ratio >= 20 else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
