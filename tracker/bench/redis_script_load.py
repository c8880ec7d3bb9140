#!/usr/bin/env python3
"""Writes N announce-script calls (EVALSHA of tracker/src/redis_store/announce.lua) as
raw RESP on stdout, for `redis-cli --pipe`: T torrents of P IPv4 peers each (a quarter
seeders), each call a re-announce of a random peer asking for NUMWANT peers.

    redis_script_load.py SHA N T P [NUMWANT]
"""
import random
import struct
import sys


def cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def keys(t):
    p = "sl:{%040x}:" % t
    return [p + "o4", p + "s4", p + "l4", p + "h4", p + "o6", p + "s6", p + "l6", p + "n"]


def main():
    sha, n, torrents, peers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    numwant = sys.argv[5] if len(sys.argv) > 5 else "50"
    random.seed(1)
    out = sys.stdout.buffer
    batch = []
    for _ in range(n):
        t, i = random.randrange(torrents), random.randrange(peers)
        member = struct.pack(">IH", 0x0A000000 + t * 1000 + i, 6881)
        role = "2" if i < peers // 4 else "3"
        # ARGV as the tracker sends them (redis_store/mod.rs): 30 min timeout, caps
        # high enough never to bind, lifetime twice the timeout, IPv4.
        batch.append(cmd("EVALSHA", sha, "8", *keys(t), member, role, "0", numwant, "1800000",
                         "1000000", "65536", "8", "3600000", "4", "64", "0", "4"))
        if len(batch) >= 1000:
            out.write(b"".join(batch))
            batch = []
    out.write(b"".join(batch))


if __name__ == "__main__":
    main()
