#!/usr/bin/env python3
"""bench.py --plot: the chart holds one bar per tracer row, drawn on a log
scale from 1x, and socktap's targets where the CSV has both ratios; a file
that is not bench.py's CSV is refused with one line and a non-zero exit."""
import math
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench.py")
NS = "{http://www.w3.org/2000/svg}"
HEADER = ("workload,variant,median_s,min_s,max_s,ratio_to_untraced,"
          "socktap_maxrss_kib,cpu_s\n")
ROWS = [
    ("bulk-64k", "untraced", "1.00"),
    ("bulk-64k", "socktap -q -w", "2.00"),
    ("bulk-64k", "pcap bytes (dd)", "0.50"),
    ("bulk-64k", "strace", "4.00"),
    ("bulk-64k", "strace full", "64.00"),
    ("udp", "untraced", "1.00"),
    ("udp", "socktap -q -w", "8.00"),
    ("udp", "strace", "5.00"),
    ("attach-bulk", "untraced", "1.00"),
    ("attach-bulk", "socktap -p", "3.00"),
]


def fail(msg):
    print("test_chart: " + msg)
    sys.exit(1)


def plot(tmp, text):
    csv = os.path.join(tmp, "run.csv")
    svg = os.path.join(tmp, "run.svg")
    with open(csv, "w") as f:
        f.write(text)
    if os.path.exists(svg):
        os.unlink(svg)
    p = subprocess.run([sys.executable, BENCH, "--plot", csv, "--svg", svg],
                       capture_output=True, text=True)
    return p, svg


def main():
    with tempfile.TemporaryDirectory() as tmp:
        text = HEADER + "".join("%s,%s,1,1,1,%s,,0.5\n" % r for r in ROWS)
        p, svg = plot(tmp, text)
        if p.returncode != 0:
            fail("--plot failed: %s" % p.stderr)
        root = ET.parse(svg).getroot()
        bars = {(b.get("data-workload"), b.get("data-variant")): b
                for b in root.iter(NS + "rect") if b.get("class") == "bar"}
        want = {(w, v) for w, v, _ in ROWS
                if v not in ("untraced", "pcap bytes (dd)")}
        if set(bars) != want:
            fail("bars %s, want %s" % (sorted(bars), sorted(want)))
        # log scale from 1x: a bar's height is proportional to log(ratio)
        unit = float(bars[("bulk-64k", "socktap -q -w")].get("height"))
        bottom = None
        for (w, v), b in bars.items():
            ratio = float(b.get("data-ratio"))
            h = float(b.get("height"))
            if abs(h - unit * math.log2(ratio)) > 0.5:
                fail("%s %s: height %.1f for %gx, want %.1f" %
                     (w, v, h, ratio, unit * math.log2(ratio)))
            foot = float(b.get("y")) + h
            if bottom is not None and abs(foot - bottom) > 0.5:
                fail("%s %s does not stand on the 1x line" % (w, v))
            bottom = foot
        # targets: bulk 64 KiB 1.5 x strace, UDP 1 x strace; attached
        # bulk has no strace -p row, so no target
        marks = sorted(float(t.get("data-limit"))
                       for t in root.iter(NS + "line")
                       if t.get("class") == "target")
        if marks != [5.0, 6.0]:
            fail("target marks %s, want [5.0, 6.0]" % marks)

        for bad, why in ((HEADER.replace("cpu_s", "cpu"), "header differs"),
                         (HEADER + "udp,strace,1,1,1,fast,,0.5\n",
                          "is not a positive number"),
                         (HEADER + "udp,strace,1,1,1,0,,0.5\n",
                          "is not a positive number"),
                         (HEADER + "udp,strace,1\n", "fields"),
                         (HEADER, "no rows")):
            p, svg = plot(tmp, bad)
            lines = p.stderr.strip().splitlines()
            if p.returncode == 0 or len(lines) != 1 or \
                    not lines[0].startswith("bench: ") or why not in lines[0]:
                fail("bad CSV (%s): exit %d, stderr %r" %
                     (why, p.returncode, p.stderr))
            if os.path.exists(svg):
                fail("bad CSV (%s) left a chart" % why)
    print("test_chart: ok")


if __name__ == "__main__":
    main()
