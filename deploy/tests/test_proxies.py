"""End to end through the shipped nginx and HAProxy configurations: the tracker records
the client address the proxy saw (never one the client wrote), binary info hashes pass
unchanged, only /announce, /scrape and /health get through, upstream connections are
kept alive, and clients are rate-limited one by one.

Clients connect from several loopback addresses (127.0.0.x) so that the address the
tracker records can be told apart from the proxy's own 127.0.0.1.
"""

import os
import unittest

from harness import (
    Client, announce_target, bdecode, compact_peers, external_ip, parse_metrics, scrape_target,
)

SPOOF = [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "6.6.6.7, 127.0.0.1"),
         ("X-Real-IP", "7.7.7.7")]


def new_hash():
    # Bytes that break naive URL handling: '/', '?', '%', '&', '+', '#', space, NUL, 0xff.
    return b"/?%&+# \x00\xff" + os.urandom(11)


class ProxyTests:
    """Mixed into one TestCase per proxy; `stack` is set by run.py."""

    stack = None
    name = None

    def ports(self):
        raise NotImplementedError

    def client(self, scheme="https", source="127.0.0.1"):
        https, http = self.ports()
        c = Client(scheme, https if scheme == "https" else http, source=source)
        self.addCleanup(c.close)
        return c

    def announce(self, client, info_hash, port, headers=(), left=1000):
        status, _, body = client.request(
            announce_target(info_hash, os.urandom(20), port, left=left), headers)
        self.assertEqual(status, 200, body)
        reply = bdecode(body)
        self.assertNotIn(b"failure reason", reply, reply)
        return reply

    def tracker_metric(self, key):
        return parse_metrics(self.stack.metrics_text()).get(key, 0.0)

    # ---- client address -------------------------------------------------------------

    def test_spoofed_headers_do_not_win_over_https(self):
        r = self.announce(self.client("https"), new_hash(), 6881, SPOOF)
        self.assertEqual(external_ip(r), "127.0.0.1")

    def test_spoofed_headers_do_not_win_over_http(self):
        r = self.announce(self.client("http"), new_hash(), 6881, SPOOF)
        self.assertEqual(external_ip(r), "127.0.0.1")

    def test_recorded_address_is_the_one_the_proxy_saw(self):
        ih = new_hash()
        first = self.announce(self.client("https", "127.0.0.2"), ih, 51413, SPOOF)
        self.assertEqual(external_ip(first), "127.0.0.2")
        self.assertEqual(compact_peers(first[b"peers"]), [])
        second = self.announce(self.client("http", "127.0.0.3"), ih, 6882, SPOOF, left=0)
        self.assertEqual(external_ip(second), "127.0.0.3")
        self.assertEqual(compact_peers(second[b"peers"]), ["127.0.0.2:51413"])

    def test_ip_parameter_through_the_proxy_is_ignored(self):
        # Issue 13, finding 3: `ip=` must not let a client behind the proxy announce
        # another address (a victim, or the origin's).
        ih = new_hash()
        spoof = announce_target(ih, os.urandom(20), 51413) + "&ip=192.0.2.99"
        status, _, body = self.client("https", "127.0.0.10").request(spoof)
        self.assertEqual(status, 200, body)
        self.assertNotIn(b"failure reason", bdecode(body))
        second = self.announce(self.client("http", "127.0.0.11"), ih, 6882, left=0)
        self.assertEqual(compact_peers(second[b"peers"]), ["127.0.0.10:51413"])

    def test_binary_info_hash_passes_unchanged(self):
        ih = new_hash()
        c = self.client("https", "127.0.0.4")
        self.announce(c, ih, 6881)
        status, _, body = c.request(scrape_target(ih))
        self.assertEqual(status, 200, body)
        files = bdecode(body)[b"files"]
        self.assertEqual(list(files), [ih])
        self.assertEqual(files[ih][b"incomplete"], 1)

    # ---- what is not proxied --------------------------------------------------------

    def test_only_tracker_paths_are_proxied(self):
        # The tracker would answer 404 to these too: count what reaches it.
        key = 'seedline_tracker_requests_total{endpoint="other",outcome="rejected",protocol="http"}'
        before = self.tracker_metric(key)
        c = self.client("https", "127.0.0.5")
        admin = self.stack.admin
        targets = [
            "/metrics", "/", "/admin", "/api/v1/torrents", "/api/stats", "/api/torrents", "/announce/", "/announce.php",
            "/ANNOUNCE", "//metrics", "/%6detrics", "/scrape/../metrics", "/health/x",
            f"http://{admin}/metrics", "/metrics?x=/announce",
        ]
        for t in targets:
            with self.subTest(target=t):
                # An absolute-form target comes with its own authority as Host.
                host = admin if t.startswith("http:") else None
                status, _, body = c.request(t, host=host)
                self.assertEqual(status, 404, body)
                self.assertNotIn(b"seedline_tracker_", body)
        status, _, body = c.request("/announce", method="POST")
        self.assertIn(status, (403, 405), body)
        self.assertEqual(self.tracker_metric(key), before, "the proxy passed some on to the tracker")

    def test_health_is_proxied(self):
        for scheme in ("https", "http"):
            status, _, body = self.client(scheme, "127.0.0.6").request("/health")
            self.assertEqual((status, body), (200, b"ok\n"))

    # ---- upstream keep-alive and rate limits ----------------------------------------

    def test_upstream_connections_are_kept_alive(self):
        before = self.tracker_metric("seedline_tracker_connections_total")
        requests = 0
        for _ in range(10):
            c = self.client("https", "127.0.0.7")
            for _ in range(2):
                self.assertEqual(c.request("/health")[0], 200)
                requests += 1
            c.close()
        opened = self.tracker_metric("seedline_tracker_connections_total") - before
        self.assertLessEqual(opened, requests // 4,
                             f"{requests} requests opened {opened} tracker connections")

    def test_rate_limit_is_per_client(self):
        c = self.client("https", "127.0.0.8")
        statuses = []
        for _ in range(400):
            status, _, _ = c.request("/health")
            statuses.append(status)
            if status == 429:
                break
        self.assertEqual(set(statuses[:100]), {200}, "the first 100 requests are within the burst")
        self.assertEqual(statuses[-1], 429, f"no 429 after {len(statuses)} requests")
        # Another client is not affected.
        self.assertEqual(self.client("https", "127.0.0.9").request("/health")[0], 200)


class Nginx(ProxyTests, unittest.TestCase):
    def ports(self):
        return self.stack.nginx_https, self.stack.nginx_http


class HAProxy(ProxyTests, unittest.TestCase):
    def ports(self):
        return self.stack.haproxy_https, self.stack.haproxy_http
