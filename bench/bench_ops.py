#!/usr/bin/python3
"""Operations benchmark: `ckptlens-cli stats | hist | export | diff` against torch / numpy / cp.

Run with Debian's torch (/usr/bin/python3; the pyenv python3 on PATH has no torch):

    /usr/bin/python3 bench/bench_ops.py [WORKDIR] [--cli build/app/ckptlens-cli] [--reps 2]

Needs WORKDIR/gpt2-medium.pth (made by bench/bench_open.py). Generates, once, into WORKDIR (default
/tmp/ckptlens-bench):
  big-f32.pth       one float32 tensor of 112M elements (448 MB) under key "t", torch.randn
  big-bf16.pth      one bfloat16 tensor of 112M elements (224 MB) under key "t", torch.randn cast
  gpt2-medium-ft.pth  gpt2-medium.pth with 1e-3 * randn added to four tensors (a "fine-tuning" step)
Files that exist are reused. Every measurement runs in a fresh child process under GNU time
(/usr/bin/time -f "%M %U %S"): wall time is time.perf_counter() around the child, CPU time its user+sys,
peak RSS its ru_maxrss. The torch/numpy children also time their operations alone with perf_counter and
process_time. The page cache is warmed before the timed runs (warm-cache figures). Export outputs are
deleted after each run. Never part of ctest: it needs minutes and gigabytes. Timings are reported, never
asserted.
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

N_BIG = int(os.environ.get("BENCH_OPS_ELEMENTS", 112 * 1024 * 1024))  # 469.8 MB as float32, 234.9 MB as bfloat16
FT_KEYS = ["transformer.h.0.attn.c_attn.weight", "transformer.h.12.mlp.c_fc.weight",
           "transformer.h.23.attn.c_proj.weight", "transformer.ln_f.weight"]


# ---------------------------------------------------------------- generation (in children, needs torch)

def gen_big(path, dtype):
    import torch
    gen = torch.Generator().manual_seed(2)
    t = torch.randn(N_BIG, generator=gen).mul_(0.02)
    if dtype == "bfloat16":
        t = t.bfloat16()
    _save_atomically({"t": t}, path)


def gen_ft(src, path):
    import torch
    sd = torch.load(src, map_location="cpu")
    gen = torch.Generator().manual_seed(3)
    for k in FT_KEYS:
        sd[k].add_(torch.randn(sd[k].shape, generator=gen), alpha=1e-3)
    _save_atomically(sd, path)  # lm_head.weight stays tied: torch.load keeps the shared storage


def _save_atomically(obj, path):
    import torch
    tmp = path + ".partial"
    torch.save(obj, tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------- children (torch / numpy baselines)

CHILD = r"""
import sys, time, json
t0 = time.perf_counter()
import torch, numpy
torch_import = time.perf_counter() - t0
threads, mode, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
if threads > 0:
    torch.set_num_threads(threads)  # Debian's torch starts with 1 thread here; ckptlens uses every core
res = {"import_s": torch_import, "threads": torch.get_num_threads()}
def timed(name, fn):
    a, c = time.perf_counter(), time.process_time()
    r = fn()
    res[name + "_s"], res[name + "_cpu_s"] = time.perf_counter() - a, time.process_time() - c
    return r
if mode == "stats":
    sd = timed("load", lambda: torch.load(args[0], map_location="cpu"))
    t = sd["t"]
    def ops():
        mn, mx = torch.aminmax(t)
        return float(mn), float(mx), float(t.mean()), float(t.std()), int(t.isnan().sum())
    res["values"] = timed("op", ops)
elif mode == "numpy_hist":
    sd = timed("load", lambda: torch.load(args[0], map_location="cpu"))
    t = sd["t"]
    a = timed("convert", lambda: (t.float() if t.dtype != torch.float32 else t).numpy())
    timed("op", lambda: numpy.histogram(a, 100))
elif mode == "histc":
    sd = timed("load", lambda: torch.load(args[0], map_location="cpu"))
    t = sd["t"]
    try:
        timed("op", lambda: torch.histc(t, 100))
        res["histc_dtype"] = str(t.dtype)
    except RuntimeError as e:  # histc has no bfloat16 CPU kernel in torch 1.13
        res["histc_error"] = str(e)[:120]
        f = timed("convert", lambda: t.float())
        timed("op", lambda: torch.histc(f, 100))
        res["histc_dtype"] = "float32 (converted)"
elif mode == "export":
    src, out, kind = args
    sd = timed("load", lambda: torch.load(src, map_location="cpu"))
    def work():
        if kind == "bf16":
            return {k: v.to(torch.bfloat16) for k, v in sd.items() if k.startswith("transformer.h.")}
        return sd  # whole file: no safetensors module in Debian, so torch.save of the whole state dict
    o = timed("select", work)
    timed("save", lambda: torch.save(o, out))
elif mode == "diff":
    a = timed("load", lambda: torch.load(args[0], map_location="cpu"))
    b = timed("load_b", lambda: torch.load(args[1], map_location="cpu"))
    def work():
        rows = {}
        for k in a:
            x, y = a[k].double(), b[k].double()
            d = (x - y).abs_()
            nx, ny = x.norm(), y.norm()
            rows[k] = (float(d.max()), float(d.mean()), float(d.norm() / nx) if nx > 0 else 0.0,
                       float((x * y).sum() / (nx * ny)) if nx > 0 and ny > 0 else 1.0)
        return rows
    rows = timed("op", work)
    res["differing"] = sum(1 for r in rows.values() if r[0] > 0)
print(json.dumps(res))
"""

# ---------------------------------------------------------------- measurement

TIME = "/usr/bin/time"


def run_child(argv, capture=False, ok_rc=(0,)):
    """Runs argv once under GNU time; returns (wall s, CPU s (user+sys), peak RSS KiB, stdout or None).

    Peak RSS is GNU time's %M, the child's own ru_maxrss (see bench_open.py for why not os.wait4())."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as rss:
        t0 = time.perf_counter()
        proc = subprocess.run([TIME, "-f", "%M %U %S", "-o", rss.name] + argv,
                              stdout=out if capture else subprocess.DEVNULL, stderr=err)
        wall = time.perf_counter() - t0
        if proc.returncode not in ok_rc:
            err.seek(0)
            raise RuntimeError(f"{argv} exited with {proc.returncode}: {err.read().decode(errors='replace')[-2000:]}")
        maxrss, user, system = rss.read().split()[-3:]
        out.seek(0)
        return wall, float(user) + float(system), int(maxrss), out.read() if capture else None


def measure(argv, reps, parse_json=False, ok_rc=(0,), cleanup=None):
    walls, cpus, rss, inner = [], [], [], []
    for _ in range(reps):
        wall, cpu, maxrss, out = run_child(argv, capture=parse_json, ok_rc=ok_rc)
        walls.append(wall)
        cpus.append(cpu)
        rss.append(maxrss)
        if parse_json:
            inner.append(json.loads(out))
        if cleanup:
            cleanup()
    r = {"wall_s": statistics.median(walls), "wall_all": walls, "cpu_s": statistics.median(cpus),
         "cpu_all": cpus, "rss_kib": max(rss)}
    if parse_json:
        for k in inner[0]:
            if k.endswith("_s"):
                r[k] = statistics.median(x[k] for x in inner)
            else:
                r[k] = inner[0][k]
    return r


WARM_BYTES = 2 << 30


def warm_memory():
    """Touches and frees WARM_BYTES of anonymous memory (see the export benchmark for why)."""
    b = b"\x01" * WARM_BYTES
    del b


def fmt_time(s):
    return f"{s * 1000:.0f} ms" if s < 10 else f"{s:.2f} s"


def fmt_mib(kib):
    return f"{kib / 1024:.0f} MiB"


def ratio(a, b, digits=2):
    return f"{a / b:.{digits}f}x" if b > 0 else "n/a"


def gbs(nbytes, s):
    return f"{nbytes / s / 1e9:.2f} GB/s"


def table(head, rows):
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    print(line(head))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    print()


def machine():
    model = ""
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    with open("/proc/meminfo") as f:
        mem_kib = next(int(l.split()[1]) for l in f if l.startswith("MemTotal:"))
    tv = subprocess.run([sys.executable, "-c", "import torch, numpy; print(torch.__version__, numpy.__version__, "
                         "torch.get_num_threads())"], capture_output=True, text=True, check=True).stdout.split()
    return {"nproc": os.cpu_count(), "ram_gib": mem_kib / 1024 / 1024, "cpu": model, "kernel": platform.release(),
            "python": platform.python_version(), "torch": tv[0], "numpy": tv[1], "torch_threads": tv[2]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workdir", nargs="?", default="/tmp/ckptlens-bench")
    ap.add_argument("--cli", default="build/app/ckptlens-cli", help="ckptlens-cli to measure")
    ap.add_argument("--reps", type=int, default=2, help="repetitions per measurement (median reported)")
    ap.add_argument("--torch-threads", type=int, default=os.cpu_count(),
                    help="torch.set_num_threads() in the torch children (0: torch's default, 1 on this machine)")
    ap.add_argument("--only", default="stats,hist,export,diff", help="comma-separated subset of benchmarks")
    ap.add_argument("--json", help="also write the raw results to this file")
    args = ap.parse_args()
    only = set(args.only.split(","))
    if not os.access(TIME, os.X_OK):
        sys.exit(f"bench_ops: {TIME} (GNU time) is needed")
    cli = os.path.abspath(args.cli)
    if not os.access(cli, os.X_OK):
        sys.exit(f"bench_ops: {cli} is not an executable; build it or pass --cli")
    wd = args.workdir
    gpt2 = os.path.join(wd, "gpt2-medium.pth")
    if not os.path.exists(gpt2):
        sys.exit(f"bench_ops: {gpt2} is missing; run bench/bench_open.py first")
    here = os.path.dirname(os.path.abspath(__file__))
    f32, bf16, ft = (os.path.join(wd, n) for n in ("big-f32.pth", "big-bf16.pth", "gpt2-medium-ft.pth"))
    for path, call in ((f32, f"gen_big({f32!r}, 'float32')"), (bf16, f"gen_big({bf16!r}, 'bfloat16')"),
                       (ft, f"gen_ft({gpt2!r}, {ft!r})")):
        if os.path.exists(path):
            print(f"reusing {path}", file=sys.stderr)
            continue
        print(f"generating {path} ...", file=sys.stderr)
        t0 = time.perf_counter()
        run_child([sys.executable, "-c", f"import sys; sys.path.insert(0, {here!r}); import bench_ops; "
                   f"bench_ops.{call}"])
        print(f"  {time.perf_counter() - t0:.1f} s, {os.path.getsize(path) / 1e9:.2f} GB", file=sys.stderr)

    info = machine()
    info["load_before"] = os.getloadavg()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram_gib']:.1f} GiB RAM, Linux {info['kernel']}, "
          f"Python {info['python']}, torch {info['torch']} ({info['torch_threads']} threads), numpy {info['numpy']}",
          file=sys.stderr)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(CHILD)
        child = f.name
    py = lambda *a: [sys.executable, child, str(args.torch_threads), *a]
    warm = lambda p: run_child(["sh", "-c", 'cat "$1" > /dev/null', "sh", p])
    R = {"machine": info, "reps": args.reps}
    loads = []
    try:
        R["import"] = measure([sys.executable, "-c", "import torch, numpy"], args.reps)
        tensors = {"float32": f32, "bfloat16": bf16}
        if "stats" in only:
            R["stats"] = {}
            for dt, p in tensors.items():
                print(f"stats {dt} ...", file=sys.stderr)
                warm(p)
                ck = measure([cli, "stats", p, "--key", "t", "--json"], args.reps, parse_json=False)
                th = measure(py("stats", p), args.reps, parse_json=True)
                R["stats"][dt] = {"bytes": os.path.getsize(p), "ck": ck, "torch": th}
            loads.append(("stats", os.getloadavg()))
        if "hist" in only:
            R["hist"] = {}
            for dt, p in tensors.items():
                print(f"hist {dt} ...", file=sys.stderr)
                warm(p)
                ck = measure([cli, "hist", p, "--key", "t", "--bins", "100", "--backend", "cpu", "--json"], args.reps)
                npy = measure(py("numpy_hist", p), args.reps, parse_json=True)
                hc = measure(py("histc", p), args.reps, parse_json=True)
                R["hist"][dt] = {"bytes": os.path.getsize(p), "ck": ck, "numpy": npy, "histc": hc}
            loads.append(("hist", os.getloadavg()))
        if "export" in only:
            R["export"] = {}
            size = os.path.getsize(gpt2)
            out_t = os.path.join(wd, "export-out.pth")
            out_s = os.path.join(wd, "export-out.safetensors")
            out_c = os.path.join(wd, "export-cp.pth")

            # Every job runs once per round, in turn, so a slow minute of this shared machine hits all of them.
            # Before each run its output is removed and WARM_BYTES of memory are touched and freed: on this VM
            # memory the guest freed a few seconds ago is handed back to the host, and the next writer of GBs
            # of page cache pays a host page fault per page (measured: the same cp of 1.42 GB to a new name took
            # 0.6 s or 9.7 s depending on it). Touching first gives every tool the warm memory bare metal has.
            c_sync = os.path.join(wd, "export-cp-sync.pth")
            jobs = {
                "cp": (["cp", gpt2, out_c], False, out_c),
                "cp_sync": (["sh", "-c", 'cp "$1" "$2" && sync "$2"', "sh", gpt2, c_sync], False, c_sync),
                "ck_bf16": ([cli, "export", gpt2, "-o", out_t, "--dtype", "bfloat16", "--include", "transformer.h.*"],
                            False, out_t),
                "torch_bf16": (py("export", gpt2, out_t, "bf16"), True, out_t),
                "ck_st": ([cli, "export", gpt2, "-o", out_s], False, out_s),
                "torch_st": (py("export", gpt2, out_t, "whole"), True, out_t),
            }
            runs = {k: [] for k in jobs}
            warm(gpt2)
            for rep in range(args.reps):
                for name, (argv, parse, out) in jobs.items():
                    print(f"export {name} ({rep + 1}/{args.reps}) ...", file=sys.stderr)
                    for o in (out_c, c_sync, out_t, out_s):
                        if os.path.exists(o):
                            os.unlink(o)
                    # The jobs before (cp, torch.save) leave GBs dirty or freed blocks to discard; without a sync the
                    # next job's writes queue behind that writeback and it pays for the one before it.
                    os.sync()
                    warm_memory()
                    runs[name].append(run_child(argv, capture=parse))
                    R["export"][name + "_out"] = os.path.getsize(out)
            for name, rs in runs.items():
                r = {"wall_s": statistics.median(x[0] for x in rs), "wall_all": [x[0] for x in rs],
                     "wall_min_s": min(x[0] for x in rs), "cpu_s": statistics.median(x[1] for x in rs),
                     "cpu_all": [x[1] for x in rs], "rss_kib": max(x[2] for x in rs)}
                if jobs[name][1]:
                    inner = [json.loads(x[3]) for x in rs]
                    for k in inner[0]:
                        r[k] = statistics.median(x[k] for x in inner) if k.endswith("_s") else inner[0][k]
                R["export"][name] = r
            for o in (out_c, c_sync, out_t, out_s):
                if os.path.exists(o):
                    os.unlink(o)
            R["export"]["bytes"] = size
            loads.append(("export", os.getloadavg()))
        if "diff" in only:
            print("diff ...", file=sys.stderr)
            warm(gpt2)
            warm(ft)
            ck = measure([cli, "diff", gpt2, ft, "--json"], args.reps, ok_rc=(0, 1))
            out = run_child([cli, "diff", gpt2, ft, "--json"], capture=True, ok_rc=(0, 1))[3]
            th = measure(py("diff", gpt2, ft), args.reps, parse_json=True)
            R["diff"] = {"bytes": os.path.getsize(gpt2) + os.path.getsize(ft), "ck": ck, "torch": th,
                         "ck_summary": json.loads(out)["summary"]}
            loads.append(("diff", os.getloadavg()))
    finally:
        os.unlink(child)

    # ---- tables (Markdown, pasted into BENCHMARKS.md as they are)
    m = info
    print(f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']:.1f} GiB RAM, Linux {m['kernel']}, "
          f"Python {m['python']}, torch {m['torch']} ({m['torch_threads']} threads), numpy {m['numpy']}")
    print(f"medians of {args.reps} runs; peak RSS the largest; warm page cache; load average before: "
          f"{' '.join(f'{x:.2f}' for x in m['load_before'])}; after each part: "
          + "; ".join(f"{n} {' '.join(f'{x:.2f}' for x in la)}" for n, la in loads))
    imp = R["import"]
    print(f"torch children: torch.set_num_threads({args.torch_threads}) (torch's own default: "
          f"{m['torch_threads']}); numpy.histogram is single-threaded")
    print(f"baseline `import torch, numpy` alone: {fmt_time(imp['wall_s'])} wall, {fmt_time(imp['cpu_s'])} CPU, "
          f"{fmt_mib(imp['rss_kib'])}\n")
    targets = []
    if "stats" in R:
        rows = []
        for dt, r in R["stats"].items():
            ck, th, n = r["ck"], r["torch"], r["bytes"]
            rows.append((dt, f"{n / 1e9:.3f} GB", f"{fmt_time(ck['wall_s'])} ({gbs(n, ck['wall_s'])})",
                         fmt_time(ck["cpu_s"]), fmt_mib(ck["rss_kib"]),
                         f"{fmt_time(th['op_s'])} ({gbs(n, th['op_s'])})", fmt_time(th["op_cpu_s"]),
                         fmt_time(th["load_s"]), fmt_time(th["wall_s"]), fmt_time(th["cpu_s"]), fmt_mib(th["rss_kib"]),
                         f"{th['op_s'] / ck['wall_s']:.2f}x", ratio(th['op_cpu_s'], ck['cpu_s']),
                         f"{th['wall_s'] / ck['wall_s']:.1f}x"))
            targets.append((f"stats {dt}: torch ops alone / ckptlens whole process", th["op_s"] / ck["wall_s"], 4))
        table(("dtype", "file", "ckptlens stats: wall", "its CPU", "its RSS", "torch ops alone: wall", "their CPU",
               "torch.load", "torch process: wall", "its CPU", "its RSS", "torch ops / ckptlens",
               "CPU: torch ops / ckptlens", "torch process / ckptlens"), rows)
    if "hist" in R:
        rows = []
        for dt, r in R["hist"].items():
            ck, npy, hc, n = r["ck"], r["numpy"], r["histc"], r["bytes"]
            rows.append((dt, f"{fmt_time(ck['wall_s'])} ({gbs(n, ck['wall_s'])})", fmt_time(ck["cpu_s"]),
                         fmt_mib(ck["rss_kib"]),
                         fmt_time(npy["op_s"]) + (f" (+{fmt_time(npy['convert_s'])} to float32)"
                                                  if dt != "float32" else ""),
                         fmt_time(npy["wall_s"]),
                         fmt_time(hc["op_s"]) + (f" (+{fmt_time(hc['convert_s'])} to float32)"
                                                 if "convert_s" in hc else ""),
                         fmt_time(hc["wall_s"]),
                         f"{npy['op_s'] / ck['wall_s']:.1f}x", f"{hc['op_s'] / ck['wall_s']:.2f}x",
                         f"{npy['wall_s'] / ck['wall_s']:.1f}x"))
            targets.append((f"hist {dt}: numpy.histogram alone / ckptlens whole process", npy["op_s"] / ck["wall_s"],
                            4))
            if "histc_error" in hc:
                print(f"note: torch.histc on {dt}: {hc['histc_error']}")
        table(("dtype", "ckptlens hist: wall", "its CPU", "its RSS", "numpy.histogram alone", "numpy process",
               "torch.histc alone", "histc process", "numpy / ckptlens", "histc / ckptlens",
               "numpy process / ckptlens"), rows)
    if "export" in R:
        e, n = R["export"], R["export"]["bytes"]
        cp = e["cp"]
        cs = e["cp_sync"]
        rows = [("cp (whole file)", f"{e['bytes'] / 1e9:.2f} GB", fmt_time(cp["wall_s"]), gbs(n, cp["wall_s"]),
                 fmt_time(cp["cpu_s"]), fmt_mib(cp["rss_kib"]), "", "", "", ""),
                ("cp + sync of the copy (on disk, as export leaves it)", f"{e['bytes'] / 1e9:.2f} GB",
                 fmt_time(cs["wall_s"]), gbs(n, cs["wall_s"]), fmt_time(cs["cpu_s"]), fmt_mib(cs["rss_kib"]),
                 "", "", "", "")]
        for label, ckk, thk in (("bfloat16, transformer.h.*", "ck_bf16", "torch_bf16"),
                                ("safetensors, whole file", "ck_st", "torch_st")):
            ck, th = e[ckk], e[thk]
            work = th["load_s"] + th["select_s"] + th["save_s"]
            rows.append((f"ckptlens: {label}", f"{e[ckk + '_out'] / 1e9:.2f} GB", fmt_time(ck["wall_s"]),
                         gbs(n, ck["wall_s"]), fmt_time(ck["cpu_s"]), fmt_mib(ck["rss_kib"]),
                         f"{th['wall_s'] / ck['wall_s']:.1f}x", f"{work / ck['wall_s']:.1f}x",
                         f"{cp['wall_s'] / ck['wall_s'] * 100:.0f}%", f"{cs['wall_s'] / ck['wall_s'] * 100:.0f}%"))
            rows.append((f"torch: {label}" + (" (torch.save: no safetensors module)" if ckk == "ck_st" else ""),
                         f"{e[thk + '_out'] / 1e9:.2f} GB",
                         f"{fmt_time(th['wall_s'])} (load+cast+save {fmt_time(work)})", gbs(n, th["wall_s"]),
                         fmt_time(th["cpu_s"]), fmt_mib(th["rss_kib"]), "", "", "", ""))
            targets.append((f"export {label}: torch load+cast+save alone / ckptlens", work / ck["wall_s"], 2))
            targets.append((f"export {label}: ckptlens throughput / cp's", cp["wall_s"] / ck["wall_s"], 0.7))
            targets.append((f"export {label}: ckptlens throughput / (cp + sync)'s", cs["wall_s"] / ck["wall_s"], 0.7))
        table(("what", "output", "wall (median)", "input GB / wall", "CPU", "peak RSS", "torch process / ckptlens",
               "torch work alone / ckptlens", "ckptlens throughput / cp's", "... / (cp + sync)'s"), rows)
        print("every run's wall time (s): " + "; ".join(
            f"{k} " + ", ".join(f"{w:.2f}" for w in e[k]["wall_all"]) for k in
            ("cp", "cp_sync", "ck_bf16", "torch_bf16", "ck_st", "torch_st")) + "\n")
    if "diff" in R:
        d = R["diff"]
        ck, th, n = d["ck"], d["torch"], d["bytes"]
        table(("what", "wall", "input GB / wall", "CPU", "peak RSS"),
              [("ckptlens diff --json", fmt_time(ck["wall_s"]), gbs(n, ck["wall_s"]), fmt_time(ck["cpu_s"]),
                fmt_mib(ck["rss_kib"])),
               ("torch: whole process", fmt_time(th["wall_s"]), gbs(n, th["wall_s"]), fmt_time(th["cpu_s"]),
                fmt_mib(th["rss_kib"])),
               ("torch: two torch.load", fmt_time(th["load_s"] + th["load_b_s"]), "",
                fmt_time(th["load_cpu_s"] + th["load_b_cpu_s"]), ""),
               ("torch: float64 comparison alone", fmt_time(th["op_s"]), "", fmt_time(th["op_cpu_s"]), ""),
               ("torch process / ckptlens", f"{th['wall_s'] / ck['wall_s']:.1f}x", "",
                ratio(th['cpu_s'], ck['cpu_s'], 1), f"{th['rss_kib'] / ck['rss_kib']:.1f}x")])
        print(f"ckptlens diff summary: {json.dumps(d['ck_summary'])}; torch found {th['differing']} differing keys\n")
        work = th["load_s"] + th["load_b_s"] + th["op_s"]
        print(f"torch work alone (two loads + comparison) / ckptlens: {work / ck['wall_s']:.1f}x\n")
        targets.append(("diff: torch process / ckptlens", th["wall_s"] / ck["wall_s"], 3))
        targets.append(("diff: torch work alone (2 loads + comparison) / ckptlens", work / ck["wall_s"], 3))
    for name, got, need in targets:
        print(f"target: {name} = {got:.2f} (>= {need}) {'met' if got >= need else 'MISSED'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(R, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
