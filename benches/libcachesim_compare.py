#!/usr/bin/env python3
"""Whole-process wall time: `experiment hitrate` against libCacheSim on the same
oracleGeneral file, one core each, back to back.

For each trace (cloudPhysicsIO.oracleGeneral.bin as shipped; cloudphysics-w106 converted
to oracleGeneral: time = request index in seconds, size 4096, next-access vtime), each
policy (lru, fifo) and each size (1 %, 10 % of the working set's bytes), it runs

  * `experiment hitrate --trace FILE --policies P --sizes F --threads 1` (whole process,
    reading, decoding and replaying the trace), and
  * a Python process that imports libCacheSim 0.3.5, opens the same file with its
    `TraceReader` (ORACLE_GENERAL_TRACE) and runs `process_trace` — libCacheSim's C loop —
    with the capacity (bytes) the lab's cell used,

both pinned to CPU 0 (`taskset -c 0`) when taskset exists, alternating the two, `--repeat`
times; prints the medians and the ratio lab / libCacheSim (≤ 0.5 is the goal), and checks
that both report the same miss ratio.

Usage: benches/libcachesim_compare.py [--lcs-python /work/lcs-venv/bin/python]
       [--experiment target/release/experiment] [--traces ../shared/traces] [--repeat 5]
       [--w106 w106.oracleGeneral.bin (reuse a converted file)]
"""

import argparse
import csv
import lzma
import os
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

LCS_RUN = r"""
import sys, libcachesim as lcs
path, policy, cap = sys.argv[1], sys.argv[2], int(sys.argv[3])
reader = lcs.TraceReader(path, lcs.TraceType.ORACLE_GENERAL_TRACE)
cache = {"lru": lcs.LRU, "fifo": lcs.FIFO}[policy](cache_size=cap)
miss_ratio, byte_miss_ratio = cache.process_trace(reader)
print(miss_ratio)
"""


def here():
    return os.path.dirname(os.path.abspath(__file__))


def default_traces():
    for cand in ("../shared/traces", "../../shared/traces"):
        p = os.path.normpath(os.path.join(here(), "..", cand))
        if os.path.isdir(p):
            return p
    return os.environ.get("EVICTLAB_TRACES", "")


def w106_oracle(src, dst):
    """cloudphysics-w106 (u32 big-endian block numbers, xz) → oracleGeneral records."""
    import numpy as np

    raw = lzma.open(src).read()
    ids = np.frombuffer(raw, dtype=">u4").astype(np.uint64)
    n = len(ids)
    # next access (1-based vtime, -1 for none): for each position, the next equal id.
    order = np.argsort(ids, kind="stable")
    nxt = np.full(n, -1, dtype=np.int64)
    same = ids[order[1:]] == ids[order[:-1]]
    nxt[order[:-1][same]] = order[1:][same].astype(np.int64) + 1
    rec = np.zeros(n, dtype=[("t", "<u4"), ("id", "<u8"), ("size", "<u4"), ("next", "<i8")])
    rec["t"] = np.arange(n, dtype=np.uint32)
    rec["id"] = ids
    rec["size"] = 4096
    rec["next"] = nxt
    assert rec.dtype.itemsize == 24
    with open(dst, "wb") as f:
        f.write(rec.tobytes())


def pinned(cmd):
    return (["taskset", "-c", "0"] if shutil.which("taskset") else []) + cmd


def timed(cmd, env=None):
    """(wall seconds, CPU seconds user+sys of the child, stdout)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(pinned(cmd), capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return dt, cpu, out.stdout


def lab_run(exe, trace, policy, size, outdir):
    dt, cpu, _ = timed([exe, "hitrate", "--trace", trace, "--policies", policy,
                        "--sizes", str(size), "--threads", "1", "--out", outdir, "--overwrite"])
    with open(os.path.join(outdir, "hitrate.csv")) as f:
        row = next(csv.DictReader(f))
    return dt, cpu, int(row["capacity"]), 1.0 - float(row["hit_ratio"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lcs-python", default="/work/lcs-venv/bin/python")
    ap.add_argument("--experiment", default=os.path.join(here(), "..", "target", "release", "experiment"))
    ap.add_argument("--traces", default=default_traces())
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--policies", default="lru,fifo")
    ap.add_argument("--sizes", default="0.01,0.1")
    ap.add_argument("--w106", metavar="FILE",
                    help="an existing w106 oracleGeneral file (as this script writes it) to use "
                         "instead of converting the .xz again")
    args = ap.parse_args()
    try:
        if not args.w106:
            import numpy  # noqa: F401  (the w106 conversion needs it)
    except ImportError:
        # The libCacheSim venv has numpy: run this script with it instead. (A venv's
        # interpreter resolves to the base one, so the guard is an environment variable,
        # not a path comparison.)
        if os.environ.get("LCS_COMPARE_REEXEC") != "1":
            os.environ["LCS_COMPARE_REEXEC"] = "1"
            os.execv(args.lcs_python, [args.lcs_python, os.path.abspath(__file__)] + sys.argv[1:])
        sys.exit("numpy is needed to convert w106 to oracleGeneral")

    tmp = tempfile.mkdtemp(prefix="lcs-compare-")
    traces = []
    cp = os.path.join(args.traces, "libcachesim", "cloudPhysicsIO.oracleGeneral.bin")
    w106 = os.path.join(args.traces, "caffeine", "cloudphysics-w106.trace.xz")
    if args.w106:
        if not os.path.isfile(args.w106) or os.path.getsize(args.w106) % 24:
            sys.exit(f"--w106 {args.w106!r}: expected an oracleGeneral file (24-byte records)")
        traces.append(("w106", args.w106))
    elif os.path.exists(w106):
        dst = os.path.join(tmp, "w106.oracleGeneral.bin")
        w106_oracle(w106, dst)
        traces.append(("w106", dst))
    if os.path.exists(cp):
        traces.append(("cloudPhysicsIO", cp))
    if not traces:
        sys.exit(f"no traces under {args.traces!r}")

    print(f"medians of {args.repeat} alternating runs; wall = whole process, cpu = user+sys")
    print(f"{'trace':<15} {'policy':<5} {'size':>5} {'lab wall':>9} {'lcs wall':>9} {'ratio':>6}"
          f" {'lab cpu':>8} {'lcs cpu':>8} {'ratio':>6}  miss ratio lab / lcs")
    for name, path in traces:
        for policy in args.policies.split(","):
            for size in args.sizes.split(","):
                lab_w, lab_c, lcs_w, lcs_c = [], [], [], []
                for _ in range(args.repeat):
                    w, c, cap, lab_mr = lab_run(args.experiment, path, policy, size,
                                                os.path.join(tmp, "out"))
                    lab_w.append(w)
                    lab_c.append(c)
                    w, c, out = timed([args.lcs_python, "-c", LCS_RUN, path, policy, str(cap)])
                    lcs_w.append(w)
                    lcs_c.append(c)
                    lcs_mr = float(out.strip())
                m = statistics.median
                flag = "" if abs(lab_mr - lcs_mr) < 1e-9 else "  (differ)"
                print(f"{name:<15} {policy:<5} {size:>5} {m(lab_w):9.3f} {m(lcs_w):9.3f} "
                      f"{m(lab_w) / m(lcs_w):6.3f} {m(lab_c):8.3f} {m(lcs_c):8.3f} "
                      f"{m(lab_c) / m(lcs_c):6.3f}  {lab_mr:.6f} / {lcs_mr:.6f}{flag}",
                      flush=True)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
