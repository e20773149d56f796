#!/usr/bin/env python3
"""gped against PyTorch on the GPED loop: one command, runs alternating, one table.

    python3 benches/pytorch/compare.py            # fcnn and cnn, 2 rounds, B = 1000, D = 2000

1. PyTorch: uses this interpreter if it imports torch and numpy, else a virtual environment
   ($GPED_TORCH_VENV, default ~/.cache/gped-torch-venv) where it runs `pip install torch numpy`
   once (skipped when torch already imports there). Plain PyPI: for Linux x86-64 that is the
   CUDA build of torch (about 3 GB with its nvidia-* wheels); it runs on the CPU all the same.
   PyTorch's CPU-only index is not needed.
2. gped: `cargo build --release` (a no-op when up to date; honours $CARGO_TARGET_DIR), unless
   --gped names a binary.
3. For each architecture, --rounds rounds of: gped, then PyTorch, on the same settings
   (benches/pytorch/gped_loop.toml, whose values are checked against gped_loop.py's SETTINGS
   first), so that a drift of the machine's speed hits both sides alike.
4. Prints the machine (CPU model, the SIMD level gped's kernels use and PyTorch's), then per
   architecture and round: ms per iteration of burn-in, distillation and overall on each side,
   the ratio gped / PyTorch, and the time of one teacher pass over the 10,000 test images.
   Everything is also written to OUT/results.json (--out, default a new temporary folder).

How gped's numbers are read from its run folder (metrics.json `time`, metrics.jsonl):
- burn-in ms/it = elapsed_s of the metrics.jsonl record at iteration B (eval.log_every = B;
  before the ensemble has a sample a record scores nothing), / B;
- loop time = time.wall_s - time.eval_s - time.checkpoint_s: the whole run but its evaluation
  passes (one teacher pass over the test set at the last iteration, the student scored at the
  end) and checkpoints (none); it still holds writing the student's weights and the ensemble
  sums at the end, a few milliseconds;
- distillation ms/it = (loop time - burn-in time) / D; overall = loop time / (B + D).
- 10k test pass: two more runs with only test passes as their evaluation (burn_in 0,
  eval.every 1, the student never stepping), with K1 = 2 and K2 = 12 ensemble samples; the pass
  time is (eval_s(K2) - eval_s(K1)) / (K2 - K1), the mean of 10 passes with the fixed costs
  (the first, cold pass; scoring the student) cancelled. PyTorch's is the mean (and median)
  of 10 passes after one untimed warm-up.

Not part of CI (.ci/run never calls it): it downloads PyTorch and takes minutes.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TOML = HERE / "gped_loop.toml"
LOOP = HERE / "gped_loop.py"
# The test-pass runs' ensemble sizes (see the docstring).
K1, K2 = 2, 12
# `thinning` that no run reaches: the student of a test-pass run never steps.
NEVER = 1_000_000_000_000


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_measured(cmd, stdout, stderr, env=None):
    """Runs `cmd` (in environment `env`, default this one) with its output to the open files
    `stdout` and `stderr`; returns its exit code and its peak resident memory in MiB
    (ru_maxrss from os.wait4, KiB on Linux: the process's own high-water mark)."""
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024


# ---- 1. PyTorch ------------------------------------------------------------------------------

def imports_torch(python):
    r = subprocess.run([python, "-c", "import torch, numpy"], capture_output=True)
    return r.returncode == 0


def torch_python(given):
    """An interpreter that imports torch and numpy, installing them into a venv if needed."""
    if given:
        if not imports_torch(given):
            sys.exit(f"{given} cannot import torch and numpy")
        return given
    if imports_torch(sys.executable):
        return sys.executable
    venv = Path(os.environ.get("GPED_TORCH_VENV") or Path.home() / ".cache" / "gped-torch-venv")
    python = venv / "bin" / "python"
    if python.exists() and imports_torch(str(python)):
        return str(python)
    log(f"installing torch and numpy with pip into {venv} (once; about 3 GB from PyPI)")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "torch", "numpy"], check=True)
    if not imports_torch(str(python)):
        sys.exit(f"torch was installed into {venv} but does not import")
    return str(python)


# ---- 2. gped ---------------------------------------------------------------------------------

def gped_binary(given):
    if given:
        return given
    log("cargo build --release (a no-op when up to date)")
    subprocess.run(["cargo", "build", "--release", "--bin", "gped"], cwd=REPO, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    if not target.is_absolute():
        target = REPO / target
    return str(target / "release" / "gped")


# ---- Settings: gped_loop.toml against gped_loop.py's SETTINGS ---------------------------------

def toml_value(cfg, key):
    node = cfg
    for part in key.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def check_settings(python):
    cfg = tomllib.loads(TOML.read_text())
    out = subprocess.run([python, str(LOOP), "--print-settings"], capture_output=True,
                         text=True, check=True).stdout
    settings = json.loads(out)
    wrong = [f"{k}: gped_loop.toml {toml_value(cfg, k)!r}, gped_loop.py {v!r}"
             for k, v in settings.items() if toml_value(cfg, k) != v]
    if len(cfg["students"]) != 1:
        wrong.append(f"gped_loop.toml has {len(cfg['students'])} students, expected 1")
    if wrong:
        sys.exit("the two sides' settings differ:\n  " + "\n  ".join(wrong))


# ---- 3. The runs -----------------------------------------------------------------------------

def gped_run(gped, out, name, data_dir, overrides):
    """`gped run gped_loop.toml` with --set overrides into OUT/name; its metrics.json and the
    metrics.jsonl records."""
    run_dir = out / name
    cmd = [gped, "run", str(TOML), "--out", str(run_dir), "--force", "--quiet",
           "--data-dir", str(data_dir)]
    for o in overrides:
        cmd += ["--set", o]
    with open(out / f"{name}.log", "w") as f:
        code, peak_mib = run_measured(cmd, f, subprocess.STDOUT)
    if code != 0:
        sys.exit(f"gped failed ({' '.join(cmd)}); see {out / (name + '.log')}")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return metrics, records, peak_mib


def gped_side(gped, out, tag, arch, args, data_dir):
    b, d = args.burn_in, args.iterations
    t = b + d
    common = [f"teacher.arch={arch}", f"threads={args.threads}"]
    metrics, records, peak_mib = gped_run(gped, out, f"{tag}-loop", data_dir, common + [
        f"schedule.iterations={t}",
        f"schedule.burn_in={b}",
        f"eval.log_every={b if b > 0 else t}",
    ])
    time_ = metrics["time"]
    burn_s = 0.0
    if b > 0:
        burn_s = next(r["elapsed_s"] for r in records if r["iteration"] == b)
    loop_s = time_["wall_s"] - time_["eval_s"] - time_["checkpoint_s"]
    # The test-set pass: two runs with K1 and K2 teacher samples added to the ensemble.
    eval_s = {}
    for k in (K1, K2):
        m, _, _ = gped_run(gped, out, f"{tag}-test{k}", data_dir, common + [
            f"schedule.iterations={k + 1}",
            "schedule.burn_in=0",
            "eval.every=1",
            f"eval.log_every={k + 1}",
            f"students.0.thinning={NEVER}",
        ])
        if m["ensemble_samples"] != k:
            sys.exit(f"gped test-pass run: {m['ensemble_samples']} ensemble samples, expected {k}")
        eval_s[k] = m["time"]["eval_s"]
    return {
        "side": "gped",
        "arch": arch,
        "burn_in_ms_per_iteration": 1e3 * burn_s / b if b > 0 else None,
        "distill_ms_per_iteration": 1e3 * (loop_s - burn_s) / d if d > 0 else None,
        "ms_per_iteration": 1e3 * loop_s / t,
        # As the run reports it: wall time / T, its final evaluation included.
        "run_ms_per_iteration": time_["ms_per_iteration"],
        "time": time_,
        "test_pass_ms_mean": 1e3 * (eval_s[K2] - eval_s[K1]) / (K2 - K1),
        # Of the loop run (its final test pass and scoring included).
        "peak_rss_mib": peak_mib,
        # As the run records it (metrics.json time.machine): CPU, SIMD level used, threads.
        "machine": time_.get("machine"),
    }


def torch_side(python, out, tag, arch, args, data_dir):
    cmd = [python, str(LOOP), "--arch", arch, "--burn-in", str(args.burn_in),
           "--iterations", str(args.iterations), "--threads", str(args.threads),
           "--test-repeats", str(K2 - K1), "--data-dir", str(data_dir)]
    log_path, err_path = out / f"{tag}.log", out / f"{tag}.err"
    env = dict(os.environ)
    if args.torch_isa == "avx2":
        # PyTorch's own kernels, oneDNN's and MKL's, each capped at AVX2 (as on a CPU
        # without AVX-512).
        env.update(ATEN_CPU_CAPABILITY="avx2", ONEDNN_MAX_CPU_ISA="AVX2",
                   MKL_ENABLE_INSTRUCTIONS="AVX2")
    with open(log_path, "w") as f, open(err_path, "w") as e:
        code, peak_mib = run_measured(cmd, f, e, env)
    stdout, stderr = log_path.read_text(), err_path.read_text()
    if code != 0:
        sys.exit(f"gped_loop.py failed ({' '.join(cmd)}):\n{stderr[-2000:]}")
    line = next(l for l in stdout.splitlines() if l.startswith("JSON "))
    result = json.loads(line[len("JSON "):])
    # Of the whole script: the loop and its 11 test passes, on top of the interpreter + torch.
    result["peak_rss_mib"] = peak_mib
    return result


# ---- 4. The machine and the table ------------------------------------------------------------

def cpu_info():
    """CPU model (family, model) and the SIMD level gped's kernels dispatch to, read from
    /proc/cpuinfo with gped's rule (src/base/simd.rs Level::detected: avx512f + avx512dq +
    avx512vl -> avx512, else avx2 + fma -> avx2+fma, else scalar). Runs also record the level
    they used (metrics.json time.machine), which main() prefers: a build without the `avx512`
    feature stops at avx2+fma whatever the CPU has."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU", "unknown"
    fields = {}
    for line in text.splitlines():
        if ":" in line:
            key, value = (s.strip() for s in line.split(":", 1))
            fields.setdefault(key, value)
    model = fields.get("model name", "unknown CPU")
    if "cpu family" in fields and "model" in fields:
        model += f" (family {fields['cpu family']}, model {fields['model']})"
    flags = set(fields.get("flags", "").split())
    if {"avx512f", "avx512dq", "avx512vl"} <= flags:
        level = "avx512"
    elif {"avx2", "fma"} <= flags:
        level = "avx2+fma"
    else:
        level = "scalar"
    return model, level


def fmt(v, width=8, digits=3):
    return f"{v:{width}.{digits}f}" if isinstance(v, (int, float)) else f"{'-':>{width}}"


def ratio(a, b):
    return a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None


def print_table(results, machine, args):
    model, level, torch_version, torch_level = machine
    print(f"machine: {model}, {os.cpu_count()} logical CPUs; gped SIMD {level}; "
          f"PyTorch {torch_version} CPU kernels {torch_level}; {args.threads} threads each")
    print(f"loop: B = {args.burn_in} burn-in + D = {args.iterations} distillation iterations "
          f"(one U_s predictive student, H = 1), ms per iteration; ratio = gped / PyTorch")
    print()
    head = (f"{'arch':10} {'round':>5} | {'burn-in':>8} {'':>8} {'':>6} | {'distill':>8} "
            f"{'':>8} {'':>6} | {'overall':>8} {'':>8} {'':>6} | {'10k test pass ms':>16} | "
            f"{'peak RSS MiB':>13}")
    sub = (f"{'':10} {'':>5} | {'gped':>8} {'PyTorch':>8} {'ratio':>6} | {'gped':>8} "
           f"{'PyTorch':>8} {'ratio':>6} | {'gped':>8} {'PyTorch':>8} {'ratio':>6} | "
           f"{'gped':>7} {'PyTorch':>8} | {'gped':>6} {'PyTorch':>7}")
    print(head)
    print(sub)
    print("-" * len(sub))
    for r in results:
        g, p = r["gped"], r["pytorch"]
        cells = []
        for key in ("burn_in_ms_per_iteration", "distill_ms_per_iteration", "ms_per_iteration"):
            cells.append(f"{fmt(g[key])} {fmt(p[key])} {fmt(ratio(g[key], p[key]), 6, 2)}")
        test = f"{fmt(g['test_pass_ms_mean'], 7, 1)} {fmt(p['test_pass_ms_mean'], 8, 1)}"
        rss = f"{fmt(g['peak_rss_mib'], 6, 0)} {fmt(p['peak_rss_mib'], 7, 0)}"
        print(f"{r['arch']:10} {r['round']:>5} | " + " | ".join(cells) + f" | {test} | {rss}")
    print()
    print("gped: loop time from metrics.json (wall_s - eval_s - checkpoint_s), burn-in from the "
          "metrics.jsonl record at B; 10k test pass: mean of 10 (two runs' eval_s differenced).")
    print("PyTorch: eager, CPU, torch.set_num_threads; 10k test pass: mean of 10 after a "
          "warm-up (medians in results.json).")
    print("Peak RSS: each side's process high-water mark (os.wait4 ru_maxrss): gped's loop run, "
          "the whole PyTorch script.")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", nargs="+", choices=["fcnn", "cnn"], default=["fcnn", "cnn"])
    ap.add_argument("--rounds", type=int, default=2, help="gped, PyTorch rounds per arch")
    ap.add_argument("--burn-in", type=int, default=1000, help="B (schedule.burn_in)")
    ap.add_argument("--iterations", type=int, default=2000,
                    help="D: distillation iterations (schedule.iterations = B + D)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-dir", default=os.environ.get("GPED_DATA_DIR") or "data",
                    help="folder with mnist/ (default $GPED_DATA_DIR, else ./data); gped "
                         "fetches MNIST into it if missing")
    ap.add_argument("--out", help="folder for the runs and results.json (default: a new "
                                  "temporary folder)")
    ap.add_argument("--gped", help="the gped binary (default: cargo build --release)")
    ap.add_argument("--torch-isa", choices=["native", "avx2"], default="native",
                    help="avx2: cap PyTorch's kernels at AVX2 (ATEN_CPU_CAPABILITY, "
                         "ONEDNN_MAX_CPU_ISA, MKL_ENABLE_INSTRUCTIONS), to compare on an "
                         "AVX-512 machine as on an AVX2 one, with gped built with "
                         "--no-default-features (see --gped)")
    ap.add_argument("--python", help="an interpreter with torch and numpy (default: this one "
                                     "or the venv, installed if needed)")
    args = ap.parse_args()
    if args.iterations < 1 or args.burn_in < 0:
        sys.exit("need --iterations >= 1 and --burn-in >= 0")

    python = torch_python(args.python)
    gped = gped_binary(args.gped)
    check_settings(python)
    data_dir = Path(args.data_dir).resolve()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="gped-vs-pytorch-"))
    out.mkdir(parents=True, exist_ok=True)
    log(f"runs and logs in {out}")

    results = []
    torch_meta = ("?", "?")
    for arch in args.arch:
        gped_arch = "fcnn" if arch == "fcnn" else "mnist-cnn"
        for rnd in range(1, args.rounds + 1):
            tag = f"{arch}-r{rnd}"
            log(f"{tag}: gped")
            start = time.perf_counter()
            g = gped_side(gped, out, f"{tag}-gped", gped_arch, args, data_dir)
            log(f"{tag}: gped {g['ms_per_iteration']:.3f} ms/it "
                f"({time.perf_counter() - start:.0f} s); PyTorch")
            p = torch_side(python, out, f"{tag}-pytorch", arch, args, data_dir)
            log(f"{tag}: PyTorch {p['ms_per_iteration']:.3f} ms/it")
            torch_meta = (p["torch"], p["torch_cpu_capability"])
            results.append({"arch": arch, "round": rnd, "gped": g, "pytorch": p})

    model, level = cpu_info()
    # gped's own record of the level its kernels ran (a build without the `avx512` feature
    # runs avx2+fma on an AVX-512 CPU), where the run wrote one.
    recorded = next((r["gped"]["machine"] for r in results if r["gped"].get("machine")), None)
    if recorded:
        level = recorded.split("SIMD ", 1)[-1].rsplit(",", 1)[0]
    machine = (model, level) + torch_meta
    (out / "results.json").write_text(json.dumps({
        "machine": {"cpu": model, "gped_simd": level, "torch": torch_meta[0],
                    "torch_cpu_capability": torch_meta[1], "logical_cpus": os.cpu_count()},
        "settings": vars(args),
        "results": results,
    }, indent=2))
    print_table(results, machine, args)
    print(f"\nresults: {out / 'results.json'}")


if __name__ == "__main__":
    main()
