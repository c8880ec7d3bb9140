"""Mode 2 of "Several tracker instances": the shipped deploy/haproxy/sharded.cfg in front
of three in-memory trackers. Every announce for a torrent reaches the same instance
whatever percent-encoding the client uses, the torrents spread over all instances, a
multi-hash scrape is answered by the first hash's instance, and when an instance fails
its health check only its torrents move (and refill on the next announces).
"""

import os
import tempfile
import unittest
import urllib.parse
import urllib.request

from harness import (
    Procs, bdecode, compact_peers, deploy_path, free_ports, get, port_open, read, scrape_target,
    substitute, tracker_addrs, wait_for, write,
)
from stack import unprivileged_haproxy

INSTANCES = 3
TORRENTS = 30


def minimal_pct(b):
    """Percent-encoding as libtorrent does it: unreserved bytes left as they are."""
    return urllib.parse.quote_from_bytes(b, safe="-._~")


def full_pct(b):
    """Every byte encoded, in upper case, as some clients do."""
    return "".join(f"%{x:02X}" for x in b)


def announce(port, info_hash, peer_port, encode, event="started"):
    return get(
        f"http://127.0.0.1:{port}/announce?info_hash={encode(info_hash)}"
        f"&peer_id={full_pct(b'-SHARD0-' + os.urandom(6).hex()[:12].encode())}"
        f"&port={peer_port}&uploaded=0&downloaded=0&left=100&compact=1&event={event}"
    )


def sharded_cfg(port, servers):
    """deploy/haproxy/sharded.cfg on 127.0.0.1:port, unprivileged, with `servers`."""
    t = read(deploy_path("haproxy", "sharded.cfg"))
    t = substitute(t, r"^(\s*)bind :80$", rf"\1bind 127.0.0.1:{port}", 1)
    t = substitute(t, r"^\s*bind :::80 .*\n", "", 1)
    t = unprivileged_haproxy(t)
    for i, addr in enumerate(servers, 1):
        t = substitute(t, rf"^(\s*)server tracker{i} 127\.0\.0\.1:697{i}$", rf"\1server tracker{i} {addr}", 1)
    return t


class Sharding(unittest.TestCase):
    tracker = None  # set by run.py

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="seedline-sharding-")
        cls.procs = Procs(cls.dir)
        try:
            cls.public = []
            for i in range(1, INSTANCES + 1):
                cls.procs.start(f"shard{i}", [
                    cls.tracker, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                    "--trusted-proxy", "127.0.0.1/32", "--log-format", "json",
                ])
                cls.public.append(tracker_addrs(cls.procs, f"shard{i}")[0])
            (cls.port,) = free_ports(1)
            cfg = os.path.join(cls.dir, "sharded.cfg")
            write(cfg, sharded_cfg(cls.port, cls.public))
            cls.procs.start("haproxy-sharded", ["haproxy", "-db", "-f", cfg])
            wait_for("HAProxy (sharded) to listen", lambda: cls.procs.alive("haproxy-sharded")
                     and port_open(cls.port))
        except BaseException:
            cls.procs.stop_all()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.procs.stop_all()

    def holders(self, info_hash, instances=None):
        """Indexes of the instances whose scrape knows `info_hash`, and its counts there."""
        out = {}
        for i, addr in enumerate(self.public):
            if instances is not None and i not in instances:
                continue
            # Straight to the instance, as the proxy would (it trusts 127.0.0.1 as one).
            req = urllib.request.Request(f"http://{addr}{scrape_target(info_hash)}",
                                         headers={"X-Forwarded-For": "127.0.0.9"})
            with urllib.request.urlopen(req, timeout=10) as r:
                status, body = r.status, r.read()
            self.assertEqual(status, 200, body)
            files = bdecode(body)[b"files"]
            if info_hash in files:
                out[i] = files[info_hash]
        return out

    def test_torrents_are_whole_on_one_instance_and_spread_over_all(self):
        hashes = [b"/?%&+# \x00\xff" + os.urandom(11) for _ in range(TORRENTS)]
        placed = {}
        for n, h in enumerate(hashes):
            # Two clients of one torrent, spelling its hash two ways.
            for port, encode in ((7000 + n, minimal_pct), (8000 + n, full_pct)):
                status, body = announce(self.port, h, port, encode)
                self.assertEqual(status, 200, body)
                self.assertNotIn(b"failure reason", body)
            where = self.holders(h)
            self.assertEqual(len(where), 1, f"torrent {n} on {sorted(where)}")
            (i, counts), = where.items()
            self.assertEqual(counts[b"incomplete"], 2, "both spellings in one swarm")
            placed[h] = i
        self.assertEqual(set(placed.values()), set(range(INSTANCES)), "every instance used")

        # A scrape of several hashes goes to the first one's instance, which answers for
        # what it holds.
        a = hashes[0]
        b = next(h for h in hashes if placed[h] != placed[a])
        status, body = get(f"http://127.0.0.1:{self.port}{scrape_target(a, b)}")
        self.assertEqual(status, 200, body)
        self.assertEqual(set(bdecode(body)[b"files"]), {a})

        # Requests that cannot be placed are refused at the proxy.
        status, _ = get(f"http://127.0.0.1:{self.port}/scrape")
        self.assertEqual(status, 400)
        self.assertEqual(get(f"http://127.0.0.1:{self.port}/health")[0], 200)

        # An instance leaves: only its torrents move, and their next announces refill
        # them elsewhere; the others stay where they were.
        gone = placed[hashes[0]]
        self.procs.stop(f"shard{gone + 1}")

        def moved():
            status, body = announce(self.port, hashes[0], 7000, minimal_pct, event="")
            return status == 200 and b"failure reason" not in body

        wait_for("HAProxy to take the stopped instance out of the ring", moved, timeout=30)
        alive = [i for i in range(INSTANCES) if i != gone]
        for n, h in enumerate(hashes):
            status, body = announce(self.port, h, 7000 + n, minimal_pct, event="")
            self.assertEqual(status, 200, body)
            where = self.holders(h, alive)
            self.assertEqual(len(where), 1, f"torrent {n} on {sorted(where)}")
            now = next(iter(where))
            if placed[h] != gone:
                self.assertEqual(now, placed[h], f"torrent {n} moved though its instance stayed")
            peers = compact_peers(bdecode(body)[b"peers"])
            self.assertIsInstance(peers, list)


if __name__ == "__main__":
    unittest.main()
