"""The PyTorch column of `npm run bench` (bench/torch.ts writes the manifest).

Runs each workload's Python body on one thread (torch.set_num_threads(1)), the engine BrainCog
runs on: the check variant once, its output written for bench/torch.ts to compare with ours,
then warm-ups and timed calls; writes the median ms per workload as JSON. Gradient and training
rows run with autograd on (`grad`), the others under torch.no_grad(); a body may return a list
of tensors (gradients), flattened and concatenated for the check. The bodies see `torch`, `F`,
`nn` and `B` (bench/torch_braincog.py: BrainCog's LIFNode with QGateGrad, the training networks).

Memory, in bytes: the resident set just before the first call (after the inputs and `setup`),
its largest value sampled after each timed call, and its peak over the calls: the kernel's
high-water mark VmHWM (/proc/self/status), reset to the current RSS just before the first call
(writing 5 to /proc/self/clear_refs). Not ru_maxrss: Linux carries the parent's RSS at fork into
a spawned child's, so it would report the Node bench's own size. Meaningful for a workload that
bench/torch.ts runs in a process of its own (`isolate`). (The sampling adds a read of
/proc/self/statm to each timed call: a few microseconds.)
"""
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import torch_braincog as B

SLOW_S = 0.25


def define(name, body):
    env = {"torch": torch, "F": F, "nn": nn, "B": B}
    lines = "\n".join("    " + line for line in body.split("\n"))
    exec(f"def {name}(t):\n{lines}\n", env)
    return env[name]


def median_ms(f, t, plan):
    start = time.perf_counter()
    f(t)
    slow = time.perf_counter() - start > SLOW_S
    if slow:
        f(t)
    else:
        # the same warm-up as the JavaScript columns (bench/harness.ts, `warmUp`)
        i = 1
        while i < plan["warmup"] or time.perf_counter() - start < plan["warmupMs"] / 1000:
            f(t)
            i += 1
    min_runs = min(plan["minRuns"], 3) if slow else plan["minRuns"]
    runs, spent = [], 0.0
    while len(runs) < plan["maxRuns"] and (len(runs) < min_runs or (not slow and spent < plan["budgetMs"] / 1000)):
        start = time.perf_counter()
        f(t)
        dt = time.perf_counter() - start
        runs.append(dt)
        spent += dt
    return statistics.median(runs) * 1000


def flat(out):
    """A body's result as one float32 array: a tensor, or a list of tensors concatenated."""
    parts = out if isinstance(out, (list, tuple)) else [out]
    return np.concatenate([p.detach().contiguous().numpy().astype(np.float32).ravel() for p in parts])


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def reset_peak():
    """Resets the kernel's peak-RSS mark (VmHWM) to the current RSS; False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_bytes():
    """VmHWM of /proc/self/status, or ru_maxrss where there is no /proc."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_workload(w, plan):
    with torch.set_grad_enabled(bool(w.get("grad"))):
        t = {
            name: torch.from_numpy(np.fromfile(spec["file"], dtype=np.float32).reshape(spec["shape"]))
            for name, spec in w["inputs"].items()
        }
        if w.get("setup"):
            define("setup", w["setup"])(t)
        run = define("run", w["run"])
        check = define("check", w.get("check") or w["run"])
        before = rss_bytes()
        reset_peak()
        flat(check(t)).tofile(w["out"])
        sampled = [before]

        def sampling(t):
            out = run(t)
            sampled.append(rss_bytes())
            return out

        ms = median_ms(sampling, t, plan)
        peak = peak_bytes()
        return {"ms": ms, "rssBefore": before, "peakRss": peak, "sampledRss": max(sampled)}


def main(path):
    torch.set_num_threads(1)
    manifest = json.load(open(path))
    results = {}
    for w in manifest["workloads"]:
        try:
            results[w["id"]] = run_workload(w, manifest["plan"])
        except Exception as e:  # one body failing leaves the others' results
            results[w["id"]] = {"error": f"{type(e).__name__}: {e}"}
    json.dump({"version": torch.__version__, "threads": torch.get_num_threads(), "results": results}, open(manifest["results"], "w"))


if __name__ == "__main__":
    main(sys.argv[1])
