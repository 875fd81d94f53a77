#!/usr/bin/python3
"""Open-time benchmark: `ckptlens-cli info FILE` against `torch.load(FILE, map_location='cpu')`.

Run with Debian's torch (/usr/bin/python3; the pyenv python3 on PATH has no torch):

    /usr/bin/python3 bench/bench_open.py [WORKDIR] [--cli build/app/ckptlens-cli] [--reps 5]

Generates, once, into WORKDIR (default /tmp/ckptlens-bench):
  gpt2-medium.pth   a GPT-2-medium-shaped state dict (24 layers, d_model 1024, vocab 50257, n_ctx 1024,
                    ~355M float32 parameters, ~1.4 GB, lm_head.weight tied to transformer.wte.weight)
  many-small.pth    60,000 small tensors
Files that exist are reused. Every measurement runs in a fresh child process under GNU time
(/usr/bin/time -f %M): wall time is time.perf_counter() around it, peak RSS the child's ru_maxrss as time
reports it. The page cache is warmed (cat FILE > /dev/null) before the timed runs, so all figures are
warm-cache figures. Never part of ctest: it needs minutes and gigabytes.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

GPT2_MEDIUM = dict(n_layer=24, d_model=1024, vocab=50257, n_ctx=1024)
N_SMALL = 60_000


# ---------------------------------------------------------------- generation (needs torch)

def _fill(t, base, gen):
    """Cheap non-zero values: chunks of a small random vector, each chunk scaled and shifted differently."""
    import torch
    flat = t.view(-1)
    n = flat.numel()
    chunk = base.numel()
    for start in range(0, n, chunk):
        end = min(n, start + chunk)
        scale = float(torch.rand((), generator=gen)) + 0.5
        flat[start:end].copy_(base[: end - start]).mul_(scale)
    return t


def gen_gpt2_medium(path):
    import torch
    from collections import OrderedDict
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(1 << 20, generator=gen) * 0.02 + 1e-3
    d, v, n_ctx = GPT2_MEDIUM["d_model"], GPT2_MEDIUM["vocab"], GPT2_MEDIUM["n_ctx"]
    sd = OrderedDict()

    def p(name, *shape):
        sd[name] = _fill(torch.empty(*shape, dtype=torch.float32), base, gen)

    p("transformer.wte.weight", v, d)
    p("transformer.wpe.weight", n_ctx, d)
    for i in range(GPT2_MEDIUM["n_layer"]):
        h = f"transformer.h.{i}."
        p(h + "ln_1.weight", d)
        p(h + "ln_1.bias", d)
        p(h + "attn.c_attn.weight", d, 3 * d)   # GPT-2 uses Conv1D: (in, out)
        p(h + "attn.c_attn.bias", 3 * d)
        p(h + "attn.c_proj.weight", d, d)
        p(h + "attn.c_proj.bias", d)
        p(h + "ln_2.weight", d)
        p(h + "ln_2.bias", d)
        p(h + "mlp.c_fc.weight", d, 4 * d)
        p(h + "mlp.c_fc.bias", 4 * d)
        p(h + "mlp.c_proj.weight", 4 * d, d)
        p(h + "mlp.c_proj.bias", d)
    p("transformer.ln_f.weight", d)
    p("transformer.ln_f.bias", d)
    sd["lm_head.weight"] = sd["transformer.wte.weight"]  # tied, as in GPT2LMHeadModel: one shared storage
    _save_atomically(sd, path)


def gen_many_small(path):
    import torch
    from collections import OrderedDict
    gen = torch.Generator().manual_seed(1)
    sd = OrderedDict()
    shapes = [(16,), (4, 8), (3, 3, 3), (64,), (2, 2, 2, 2), (1,)]
    for i in range(N_SMALL):
        shape = shapes[i % len(shapes)]
        sd[f"blocks.{i // 12}.sub.{i % 12}.weight"] = torch.randn(*shape, generator=gen)
    _save_atomically(sd, path)


def _save_atomically(obj, path):
    import torch
    tmp = path + ".partial"
    torch.save(obj, tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------- measurement

TIME = "/usr/bin/time"


def run_child(argv, capture=False):
    """Runs argv once under GNU time; returns (wall s, CPU s (user+sys), peak RSS KiB, captured stdout or None).

    Peak RSS is GNU time's %M, the child's ru_maxrss. It is not taken from os.wait4() on a child of this
    script: Linux carries the forking process's RSS high-water mark across execve() (exec_mmap saves the old
    mm's hiwater_rss into signal->maxrss), so every child of a big Python process would report at least the
    parent's RSS. /usr/bin/time is small, so its child's figure is the child's own.
    """
    # Output goes to files, not pipes: a child that fills a pipe while we wait would never finish.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as rss:
        t0 = time.perf_counter()
        proc = subprocess.run([TIME, "-f", "%M %U %S", "-o", rss.name] + argv,
                              stdout=out if capture else subprocess.DEVNULL, stderr=err)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{argv} exited with {proc.returncode}: {err.read().decode(errors='replace')[-2000:]}")
        maxrss, user, system = rss.read().split()[-3:]
        out.seek(0)
        return wall, float(user) + float(system), int(maxrss), out.read() if capture else None


TORCH_CHILD = r"""
import sys, time, json
t0 = time.perf_counter()
import torch
t1, c1 = time.perf_counter(), time.process_time()
if len(sys.argv) > 1:
    obj = torch.load(sys.argv[1], map_location='cpu')
    n = len(obj)
else:
    n = 0
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "load_cpu_s": c2 - c1, "keys": n}))
"""


def measure(label, argv, reps, parse_json=False, warmup=0):
    # Untimed runs first: on a VM that hands freed memory back to its host (free page reporting), the first
    # process after a large one faults in host-fresh pages at several times the usual cost, whichever tool it is.
    for _ in range(warmup):
        run_child(argv)
    walls, cpus, rss, inner = [], [], [], []
    for _ in range(reps):
        wall, cpu, maxrss, out = run_child(argv, capture=parse_json)
        walls.append(wall)
        cpus.append(cpu)
        rss.append(maxrss)
        if parse_json:
            inner.append(json.loads(out))
    r = {"label": label, "wall_s": statistics.median(walls), "wall_all": walls, "wall_min_s": min(walls),
         "cpu_s": statistics.median(cpus), "cpu_all": cpus, "rss_kib": max(rss),
         "rss_all": rss}
    if parse_json:
        r["import_s"] = statistics.median(x["import_s"] for x in inner)
        r["load_s"] = statistics.median(x["load_s"] for x in inner)
        r["load_cpu_s"] = statistics.median(x["load_cpu_s"] for x in inner)
    return r


def fmt_time(s):
    return f"{s * 1000:.1f} ms" if s < 10 else f"{s:.2f} s"


def fmt_cpu(s):
    return "< 10 ms" if s < 0.01 else fmt_time(s)  # GNU time's %U and %S count in 10 ms steps


def fmt_mib(kib):
    return f"{kib / 1024:.1f} MiB"


def machine():
    model = ""
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    # In a child: this process stays small and never imports torch itself.
    torch_version = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"],
                                   capture_output=True, text=True, check=True).stdout.strip()
    return {"nproc": os.cpu_count(), "ram_gib": mem_kib / 1024 / 1024, "cpu": model, "kernel": platform.release(),
            "python": platform.python_version(), "torch": torch_version, "load_before": os.getloadavg()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workdir", nargs="?", default="/tmp/ckptlens-bench")
    ap.add_argument("--cli", default="build/app/ckptlens-cli", help="ckptlens-cli to measure")
    ap.add_argument("--reps", type=int, default=5, help="repetitions per measurement (median reported)")
    ap.add_argument("--torch-reps", type=int, default=None, help="repetitions for torch.load (default: --reps)")
    ap.add_argument("--warmup", type=int, default=3,
                    help="untimed runs of ckptlens-cli before its timed ones (torch.load: one, when this is > 0)")
    ap.add_argument("--json", help="also write the raw results to this file")
    args = ap.parse_args()
    torch_reps = args.torch_reps or args.reps

    if not os.access(TIME, os.X_OK):
        sys.exit(f"bench_open: {TIME} (GNU time, Debian package 'time') is needed to measure peak RSS")
    cli = os.path.abspath(args.cli)
    if not os.access(cli, os.X_OK):
        sys.exit(f"bench_open: {cli} is not an executable; build it or pass --cli")
    os.makedirs(args.workdir, exist_ok=True)
    files = {
        "gpt2-medium.pth": gen_gpt2_medium,
        "many-small.pth": gen_many_small,
    }
    for name, gen in files.items():
        path = os.path.join(args.workdir, name)
        if os.path.exists(path):
            print(f"reusing {path}", file=sys.stderr)
            continue
        print(f"generating {path} ...", file=sys.stderr)
        t0 = time.perf_counter()
        # In a child so the generator's 1.4 GB is returned to the system before measuring.
        run_child([sys.executable, "-c",
                   f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); "
                   f"import bench_open; bench_open.{gen.__name__}({path!r})"])
        print(f"  {time.perf_counter() - t0:.1f} s, {os.path.getsize(path) / 1e9:.2f} GB", file=sys.stderr)

    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram_gib']:.1f} GiB RAM, Linux {info['kernel']}, "
          f"Python {info['python']}, torch {info['torch']}", file=sys.stderr)

    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(TORCH_CHILD)
        child = f.name
    results = {"machine": info, "cli": cli, "reps": args.reps, "torch_reps": torch_reps, "warmup": args.warmup,
               "files": {}}
    try:
        results["launcher"] = measure("/usr/bin/time true", ["true"], args.reps)
        baseline = measure("import torch", [sys.executable, child], args.reps, parse_json=True)
        results["import_torch"] = baseline
        for name in files:
            path = os.path.join(args.workdir, name)
            size = os.path.getsize(path)
            print(f"measuring {name} ...", file=sys.stderr)
            # Warm the page cache first so every figure below is a warm-cache figure.
            cat = measure("cat > /dev/null", ["sh", "-c", 'cat "$1" > /dev/null', "sh", path], 1)
            cat = measure("cat > /dev/null", ["sh", "-c", 'cat "$1" > /dev/null', "sh", path], args.reps)
            ck = measure("ckptlens-cli info", [cli, "info", path], args.reps, warmup=args.warmup)
            tl = measure("torch.load", [sys.executable, child, path], torch_reps, parse_json=True,
                         warmup=min(args.warmup, 1))
            summary = run_child([cli, "info", path, "--json"], capture=True)[3]
            results["files"][name] = {"bytes": size, "cat": cat, "ckptlens": ck, "torch": tl,
                                      "summary": json.loads(summary)}
    finally:
        os.unlink(child)

    # ---- tables (Markdown, pasted into BENCHMARKS.md as they are)
    b = results["import_torch"]

    def table(head, rows):
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
        line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
        print(line(head))
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for row in rows:
            print(line(row))
        print()

    rows = []
    for name, r in results["files"].items():
        ck, tl, cat = r["ckptlens"], r["torch"], r["cat"]
        rows.append((name, f"{r['bytes'] / 1e9:.2f} GB", f"{r['summary'].get('tensors', '?'):,}",
                     f"{fmt_time(cat['wall_s'])} ({r['bytes'] / cat['wall_s'] / 1e9:.2f} GB/s)",
                     fmt_time(ck["wall_s"]), fmt_cpu(ck["cpu_s"]), fmt_time(tl["wall_s"]), fmt_time(tl["load_s"]),
                     fmt_time(tl["load_cpu_s"]),
                     f"{tl['load_s'] / ck['wall_s']:.1f}x", f"{tl['wall_s'] / ck['wall_s']:.1f}x",
                     f"{tl['load_cpu_s'] / ck['cpu_s']:.1f}x" if ck["cpu_s"] >= 0.01 else "n/a"))
    table(("file", "size", "tensors", "cat > /dev/null", "ckptlens-cli info: wall", "its CPU",
           "torch: whole process", "torch.load() alone", "its CPU", "torch.load() / ckptlens",
           "torch process / ckptlens", "CPU: torch.load() / ckptlens"), rows)
    rows = []
    for name, r in results["files"].items():
        ck, tl = r["ckptlens"], r["torch"]
        rows.append((name, fmt_mib(ck["rss_kib"]), fmt_mib(tl["rss_kib"]),
                     fmt_mib(max(0, tl["rss_kib"] - b["rss_kib"])), f"{tl['rss_kib'] / ck['rss_kib']:.1f}x"))
    table(("file", "ckptlens-cli peak RSS", "torch process peak RSS", "torch minus `import torch` alone",
           "torch / ckptlens"), rows)
    la = results["launcher"]
    print(f"baseline `import torch` alone: process wall {fmt_time(b['wall_s'])} (the import itself "
          f"{fmt_time(b['import_s'])}), peak RSS {fmt_mib(b['rss_kib'])}")
    print(f"launcher overhead (`/usr/bin/time true`): wall {fmt_time(la['wall_s'])}, peak RSS {fmt_mib(la['rss_kib'])}")
    print(f"medians of {args.reps} runs ({torch_reps} for torch) after {args.warmup} untimed ones "
          f"({min(args.warmup, 1)} for torch); peak RSS is the largest of the timed runs; "
          f"warm page cache; load average before: {' '.join(f'{x:.2f}' for x in info['load_before'])}, "
          f"after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    # ---- targets
    ok = True
    for name, r in results["files"].items():
        ratio = r["torch"]["load_s"] / r["ckptlens"]["wall_s"]
        good = ratio >= 20
        ok &= good
        print(f"target: {name}: torch.load alone / ckptlens-cli whole process = {ratio:.0f}x "
              f"(>= 20x) {'met' if good else 'MISSED'}")
    big = results["files"]["gpt2-medium.pth"]["ckptlens"]["rss_kib"]
    good = big < 64 * 1024
    ok &= good
    print(f"target: gpt2-medium.pth ckptlens-cli peak RSS {fmt_mib(big)} (< 64 MiB) {'met' if good else 'MISSED'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(main())
