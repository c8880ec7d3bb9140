"""Shared pieces of the deploy tests: paths, processes, ports, HTTP, bencode, metrics.

Every process is started in its own session and stopped through `Procs.stop_all`, which
run.py calls in a `finally`; every wait has a deadline; everything listens on 127.0.0.1.
"""

import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time
import urllib.parse
import urllib.request

DEPLOY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(DEPLOY)

# The tools the tests run, all from Debian (see deploy/README.md, "Tests").
TOOLS = [
    "nginx", "haproxy", "prometheus", "promtool", "openssl", "systemd-analyze", "strace",
    "docker-compose",
]


def deploy_path(*parts):
    return os.path.join(DEPLOY, *parts)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def clean_env(**extra):
    """The environment for child processes: ours without any TRACKER_* variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.pop("RUST_LOG", None)
    env.update(extra)
    return env


def run(argv, timeout=60, env=None, **kw):
    """Runs a command to completion (bounded) and returns the CompletedProcess."""
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else clean_env(),
        **kw,
    )


def substitute(text, pattern, repl, count=None, flags=re.M):
    """re.sub that insists the pattern matched (`count` times, if given), so a changed
    shipped file fails loudly instead of being tested half-substituted."""
    new, n = re.subn(pattern, repl, text, flags=flags)
    if n == 0 or (count is not None and n != count):
        raise AssertionError(f"pattern {pattern!r} matched {n} times, expected {count or 'some'}")
    return new


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (bound together, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Fatal(AssertionError):
    """Raised inside a `wait_for` check when waiting longer cannot help."""


def wait_for(what, check, timeout=30.0, interval=0.1):
    """Polls `check()` until it returns a true value (returned) or the deadline passes.
    Exceptions count as "not yet", except `Fatal`, which ends the wait at once."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = check()
            if v:
                return v
        except Fatal:
            raise
        except Exception as e:  # noqa: BLE001 - reported below if it never succeeds
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last})")


def tracker_addrs(procs, name):
    """The public and admin addresses ("127.0.0.1:PORT") a tracker started with
    `--log-format json` and port 0 logged, once it has."""

    def addrs():
        procs.alive(name)
        public = admin = None
        for line in procs.log(name).splitlines():
            try:
                f = json.loads(line)["fields"]
            except (ValueError, KeyError):
                continue
            if f.get("message") == "tracker listening":
                public = f["addr"]
            elif f.get("message", "").startswith("admin listening"):
                admin = f["addr"]
        return (public, admin) if public and admin else None

    return wait_for(f"{name}'s listening addresses", addrs, timeout=30)


def port_open(port, host="127.0.0.1"):
    with socket.create_connection((host, port), timeout=1):
        return True


class Procs:
    """Processes started by the tests, each in its own session (process group)."""

    def __init__(self, logdir):
        self.logdir = logdir
        self.procs = {}

    def start(self, name, argv, env=None):
        out = open(os.path.join(self.logdir, f"{name}.log"), "wb")
        p = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env if env is not None else clean_env(),
            start_new_session=True,
        )
        out.close()
        self.procs[name] = p
        return p

    def log(self, name):
        try:
            with open(os.path.join(self.logdir, f"{name}.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def alive(self, name):
        p = self.procs.get(name)
        if p is None or p.poll() is not None:
            code = None if p is None else p.returncode
            raise Fatal(f"{name} is not running (exit {code}); log:\n{self.log(name)[-3000:]}")
        return True

    def stop(self, name, timeout=10.0):
        """SIGTERM to the process group, then SIGKILL after `timeout`; returns the
        leader's exit status."""
        p = self.procs.pop(name, None)
        if p is None:
            return None
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=timeout)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                pass
        if p.poll() is None or _group_alive(p.pid):
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=5)
        return p.returncode

    def stop_all(self):
        for name in list(self.procs):
            try:
                self.stop(name, timeout=5.0)
            except Exception as e:  # noqa: BLE001 - keep stopping the others
                print(f"warning: stopping {name}: {e}")


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


# ---- HTTP ---------------------------------------------------------------------------

def insecure_tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Client:
    """One keep-alive HTTP(S) connection from a chosen loopback source address."""

    def __init__(self, scheme, port, source="127.0.0.1", host="tracker.example.org"):
        src = (source, 0)
        if scheme == "https":
            self.conn = http.client.HTTPSConnection(
                "127.0.0.1", port, timeout=10, context=insecure_tls(), source_address=src
            )
        else:
            self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=src)
        self.host = host

    def request(self, target, headers=(), method="GET", host=None):
        """Sends `target` exactly as given (already percent-encoded); returns
        (status, headers, body). Headers may repeat: a list of (name, value)."""
        c = self.conn
        c.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        c.putheader("Host", host or self.host)
        for k, v in headers:
            c.putheader(k, v)
        c.endheaders()
        r = c.getresponse()
        body = r.read()
        return r.status, r.headers, body

    def close(self):
        self.conn.close()


def get(url, timeout=10):
    """A plain GET on loopback; returns (status, body)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def get_json(url):
    status, body = get(url)
    if status != 200:
        raise AssertionError(f"GET {url}: HTTP {status}: {body[:300]!r}")
    return json.loads(body)


# ---- tracker protocol ---------------------------------------------------------------

def bdecode(data):
    """Decodes one bencoded value (dict keys as bytes); raises on trailing bytes."""

    def value(i):
        c = data[i:i + 1]
        if c == b"i":
            j = data.index(b"e", i)
            return int(data[i + 1:j]), j + 1
        if c == b"l":
            out, i = [], i + 1
            while data[i:i + 1] != b"e":
                v, i = value(i)
                out.append(v)
            return out, i + 1
        if c == b"d":
            out, i = {}, i + 1
            while data[i:i + 1] != b"e":
                k, i = value(i)
                out[k], i = value(i)
            return out, i + 1
        if c.isdigit():
            j = data.index(b":", i)
            n = int(data[i:j])
            return data[j + 1:j + 1 + n], j + 1 + n
        raise ValueError(f"bad bencode at {i}: {data[i:i + 10]!r}")

    v, end = value(0)
    if end != len(data):
        raise ValueError(f"trailing bytes after bencode: {data[end:end + 10]!r}")
    return v


def pct(b):
    return urllib.parse.quote_from_bytes(b, safe="")


def announce_target(info_hash, peer_id, port, left=1000, event="started", numwant=50):
    return (
        f"/announce?info_hash={pct(info_hash)}&peer_id={pct(peer_id)}&port={port}"
        f"&uploaded=0&downloaded=0&left={left}&compact=1&numwant={numwant}&event={event}"
    )


def scrape_target(*info_hashes):
    return "/scrape?" + "&".join(f"info_hash={pct(h)}" for h in info_hashes)


def compact_peers(blob):
    """IPv4 compact peers (BEP 23) as ["a.b.c.d:port", ...]."""
    assert len(blob) % 6 == 0, f"compact peers of length {len(blob)}"
    return [
        f"{socket.inet_ntoa(blob[i:i + 4])}:{int.from_bytes(blob[i + 4:i + 6], 'big')}"
        for i in range(0, len(blob), 6)
    ]


def external_ip(reply):
    raw = reply[b"external ip"]
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


# ---- Prometheus text format ---------------------------------------------------------

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def parse_metrics(text):
    """{'name{labels}': value} for every sample line."""
    out = {}
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def metric_families(text):
    """Names declared by `# TYPE` lines, with the sample names each family implies."""
    names = set()
    for m in re.finditer(r"^# TYPE (\S+) (\S+)$", text, re.M):
        name, kind = m.groups()
        names.add(name)
        if kind == "histogram":
            names.update({name + "_bucket", name + "_sum", name + "_count"})
        if kind == "summary":
            names.update({name + "_sum", name + "_count"})
    return names
