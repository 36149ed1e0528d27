#!/usr/bin/env python3
"""socktap's benchmark: each workload untraced, under socktap and under
strace, alternating round by round, medians and ranges, ratios to the
untraced run of the same rounds, the CPU time of each run's process tree
(tracer, program and peer: on few cores, what bounds the wall time from
below), socktap's peak RSS, and the performance targets met or not.  A
benchmark, not a test: it never fails on timing.

    tests/bench/bench.py [--build DIR] [--rounds N] [--quick] [--csv FILE]
                         [--svg FILE] [--memory as-is|warm|cold]
    tests/bench/bench.py --plot CSV [--svg FILE]

The table goes to --csv (bench.csv) and as a bar chart to --svg (the CSV's
name with .svg): each workload's ratios on a log scale, with socktap's
target marked.  --plot draws the chart of an earlier run's CSV, so runs
of different versions can be set side by side.

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
    ap.add_argument("--svg", help="the chart (default: the CSV's name, .svg)")
    ap.add_argument("--plot", metavar="CSV",
                    help="only draw the chart of an earlier run's CSV")
    ap.add_argument("--only", help="comma-separated workload names")
    ap.add_argument("--memory", choices=("as-is", "warm", "cold"),
                    default="as-is",
                    help="the state of the memory files are written to")
    a = ap.parse_args()
    svg = a.svg or os.path.splitext(a.plot or a.csv)[0] + ".svg"
    if a.plot:
        try:
            rows = read_csv(a.plot)
            write_svg(rows, svg, os.path.basename(a.plot))
        except (OSError, ValueError) as e:
            sys.exit("bench: %s" % e)
        print("written: %s" % svg)
        return
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
        w.writerow(CSV_HEADER)
        w.writerows(rows)
    write_svg(rows, svg, "%s, %d rounds, memory %s" %
              (os.uname().machine, a.rounds, a.memory))
    print_targets(rows)
    print("\nwritten: %s and %s (%s, %d rounds, memory %s)" %
          (a.csv, svg, os.uname().machine, a.rounds, a.memory))


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
    limits = target_limits(rows)
    lines = []
    for wl, mine, ref, factor in TARGETS:
        if (wl, mine) not in limits:
            continue
        limit = limits[(wl, mine)]
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


CSV_HEADER = ["workload", "variant", "median_s", "min_s", "max_s",
              "ratio_to_untraced", "socktap_maxrss_kib", "cpu_s"]


def read_csv(path):
    """The rows of a CSV this script wrote; ValueError if it is not one."""
    with open(path, newline="") as f:
        table = list(csv.reader(f))
    if not table or table[0] != CSV_HEADER:
        raise ValueError("%s: not a bench.py CSV (its header differs)" % path)
    rows = table[1:]
    for i, r in enumerate(rows, 2):
        if len(r) != len(CSV_HEADER):
            raise ValueError("%s:%d: %d fields, not %d" %
                             (path, i, len(r), len(CSV_HEADER)))
        try:
            if float(r[5]) <= 0:
                raise ValueError
        except ValueError:
            raise ValueError("%s:%d: ratio %r is not a positive number" %
                             (path, i, r[5])) from None
    if not rows:
        raise ValueError("%s: no rows" % path)
    return rows


def target_limits(rows):
    """{(workload, socktap's variant): its limit} for the targets whose
    two ratios the rows hold."""
    ratio = {(r[0], r[1]): float(r[5]) for r in rows}
    return {(wl, mine): factor * ratio[(wl, ref)]
            for wl, mine, ref, factor in TARGETS
            if (wl, mine) in ratio and (wl, ref) in ratio}


def svg_escape(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&quot;"))


def write_svg(rows, path, subtitle):
    """A grouped bar chart of the ratios to untraced, one group per
    workload, on a log scale (strace with full data is 10-100 times the
    others), each bar drawn from 1x (the untraced run); a red line over
    socktap's bar marks its target."""
    import math
    # the tracers only: not the untraced run (1x), nor dd's reference
    bars = [r for r in rows if r[1] not in ("untraced", "pcap bytes (dd)")]
    variants_ = []
    for r in bars:
        if r[1] not in variants_:
            variants_.append(r[1])
    workloads = []
    for r in bars:
        if r[0] not in workloads:
            workloads.append(r[0])
    limits = target_limits(rows)
    values = [float(r[5]) for r in bars] + list(limits.values())
    lo = 10 ** math.floor(math.log10(min(values + [1.0])))
    hi = 10 ** math.ceil(math.log10(max(values + [2.0])))
    bw, gap, left, top, height = 14, 18, 60, 50, 300
    per = {wl: [r for r in bars if r[0] == wl] for wl in workloads}
    width = left + sum(len(per[wl]) * bw + gap for wl in workloads) + 180
    # socktap in blues, strace in warm colours, references in grey
    blues = ["#1f5fa8", "#6fa8dc", "#0b3d6e", "#9fc5e8"]
    warms = ["#e69138", "#a61c00", "#7f6000", "#f6b26b"]
    colour = {}
    for v in variants_:
        family = (blues if v.startswith("socktap") else
                  warms if v.startswith("strace") else None)
        if family is None:
            colour[v] = "#b7b7b7"
        else:
            used = sum(1 for u in colour if u.split()[0] == v.split()[0])
            colour[v] = family[used % len(family)]

    def y(v):
        return top + height * (1 - math.log(v / lo) / math.log(hi / lo))

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="11">' % (width, top + height + 60),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="18" font-size="14">socktap benchmark: wall time '
           'as a multiple of the untraced run (median)</text>' % left,
           '<text x="%d" y="34" fill="#555">%s</text>' %
           (left, svg_escape(subtitle))]
    decade = lo
    while decade <= hi * 1.0001:
        for m in (1, 2, 5):
            v = decade * m
            if lo <= v <= hi * 1.0001:
                out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" '
                           'stroke="%s"/>' % (left, width - 180, y(v), y(v),
                                              "#555" if v == 1 else "#ddd"))
                out.append('<text x="%d" y="%.1f" text-anchor="end">%g×</text>'
                           % (left - 4, y(v) + 4, v))
        decade *= 10
    x = left + gap / 2
    for wl in workloads:
        x0 = x
        for r in per[wl]:
            v = float(r[5])
            out.append('<rect class="bar" x="%.1f" y="%.1f" width="%d" '
                       'height="%.1f" fill="%s" data-workload="%s" '
                       'data-variant="%s" data-ratio="%s"><title>%s, %s: '
                       '%s×</title></rect>' %
                       (x, min(y(v), y(1.0)), bw - 2, abs(y(1.0) - y(v)),
                        colour[r[1]],
                        svg_escape(wl), svg_escape(r[1]), r[5],
                        svg_escape(wl), svg_escape(r[1]), r[5]))
            limit = limits.get((wl, r[1]))
            if limit is not None:
                out.append('<line class="target" x1="%.1f" x2="%.1f" '
                           'y1="%.1f" y2="%.1f" stroke="red" '
                           'stroke-width="2" data-limit="%.2f"/>' %
                           (x - 3, x + bw + 1, y(limit), y(limit), limit))
            x += bw
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' %
                   ((x0 + x) / 2, top + height + 16, svg_escape(wl)))
        x += gap
    lx = width - 170
    for i, v in enumerate(variants_):
        out.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/>'
                   '<text x="%d" y="%d">%s</text>' %
                   (lx, top + i * 16, colour[v], lx + 14, top + i * 16 + 9,
                    svg_escape(v)))
    out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="red" '
               'stroke-width="2"/><text x="%d" y="%d">socktap\'s target</text>'
               % (lx, lx + 10, top + len(variants_) * 16 + 5,
                  top + len(variants_) * 16 + 5, lx + 14,
                  top + len(variants_) * 16 + 9))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def print_rows(rows):
    for r in rows:
        print("%-12s %-16s median %8ss  [%s .. %s]  x%-6s cpu %6ss %s" %
              (r[0], r[1], r[2], r[3], r[4], r[5], r[7],
               ("rss %s KiB" % r[6]) if r[6] else ""))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
