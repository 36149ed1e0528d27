#!/usr/bin/env python3
"""socktap's benchmark: each workload untraced, under socktap and under
strace, alternating round by round, medians and ranges, ratios to the
untraced run of the same rounds, the CPU time of each run's process tree
(tracer, program and peer: on few cores, what bounds the wall time from
below), socktap's peak RSS, and the performance targets met or not.  A
benchmark, not a test: it never fails on timing.

    tests/bench/bench.py [--build DIR] [--rounds N] [--quick] [--csv FILE]
                         [--memory as-is|warm|cold]

--memory: on a VM that hands freed memory back to its host (free page
reporting, seen here), a file written into memory freed a second or two
earlier costs 3 to 5 times what it costs in memory freed just now: the
host faults every page in again.  "as-is" leaves it to chance (and to
the order of the variants); "cold" waits 3 s before every run that
writes a file, "warm" writes and deletes a file as big first.  Either
puts every run that writes a capture, and the dd row, on the same
footing.
"""
import argparse
import csv
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))

WORKLOADS = [
    # name, st_bench args (full), args (quick)
    ("bulk-64k", ["bulk", "536870912", "65536"], ["bulk", "67108864", "65536"]),
    ("bulk-1k", ["bulk", "33554432", "1024"], ["bulk", "4194304", "1024"]),
    ("pingpong", ["pingpong", "30000", "64"], ["pingpong", "3000", "64"]),
    ("udp", ["udp", "30000", "64"], ["udp", "3000", "64"]),
    ("files", ["files", "100000", "500"], ["files", "20000", "500"]),
    ("threads", ["threads", "8", "10000"], ["threads", "8", "1000"]),
]


def variants(socktap, tmp):
    """name -> function(cmd) returning the argv to run."""
    pcap = os.path.join(tmp, "out.pcap")
    flows = os.path.join(tmp, "flows")
    return [
        ("untraced", lambda c: c),
        ("socktap -q -w", lambda c: [socktap, "-q", "--no-summary", "-w",
                                      pcap, "--stats", "--"] + c),
        # the capture's own cost: the same bytes written by dd to the same
        # directory, alone (what the page cache charges, tracer aside)
        ("pcap bytes (dd)", lambda c: ["dd", "if=/dev/zero",
                                       "of=" + os.path.join(tmp, "dd.bin"),
                                       "bs=1M", "count=%d" % max(
                                           1, PCAP_MIB.get(tuple(c), 1))]),
        ("socktap --flows", lambda c: [socktap, "-q", "--no-summary",
                                        "--flows", flows, "--stats",
                                        "--"] + c),
        ("strace", lambda c: ["strace", "-f", "-qq", "-o", "/dev/null",
                              "-e", "trace=network,read,write"] + c),
        ("strace seccomp", lambda c: ["strace", "-f", "-qq", "--seccomp-bpf",
                                      "-o", "/dev/null", "-e",
                                      "trace=network,read,write"] + c),
        ("strace full", lambda c: ["strace", "-f", "-qq", "--seccomp-bpf",
                                   "-o", "/dev/null", "-e",
                                   "trace=network,read,write", "-e",
                                   "read=all", "-e", "write=all"] + c),
    ]


def remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# workload argv -> size of its last capture, in MiB (for the dd row)
PCAP_MIB = {}


MEMORY = "as-is"
SETTLE_MIB = 600    # warm: as much as the largest capture


def writes_files(argv):
    return any(a in argv for a in ("-w", "--flows")) or argv[0] == "dd"


def settle(tmp):
    """Puts the memory a run's files will land in in the state --memory
    asks for (see the module's docstring)."""
    if MEMORY == "cold":
        time.sleep(3)
    elif MEMORY == "warm":
        warm = os.path.join(tmp, "warm.bin")
        subprocess.run(["dd", "if=/dev/zero", "of=" + warm, "bs=1M",
                        "count=%d" % SETTLE_MIB], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        remove(warm)


def children_cpu():
    """CPU seconds (user + system) of every child reaped so far, with the
    descendants each reaped in turn: the difference around a run is the
    CPU its whole process tree used, tracer, program and peer."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(argv, tmp):
    """Wall time, CPU time of the process tree, and the tracer's peak RSS
    (KiB, from --stats) of one run."""
    # every output starts fresh, as a new capture would: deleting the last
    # run's file (ext4 with discard here) is not part of this run's cost
    shutil.rmtree(os.path.join(tmp, "flows"), ignore_errors=True)
    for f in ("out.pcap", "dd.bin"):
        remove(os.path.join(tmp, f))
    if writes_files(argv):
        settle(tmp)
    c0 = children_cpu()
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, text=True)
    wall = time.perf_counter() - t0
    cpu = children_cpu() - c0
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (argv[0], p.returncode,
                                                   p.stderr[-500:]))
    rss = None
    for line in p.stderr.splitlines():
        if line.startswith("socktap: stats: "):
            for kv in line[len("socktap: stats: "):].split():
                k, _, v = kv.partition("=")
                if k == "maxrss_kib":
                    rss = int(v)
    pcap = os.path.join(tmp, "out.pcap")
    if pcap in argv and "--" in argv:
        PCAP_MIB[tuple(argv[argv.index("--") + 1:])] = (
            os.path.getsize(pcap) + (1 << 20) - 1) >> 20
    return wall, cpu, rss


def attach_run(socktap, bench, args, tracer, tmp):
    """The bulk workload attached to with -p (or strace -p): the
    program's wall time from the go, and the CPU time of the program,
    its peer and the tracer (attaching and detaching included)."""
    remove(os.path.join(tmp, "a.pcap"))
    if tracer == "socktap":
        settle(tmp)
    c0 = children_cpu()
    proc = subprocess.Popen([bench, "wait-bulk"] + args[1:],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    pid = proc.stdout.readline().strip()
    tr = None
    if tracer == "socktap":
        tr = subprocess.Popen([socktap, "-q", "--no-summary", "-w",
                               os.path.join(tmp, "a.pcap"), "-p", pid],
                              stderr=subprocess.DEVNULL)
    elif tracer == "strace":
        tr = subprocess.Popen(["strace", "-f", "-qq", "-o", "/dev/null", "-e",
                               "trace=network,read,write", "-p", pid],
                              stderr=subprocess.DEVNULL)
    time.sleep(0.3)        # let the tracer seize every thread
    t0 = time.perf_counter()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    proc.wait()
    wall = time.perf_counter() - t0
    if tr:
        tr.wait(timeout=30)
    return wall, children_cpu() - c0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true",
                    help="smaller workloads, for a smoke run")
    ap.add_argument("--csv", default="bench.csv")
    ap.add_argument("--only", help="comma-separated workload names")
    ap.add_argument("--memory", choices=("as-is", "warm", "cold"),
                    default="as-is",
                    help="the state of the memory files are written to")
    a = ap.parse_args()
    global MEMORY
    MEMORY = a.memory
    socktap = os.path.join(a.build, "socktap")
    bench = os.path.join(a.build, "tests", "bench", "st_bench")
    for f in (socktap, bench):
        if not os.access(f, os.X_OK):
            sys.exit("bench: %s missing: build first" % f)
    tmp = tempfile.mkdtemp(prefix="socktap-bench-")
    rows = []
    try:
        wls = [w for w in WORKLOADS
               if not a.only or w[0] in a.only.split(",")]
        for name, full, quick in wls:
            cmd = [bench] + (quick if a.quick else full)
            vs = variants(socktap, tmp)
            times = {v[0]: [] for v in vs}
            cpus = {v[0]: [] for v in vs}
            rss = {v[0]: [] for v in vs}
            for r in range(a.rounds):
                for vname, mk in alternate(vs, r):
                    w, c, m = run(mk(cmd), tmp)
                    times[vname].append(w)
                    cpus[vname].append(c)
                    if m:
                        rss[vname].append(m)
            rows += summarize(name, times, cpus, rss)
            print_rows(rows[-len(vs):])
        if not a.only or "attach" in a.only.split(","):
            args = (WORKLOADS[0][2] if a.quick else WORKLOADS[0][1])
            tracers = [("untraced", None), ("socktap -p", "socktap"),
                       ("strace -p", "strace")]
            times = {v[0]: [] for v in tracers}
            cpus = {v[0]: [] for v in tracers}
            for r in range(a.rounds):
                for vname, tracer in alternate(tracers, r):
                    w, c = attach_run(socktap, bench, args, tracer, tmp)
                    times[vname].append(w)
                    cpus[vname].append(c)
            rows += summarize("attach-bulk", times, cpus, {})
            print_rows(rows[-len(tracers):])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(a.csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["workload", "variant", "median_s", "min_s", "max_s",
                    "ratio_to_untraced", "socktap_maxrss_kib", "cpu_s"])
        w.writerows(rows)
    print_targets(rows)
    print("\nwritten: %s (%s, %d rounds, memory %s)" %
          (a.csv, os.uname().machine, a.rounds, a.memory))


def alternate(variants_, r):
    """Round r's order: reversed every other round, so that drift in the
    machine's speed hits every variant alike."""
    return variants_ if r % 2 == 0 else list(reversed(variants_))


def summarize(name, times, cpus, rss):
    """One row per variant: wall-time median and range, its ratio to the
    untraced median, peak RSS, median CPU time of the process tree."""
    base = statistics.median(times["untraced"])
    rows = []
    for vname, ts in times.items():
        med = statistics.median(ts)
        rows.append([name, vname, "%.4f" % med, "%.4f" % min(ts),
                     "%.4f" % max(ts), "%.2f" % (med / base),
                     str(max(rss[vname])) if rss.get(vname) else "",
                     "%.3f" % statistics.median(cpus[vname])])
    return rows


# The performance targets: (workload, socktap's variant, the reference,
# the factor the reference is allowed times).
TARGETS = [
    ("bulk-64k", "socktap -q -w", "strace", 1.5),
    ("bulk-1k", "socktap -q -w", "strace", 1.0),
    ("pingpong", "socktap -q -w", "strace", 1.0),
    ("udp", "socktap -q -w", "strace", 1.0),
    ("threads", "socktap -q -w", "strace", 1.0),
    ("files", "socktap -q -w", "strace seccomp", 0.25),
    ("attach-bulk", "socktap -p", "strace -p", 1.0),
]
RSS_LIMIT_KIB = 32 << 10


def print_targets(rows):
    """Each target this run measured, its two ratios and whether it was
    met (information, not a verdict on the build: timing never fails)."""
    ratio = {(r[0], r[1]): float(r[5]) for r in rows}
    lines = []
    for wl, mine, ref, factor in TARGETS:
        if (wl, mine) not in ratio or (wl, ref) not in ratio:
            continue
        limit = factor * ratio[(wl, ref)]
        lines.append("%-12s %s x%.2f, limit x%.2f (%s%s): %s" % (
            wl, mine, ratio[(wl, mine)], limit,
            "" if factor == 1.0 else "%g x " % factor, ref,
            "met" if ratio[(wl, mine)] <= limit else "NOT met"))
    rss = [int(r[6]) for r in rows if r[6]]
    if rss:
        lines.append("peak RSS     %d KiB, limit %d KiB: %s" % (
            max(rss), RSS_LIMIT_KIB,
            "met" if max(rss) < RSS_LIMIT_KIB else "NOT met"))
    if lines:
        print("\ntargets (median ratios to untraced, this run):")
        for line in lines:
            print("  " + line)


def print_rows(rows):
    for r in rows:
        print("%-12s %-16s median %8ss  [%s .. %s]  x%-6s cpu %6ss %s" %
              (r[0], r[1], r[2], r[3], r[4], r[5], r[7],
               ("rss %s KiB" % r[6]) if r[6] else ""))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
