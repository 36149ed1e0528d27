#!/usr/bin/env python3
"""Turns a loopback capture into fuzz seeds (the harness input format).

usage: mkseeds.py CAPTURE.pcap OUTDIR PORT=DECODER...

Each TCP connection (and each UDP client/server pair) whose server port is
listed becomes OUTDIR/DECODER/NAME.bin.  Format (see harness.c): one config
byte (bit0 datagrams, bit1 B is the client, bits 2-7 chunking seed), then
segments: flags byte (bit0 direction, bit1 gap, bit2 FIN after, bit3
truncated datagram), 2-byte big-endian length, the bytes.  Direction 0 is
the client (side A, which connected).  Needs tshark.
"""
import os
import subprocess
import sys


def fields(pcap, filt, flds):
    cmd = ['tshark', '-r', pcap, '-Y', filt, '-T', 'fields']
    for f in flds:
        cmd += ['-e', f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        yield line.split('\t')


def seg(direction, data, fin=False):
    out = bytearray()
    while True:
        part, data = data[:65535], data[65535:]
        flags = direction | (4 if fin and not data else 0)
        out += bytes([flags]) + len(part).to_bytes(2, 'big') + part
        if not data:
            return bytes(out)


def main():
    pcap, outdir = sys.argv[1], sys.argv[2]
    ports = {}
    for a in sys.argv[3:]:
        p, d = a.split('=')
        ports[int(p)] = d
    flows = {}
    for stream, sp, dp, fin, pl in fields(
            pcap, 'tcp', ['tcp.stream', 'tcp.srcport', 'tcp.dstport',
                          'tcp.flags.fin', 'tcp.payload']):
        sp, dp = int(sp), int(dp)
        server = dp if dp in ports else sp if sp in ports else None
        if server is None:
            continue
        key = ('tcp', int(stream), server)
        f = flows.setdefault(key, [])
        direction = 0 if dp == server else 1
        data = bytes.fromhex(pl.replace(':', '')) if pl else b''
        fin = fin in ('1', 'True')
        if data or fin:
            f.append((direction, data, fin))
    for sp, dp, pl in fields(pcap, 'udp', ['udp.srcport', 'udp.dstport',
                                           'udp.payload']):
        sp, dp = int(sp), int(dp)
        server = dp if dp in ports else sp if sp in ports else None
        if server is None:
            continue
        client = sp if dp == server else dp
        key = ('udp', client, server)
        direction = 0 if dp == server else 1
        flows.setdefault(key, []).append(
            (direction, bytes.fromhex(pl.replace(':', '')), False))
    count = {}
    for key, segs in sorted(flows.items()):
        if not any(d for _, d, _ in segs):
            continue
        dec = ports[key[2]]
        udp = key[0] == 'udp'
        body = bytearray([1 if udp else 0])
        for direction, data, fin in segs:
            if udp:
                body += bytes([direction]) + len(data).to_bytes(2, 'big') + data
            elif data:
                body += seg(direction, data, fin)
            else:
                body += bytes([direction | 4, 0, 0])
        n = count[dec] = count.get(dec, 0) + 1
        os.makedirs(os.path.join(outdir, dec), exist_ok=True)
        name = os.path.join(outdir, dec, '%s-%s-%02d.bin' % (dec, key[0], n))
        with open(name, 'wb') as fh:
            fh.write(body)
        print(name, len(body))


if __name__ == '__main__':
    main()
