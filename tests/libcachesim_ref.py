#!/usr/bin/env python3
"""Miss counts from libCacheSim (the `libcachesim` Python package, its C simulator) for the
evictlab reference test (tests/libcachesim.rs).

Usage: libcachesim_ref.py TRACE SIZE[,SIZE...] POLICY[,POLICY...]
       libcachesim_ref.py --hits TRACE SIZE POLICY   (one line of 0/1 per request: hit?)

TRACE is a text file of decimal object ids, one per line (LIRS `*` markers and empty lines
skipped, CRLF accepted) -- the same reading as the Rust test's. The ids are written to a
temporary oracleGeneral file (24-byte records: u32 time, u64 id, u32 size = 1, i64 next
access index, -1 = never), so every object weighs 1 byte and a cache of N bytes holds N
objects, and Belady sees each request's next access. POLICY is an evictlab policy name
(optionally `name:variant`); each is mapped to libCacheSim's cache with its defaults.
Prints one line per (policy, size): `POLICY SIZE MISSES REQUESTS`.
"""
import os
import struct
import sys
import tempfile

import libcachesim as lcs
from libcachesim import libcachesim_python as raw


def read_ids(path):
    ids = []
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            s = line.strip()
            if not s or s.startswith(b"*"):
                continue
            try:
                ids.append(int(s))
            except ValueError:
                sys.exit(f"{path}:{n}: not a decimal id: {s!r}")
    return ids


def write_oracle_general(ids, path):
    nxt = [-1] * len(ids)
    seen = {}
    for i in range(len(ids) - 1, -1, -1):
        nxt[i] = seen.get(ids[i], -1)
        seen[ids[i]] = i
    rec = struct.Struct("<IQIq")
    with open(path, "wb") as f:
        buf = bytearray()
        for i, x in enumerate(ids):
            buf += rec.pack(i + 1, x, 1, nxt[i])
        f.write(buf)


def common(size):
    return raw.CommonCacheParams(cache_size=size, default_ttl=86400 * 300, hashpower=18,
                                 consider_obj_metadata=False)


# evictlab name -> a function building libCacheSim's cache of `size` objects.
CACHES = {
    "lru": lambda n: raw.LRU_init(common(n)),
    "fifo": lambda n: raw.FIFO_init(common(n)),
    "clock": lambda n: raw.Clock_init(common(n), ""),
    "sieve": lambda n: raw.Sieve_init(common(n)),
    "s3fifo": lambda n: raw.S3FIFO_init(common(n), ""),
    "s3fifo:v0": lambda n: raw.S3FIFOv0_init(common(n), ""),
    "arc": lambda n: raw.ARC_init(common(n)),
    "2q": lambda n: raw.TwoQ_init(common(n), ""),
    "lfu": lambda n: raw.LFU_init(common(n)),
    "lirs": lambda n: raw.LIRS_init(common(n)),
    "w-tinylfu": lambda n: raw.WTinyLFU_init(common(n), ""),
    "belady": lambda n: raw.Belady_init(common(n)),
}


def hits(trace, size, policy):
    ids = read_ids(trace)
    with tempfile.TemporaryDirectory() as d:
        og = os.path.join(d, "trace.oracleGeneral.bin")
        write_oracle_general(ids, og)
        reader = lcs.TraceReader(og, lcs.TraceType.ORACLE_GENERAL_TRACE)
        cache = CACHES[policy](int(size))
        out = []
        for req in reader:
            out.append("1" if cache.get(req) else "0")
        print("".join(out))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--hits":
        return hits(*sys.argv[2:])
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    trace, sizes, policies = sys.argv[1], sys.argv[2], sys.argv[3]
    ids = read_ids(trace)
    with tempfile.TemporaryDirectory() as d:
        og = os.path.join(d, "trace.oracleGeneral.bin")
        write_oracle_general(ids, og)
        for p in policies.split(","):
            if p not in CACHES:
                sys.exit(f"unknown policy {p!r}; known: {', '.join(CACHES)}")
            for s in sizes.split(","):
                n = int(s)
                reader = lcs.TraceReader(og, lcs.TraceType.ORACLE_GENERAL_TRACE)
                cache = CACHES[p](n)
                miss_ratio, _ = raw.c_process_trace(cache, reader._reader, 0, -1)
                print(p, n, round(miss_ratio * len(ids)), len(ids), flush=True)


if __name__ == "__main__":
    main()
