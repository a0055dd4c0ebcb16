"""The PyTorch column of `npm run bench` (bench/torch.ts writes the manifest).

Runs each workload's Python body on one thread (torch.set_num_threads(1)), the engine BrainCog
runs on: the check variant once, its output written for bench/torch.ts to compare with ours,
then warm-ups and timed calls; writes the median ms per workload as JSON.
"""
import json
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

SLOW_S = 0.25


def define(name, body):
    env = {"torch": torch, "F": F}
    lines = "\n".join("    " + line for line in body.split("\n"))
    exec(f"def {name}(t):\n{lines}\n", env)
    return env[name]


def median_ms(f, t, plan):
    start = time.perf_counter()
    f(t)
    slow = time.perf_counter() - start > SLOW_S
    for _ in range(1 if slow else plan["warmup"] - 1):
        f(t)
    min_runs = min(plan["minRuns"], 3) if slow else plan["minRuns"]
    runs, spent = [], 0.0
    while len(runs) < plan["maxRuns"] and (len(runs) < min_runs or (not slow and spent < plan["budgetMs"] / 1000)):
        start = time.perf_counter()
        f(t)
        dt = time.perf_counter() - start
        runs.append(dt)
        spent += dt
    return statistics.median(runs) * 1000


def main(path):
    torch.set_num_threads(1)
    manifest = json.load(open(path))
    results = {}
    with torch.no_grad():
        for w in manifest["workloads"]:
            t = {
                name: torch.from_numpy(np.fromfile(spec["file"], dtype=np.float32).reshape(spec["shape"]))
                for name, spec in w["inputs"].items()
            }
            if w.get("setup"):
                define("setup", w["setup"])(t)
            run = define("run", w["run"])
            check = define("check", w.get("check") or w["run"])
            check(t).contiguous().numpy().astype(np.float32).tofile(w["out"])
            results[w["id"]] = {"ms": median_ms(run, t, manifest["plan"])}
    json.dump({"version": torch.__version__, "threads": torch.get_num_threads(), "results": results}, open(manifest["results"], "w"))


if __name__ == "__main__":
    main(sys.argv[1])
