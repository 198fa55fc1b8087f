#!/usr/bin/env python3
"""bench/lib/pgbrun.py -- run one pgbench measurement and print it as JSON.

Usage: pgbrun.py [--log] -- PGBENCH ARGS...

Runs pgbench with the given arguments and prints one JSON object: tps
(pgbench's figure without initial connection time), transactions, failed,
and with --log also the latency percentiles (p50/p95/p99, microseconds) and
a 101-point latency CDF computed from pgbench's per-transaction log (-l),
which is written into a private temporary directory and removed.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile


def percentile(sorted_vals, q):
    if not sorted_vals:
        return None
    i = min(len(sorted_vals) - 1, max(0, int(round(q * (len(sorted_vals) - 1)))))
    return sorted_vals[i]


def main():
    argv = sys.argv[1:]
    log = False
    if argv and argv[0] == "--log":
        log = True
        argv = argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    tmp = None
    if log:
        tmp = tempfile.mkdtemp(prefix="rbb-pgblog.")
        argv = argv + ["-l", "--log-prefix", os.path.join(tmp, "tx")]
    try:
        p = subprocess.run(argv, capture_output=True, text=True)
        out = p.stdout + p.stderr
        if p.returncode != 0:
            sys.stderr.write(out)
            sys.exit("pgbrun: pgbench failed (exit %d)" % p.returncode)
        res = {}
        m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
        res["tps"] = float(m.group(1)) if m else None
        m = re.search(r"number of transactions actually processed: (\d+)", out)
        res["transactions"] = int(m.group(1)) if m else None
        m = re.search(r"number of failed transactions: (\d+)", out)
        res["failed"] = int(m.group(1)) if m else 0
        m = re.search(r"latency average = ([0-9.]+) ms", out)
        res["latency_avg_us"] = round(float(m.group(1)) * 1000, 1) if m else None
        if log:
            lat = []
            for name in os.listdir(tmp):
                with open(os.path.join(tmp, name)) as f:
                    for line in f:
                        parts = line.split()
                        # client_id transaction_no time script_no epoch us
                        if len(parts) >= 6 and parts[2].isdigit():
                            lat.append(int(parts[2]))
            lat.sort()
            res["latency_p50_us"] = percentile(lat, 0.50)
            res["latency_p95_us"] = percentile(lat, 0.95)
            res["latency_p99_us"] = percentile(lat, 0.99)
            res["latency_cdf_us"] = [percentile(lat, i / 100) for i in range(101)]
        print(json.dumps(res))
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
