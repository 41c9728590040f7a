#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Craft a TCP connection by hand and send stamps good and bad.

  craft.py IFNAME SRC DST PORT

Runs inside the sender's namespace.  SRC must be an address the namespace
does not own (so its kernel neither answers nor resets the connection) and
that the receiver can reach: the test gives the receiver a static neighbour
entry for it.  The SYN carries a valid stamp (Lamport 100, node 77); the
handshake completes; then four 8-byte data segments carry, in order:

  1. an option with our kind and ExID but 8 bytes long      (malformed)
  2. an option whose length runs past the TCP header        (malformed)
  3. a valid option with Lamport 2^47, far ahead            (rejected)
  4. a valid option with Lamport 200                        (merged)

then a FIN.  Prints "synack LAMPORT NODE" with the receiver's SYN-ACK stamp
as seen on the wire.  Every receive has a 5 second timeout.
"""
import socket
import struct
import sys

KIND, EXID = 253, 0x474E
SYN, ACK, FIN, PSH = 0x02, 0x10, 0x01, 0x08
ETH_P_IP = 0x0800
SPORT = 40404


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def stamp(lamport, node, length=12):
    body = struct.pack("!BBH", KIND, length, EXID)
    body += struct.pack("!Q", lamport)[2:] + struct.pack("!H", node)
    return body[:length] if length < 12 else body


def segment(src, dst, dport, seq, ack, flags, options=b"", payload=b"",
            doff_override=None):
    options += b"\1" * (-len(options) % 4)          # NOP padding
    doff = doff_override or (20 + len(options)) // 4
    tcp = struct.pack("!HHIIBBHHH", SPORT, dport, seq, ack, doff << 4, flags,
                      65535, 0, 0) + options + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(
        "!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64,
                     socket.IPPROTO_TCP, 0, socket.inet_aton(src),
                     socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp


def find_option(tcp_header):
    opts, i = tcp_header[20:], 0
    while i < len(opts):
        if opts[i] == 0:
            break
        if opts[i] == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2:
            break
        if opts[i] == KIND and opts[i + 1] == 12 and \
                struct.unpack("!H", opts[i + 2:i + 4])[0] == EXID:
            lamport = int.from_bytes(opts[i + 4:i + 10], "big")
            return lamport, struct.unpack("!H", opts[i + 10:i + 12])[0]
        i += opts[i + 1]
    return None


def wait_synack(rx, src, dst, dport):
    while True:
        pkt = rx.recv(2048)
        ihl = (pkt[0] & 0xF) * 4
        if pkt[9] != socket.IPPROTO_TCP or socket.inet_ntoa(pkt[12:16]) != dst:
            continue
        if socket.inet_ntoa(pkt[16:20]) != src:
            continue
        tcp = pkt[ihl:]
        sport, tport, seq = struct.unpack("!HHI", tcp[:8])
        if sport == dport and tport == SPORT and tcp[13] & (SYN | ACK) == SYN | ACK:
            return seq, find_option(tcp[:(tcp[12] >> 4) * 4])


def main(argv):
    ifname, src, dst, dport = argv[1], argv[2], argv[3], int(argv[4])
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    rx.bind((ifname, ETH_P_IP))
    rx.settimeout(5.0)
    tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    isn = 1000000
    mss = struct.pack("!BBH", 2, 4, 1400)
    tx.sendto(segment(src, dst, dport, isn, 0, SYN, mss + stamp(100, 77)), (dst, 0))
    peer_isn, opt = wait_synack(rx, src, dst, dport)
    if opt is None:
        raise SystemExit("the SYN-ACK carries no stamp")
    print("synack %d %d" % opt, flush=True)
    seq, ack = isn + 1, peer_isn + 1
    tx.sendto(segment(src, dst, dport, seq, ack, ACK), (dst, 0))
    data = b"payload!"
    bad = [
        stamp(5, 77, length=8),                       # wrong length
        stamp(5, 77)[:12],                            # cut short below
        stamp(1 << 47, 77),                           # too far ahead
        stamp(200, 77),                               # good
    ]
    for n, opt in enumerate(bad):
        if n == 1:
            # Option claims 20 bytes, the header holds only 12 of them.
            raw = bytes([KIND, 20]) + opt[2:]
            pkt = segment(src, dst, dport, seq, ack, ACK | PSH, raw, data)
        else:
            pkt = segment(src, dst, dport, seq, ack, ACK | PSH, opt, data)
        tx.sendto(pkt, (dst, 0))
        seq += len(data)
    tx.sendto(segment(src, dst, dport, seq, ack, FIN | ACK), (dst, 0))


if __name__ == "__main__":
    main(sys.argv)
