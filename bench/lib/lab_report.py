#!/usr/bin/env python3
"""bench/lib/lab_report.py -- the lab's report: JSON (everything), Markdown
(the tables and the goals) and PNG (TPS per configuration, latency CDFs,
drawn by gnuplot).

Usage: lab_report.py TS MACHINE_JSON SETTINGS_JSON RUNS_JSONL PHASES_JSONL OUT_PREFIX

A cell is (storage model, workload, clients).  With several rounds a cell's
figure is the median over its runs.  gap closed = (b - a) / (c - a) on TPS.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ts, machine, settings, runs_path, phases_path, prefix = sys.argv[1:7]
machine = json.loads(machine)
settings = json.loads(settings)
runs = [json.loads(l) for l in open(runs_path) if l.strip()]
phases = [json.loads(l) for l in open(phases_path) if l.strip()]
machine["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
loads = [float(r["loadavg"].split()[0]) for r in runs]
CONFIGS = ["a", "b1", "b2", "c"]
CNAME = {"a": "a storage only", "b1": "b1 remote, 1 peer",
         "b2": "b2 remote, 2 peers", "c": "c all in local memory"}


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def order(seq):
    out = []
    for x in seq:
        if x not in out:
            out.append(x)
    return out


models = order(r["model"] for r in runs)
cells = order((r["model"], r["workload"], r["clients"]) for r in runs)
summary = []
for (m, w, c) in cells:
    row = {"model": m, "workload": w, "clients": c}
    for cfg in CONFIGS:
        rs = [r for r in runs if (r["model"], r["workload"], r["clients"], r["config"]) == (m, w, c, cfg)]
        if not rs:
            continue
        x = {"runs": len(rs), "tps": med(r["result"]["tps"] for r in rs)}
        for k in ("latency_p50_us", "latency_p95_us", "latency_p99_us"):
            x[k] = med(r["result"].get(k) for r in rs)
        st = [r["remote_buffer_stats"] for r in rs if r["remote_buffer_stats"]]
        if st and cfg.startswith("b"):
            for k in ("hit_ratio", "remote_read_p50_us", "remote_read_p99_us",
                      "storage_read_p50_us", "storage_read_p99_us", "hits", "misses",
                      "timeouts", "fallbacks", "verify_failures"):
                x[k] = med(s.get(k) for s in st)
        row[cfg] = x
    a = row.get("a", {}).get("tps")
    cc = row.get("c", {}).get("tps")
    for b in ("b1", "b2"):
        bt = row.get(b, {}).get("tps")
        if a and bt:
            row[b + "_speedup"] = round(bt / a, 3)
        if a is not None and bt is not None and cc is not None and cc != a:
            row[b + "_gap_closed"] = round((bt - a) / (cc - a), 3)
    summary.append(row)


def tf(x):
    if x.get("timeouts") is None:
        return None
    return (x.get("timeouts") or 0) + (x.get("fallbacks") or 0)


def fmt(v, nd=0):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%%.%df" % nd) % v
    return str(v)


# goals, as measured
goals = []
sel = [r for r in summary if r["model"] == "gp3" and r["workload"] == "select"]
for b in ("b1", "b2"):
    sp = [r.get(b + "_speedup") for r in sel if r.get(b + "_speedup") is not None]
    if sp:
        goals.append({"goal": "gp3 model, select-only: TPS(%s) >= 5 x TPS(a)" % b,
                      "measured": "%s (clients %s)" % (", ".join("%.2fx" % s for s in sp),
                                                       " ".join(str(r["clients"]) for r in sel)),
                      "met": min(sp) >= 5})
for b in ("b1", "b2"):
    g = [(r[b + "_gap_closed"], "%s/%s" % (r["workload"], r["clients"])) for r in summary
         if r["model"] == "gp3" and r.get(b + "_gap_closed") is not None]
    if g:
        goals.append({"goal": "gp3 model: gap closed by %s >= 0.5 (every cell)" % b,
                      "measured": "median %.2f, min %.2f (%s), max %.2f" % (
                          statistics.median(x[0] for x in g), min(g)[0], min(g)[1], max(g)[0]),
                      "met": min(x[0] for x in g) >= 0.5})
rtts = [p["rtt_us"] for ph in phases if ph.get("peers") for p in ph["peers"] if p.get("rtt_us")]
rp50 = [r[b]["remote_read_p50_us"] for r in summary for b in ("b1", "b2")
        if r.get(b, {}).get("remote_read_p50_us") is not None]
if rtts and rp50:
    goals.append({"goal": "remote hit inside the read wrapper <= transport RTT + 2 us",
                  "measured": "view's remote read p50 (log2 bucket bound) median %s us over cells; "
                              "lease manager PING RTT %s us (median of phase ends); "
                              "see bench/README.md for the profile" % (
                                  fmt(statistics.median(rp50)), fmt(statistics.median(rtts))),
                  "met": None})

note = ("run on a small shared VM (%s CPUs) while other jobs ran: load average %s at start, "
        "%s at end, %.1f..%.1f during the runs; client, server and peers share the same CPUs; "
        "single measurements are %s s long: read the ratios, not the absolute numbers"
        % (machine["nproc"], "/".join(machine["loadavg_start"]), "/".join(machine["loadavg_end"]),
           min(loads), max(loads), settings["seconds"]))

doc = {"benchmark": "remote_buffer-lab", "timestamp": ts, "machine": machine,
       "settings": settings, "note": note, "model": {
           "memory": "Postgres server (postmaster and every backend) in cgroup v1 memory group, "
                     "limit %s: shared_buffers %s + process memory + page cache; data %s MB"
                     % (settings["mem_limit"], settings["shared_buffers"], settings["data_mb"]),
           "storage": {"gp3": "blkio.throttle read and write IOPS = %s on %s"
                              % (settings["gp3_iops"], settings["disk"]),
                       "nvme": "no throttle: the virtual disk as it is"},
           "peers": "rbufd outside the group, TCP loopback on the same host"},
       "goals": goals, "summary": summary, "phases": phases, "runs": runs}
with open(prefix + ".json", "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")

s = settings
L = ["# remote_buffer lab %s" % ts, "",
     "Machine: %s CPUs, %s, %s MB, Linux %s, %s; commit %s." % (
         machine["nproc"], machine["cpu"], machine["mem_mb"], machine["kernel"],
         machine["postgres"], machine["commit"]), "",
     "**Note:** %s." % note, "",
     "## Model", "",
     "* Local memory budget: the Postgres server runs in a cgroup v1 memory group limited "
     "to **%s** (shared_buffers %s, the rest is process memory and page cache); the data set "
     "is **%s MB** (pgbench scale %s), %.1fx the budget, so it cannot hide in the OS page cache. "
     "Caches are dropped before each server start." % (
         s["mem_limit"], s["shared_buffers"], s["data_mb"], s["scale"],
         int(s["data_mb"]) / (int(s["mem_limit"].rstrip("M")) if s["mem_limit"].endswith("M") else 1)),
     "* Storage **gp3**: blkio throttle of %s read IOPS and %s write IOPS on %s, emulating a "
     "cloud block volume at its baseline IOPS (the per-I/O latency of the virtual disk, about "
     "40 us, stays; a real gp3 volume adds about 0.5-1 ms per I/O, which this does not model, "
     "nor its throughput cap, burst or queueing; writeback by kernel threads is not throttled "
     "by cgroup v1)." % (s["gp3_iops"], s["gp3_iops"], s["disk"]),
     "* Storage **nvme**: no throttle, the virtual disk as it is (about 40 us per 8 KiB read): "
     "a local-NVMe-like device.",
     "* Peers: %s. Loopback has no wire: a real network adds its latency and bandwidth limits; "
     "here the peers compete for the same 2 CPUs instead." % s["rbufd"],
     "* Configurations: **a** storage only (remote_buffer loaded, `remote_buffer.enabled = off` "
     "in the measured sessions, same server as b), **b1/b2** remote tier %s on 1 / 2 peers "
     "(filled by a prewarm), **c** upper bound: shared_buffers %s, no memory limit, same storage "
     "throttle. a and b alternate cell by cell in one server; c runs in its own server after them."
     % (s["remote_tier"], s["big_shared_buffers"]),
     "* pgbench: seed %s, %s s per measurement, %s round(s), threads %s; zipf: %s." % (
         s["seed"], s["seconds"], s["rounds"], s["pgbench_threads"], s["zipf"]),
     ""]
for m in models:
    L += ["## Storage model %s: throughput" % m, "",
          "| workload | clients | TPS a | TPS b1 | TPS b2 | TPS c | b1/a | b2/a | gap closed b1 | gap closed b2 |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary:
        if r["model"] != m:
            continue
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["workload"], r["clients"],
            *[fmt(r.get(cfg, {}).get("tps")) for cfg in CONFIGS],
            fmt(r.get("b1_speedup"), 2), fmt(r.get("b2_speedup"), 2),
            fmt(r.get("b1_gap_closed"), 2), fmt(r.get("b2_gap_closed"), 2)))
    L += ["", "## Storage model %s: latency (us, p50 / p95 / p99) and the extension's view" % m, "",
          "| workload | clients | a | b1 | b2 | c | tier hit ratio b1 / b2 | remote read p50/p99 b1 | storage read p50/p99 b1 | timeouts+fallbacks b1 / b2 |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary:
        if r["model"] != m:
            continue
        lat = []
        for cfg in CONFIGS:
            x = r.get(cfg)
            lat.append("-" if not x else "%s / %s / %s" % (
                fmt(x["latency_p50_us"]), fmt(x["latency_p95_us"]), fmt(x["latency_p99_us"])))
        b1 = r.get("b1", {})
        b2 = r.get("b2", {})
        L.append("| %s | %s | %s | %s / %s | %s / %s | %s / %s | %s / %s |" % (
            r["workload"], r["clients"], " | ".join(lat),
            fmt(b1.get("hit_ratio"), 3), fmt(b2.get("hit_ratio"), 3),
            fmt(b1.get("remote_read_p50_us")), fmt(b1.get("remote_read_p99_us")),
            fmt(b1.get("storage_read_p50_us")), fmt(b1.get("storage_read_p99_us")),
            fmt(tf(b1)), fmt(tf(b2))))
    L.append("")
L += ["The view's latency columns are log2 histogram bucket bounds (e.g. 32 means 16..32 us). "
      "Storage read latency is recorded on the extension's miss path only (b runs); in a runs "
      "the sessions bypass the extension.", "",
      "## Memory use of the Postgres group per phase", "",
      "| model | phase | max usage MB | cache MB | rss MB | shmem MB | limit hits | peers at the end of the phase |",
      "|---|---|---|---|---|---|---|---|"]
for ph in phases:
    mm = ph["memory"]
    pe = "; ".join("%s %s, %s us, %s leases, %s MB, %s disconnects%s" % (
        p["peer"], p.get("state"), p["rtt_us"], p["leases"], p["used_mb"], p.get("disconnects"),
        (", last error: " + p["last_error"]) if p.get("last_error") else "")
                   for p in (ph["peers"] or []))
    L.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
        ph["model"], ph["phase"], mm.get("max_usage_mb"), mm.get("cache_mb"), mm.get("rss_mb"),
        mm.get("shmem_mb"), mm.get("failcnt"), pe or "-"))
L += ["", "## Goals (as measured)", "", "| goal | measured | verdict |", "|---|---|---|"]
for g in goals:
    L.append("| %s | %s | %s |" % (g["goal"], g["measured"],
                                   {True: "met", False: "missed", None: "see text"}[g["met"]]))
L += ["", "Plot: `%s.png` (TPS per configuration, log scale; latency CDF of select-only at the "
      "largest client count)." % os.path.basename(prefix)]
with open(prefix + ".md", "w") as f:
    f.write("\n".join(L) + "\n")

# PNG via gnuplot
gp = shutil.which("gnuplot")
if not gp:
    sys.stderr.write("lab_report: gnuplot not found, no PNG (apt-get install gnuplot-nox)\n")
    sys.exit(0)
tmp = tempfile.mkdtemp(prefix="rbb-plot.")
try:
    script = ["set terminal png size 1400,%d noenhanced" % (480 * len(models)),
              "set output '%s.png'" % prefix,
              "set multiplot layout %d,2 title 'remote_buffer lab %s (loaded 2-CPU VM; %s s runs)'" % (
                  len(models), ts, settings["seconds"])]
    maxc = max(r["clients"] for r in summary)
    for m in models:
        dat = os.path.join(tmp, "tps-%s.dat" % m)
        with open(dat, "w") as f:
            for r in summary:
                if r["model"] == m:
                    f.write("%s/%s %s\n" % (r["workload"], r["clients"], " ".join(
                        str(r.get(cfg, {}).get("tps") or "NaN") for cfg in CONFIGS)))
        script += ["set title 'TPS, storage model %s'" % m, "set style data histogram",
                   "set style histogram clustered gap 1", "set style fill solid 0.8 border -1",
                   "set logscale y", "set ylabel 'TPS (log)'", "set xtics rotate by -45 scale 0",
                   "set key inside top center horizontal", "set offsets 0, 0, graph 0.3, graph 0.1", "unset xlabel", "set yrange [*:*]", "unset logscale x",
                   "plot '%s' using 2:xtic(1) title '%s', '' using 3 title '%s', "
                   "'' using 4 title '%s', '' using 5 title '%s'" % (
                       dat, CNAME["a"], CNAME["b1"], CNAME["b2"], CNAME["c"])]
        plots = []
        for cfg in CONFIGS:
            rs = [r for r in runs if (r["model"], r["workload"], r["clients"], r["config"]) ==
                  (m, "select", maxc, cfg) and r["result"].get("latency_cdf_us")]
            if not rs:
                continue
            cdat = os.path.join(tmp, "cdf-%s-%s.dat" % (m, cfg))
            with open(cdat, "w") as f:
                for i, v in enumerate(rs[0]["result"]["latency_cdf_us"]):
                    f.write("%s %s\n" % (max(v, 1), i / 100))
            plots.append("'%s' using 1:2 with lines lw 2 title '%s'" % (cdat, CNAME[cfg]))
        script += ["unset style", "set style data lines", "set title 'latency CDF, select-only, "
                   "%d clients, model %s'" % (maxc, m), "unset logscale y", "set logscale x",
                   "set xlabel 'latency (us, log)'", "set ylabel 'fraction of transactions'",
                   "set xtics rotate by 0 scale 1", "set offsets 0, 0, 0, 0", "set yrange [0:1]", "set key inside bottom right vertical"]
        script.append("plot " + ", ".join(plots) if plots else "plot 2 notitle")
    script.append("unset multiplot")
    with open(os.path.join(tmp, "plot.gp"), "w") as f:
        f.write("\n".join(script) + "\n")
    p = subprocess.run([gp, os.path.join(tmp, "plot.gp")], capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write("lab_report: gnuplot failed:\n" + p.stderr)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
