"""The running system under test: the real tracker and seeder, the shipped nginx and
HAProxy configurations in front of the tracker, and a real Prometheus scraping both, all
on 127.0.0.1 with ports and paths substituted into temporary copies of the shipped files.

The tracker runs under `strace -f` so that the last test can compare what it did with
what the systemd unit allows: its system calls with `SystemCallFilter`, its sockets with
`RestrictAddressFamilies`, and its files with `ProtectSystem=strict`.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from harness import (
    ROOT, Procs, clean_env, deploy_path, free_ports, get, port_open, read, run, substitute,
    tracker_addrs, wait_for, write,
)


def make_cert(dir_):
    """A self-signed certificate for tracker.example.org and 127.0.0.1; returns the
    paths (cert, key, cert+key for HAProxy)."""
    cert, key, both = (os.path.join(dir_, n) for n in ("cert.pem", "key.pem", "haproxy.pem"))
    r = run([
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-days", "2", "-subj", "/CN=tracker.example.org",
        "-addext", "subjectAltName=DNS:tracker.example.org,IP:127.0.0.1",
        "-keyout", key, "-out", cert,
    ])
    if r.returncode != 0:
        raise AssertionError(f"openssl failed: {r.stderr}")
    write(both, read(key) + read(cert))
    return cert, key, both


# ---- substituted copies of the shipped files ----------------------------------------

def nginx_site(cert, key, https_port=None, http_port=None, upstream=None):
    """deploy/nginx/seedline-tracker.conf with the certificate paths replaced and, when
    given, the listeners moved to 127.0.0.1 and the upstream pointed at `upstream`."""
    t = read(deploy_path("nginx", "seedline-tracker.conf"))
    t = substitute(t, r"/etc/seedline/tls/fullchain\.pem", cert, 1)
    t = substitute(t, r"/etc/seedline/tls/privkey\.pem", key, 1)
    if https_port:
        t = substitute(t, r"^(\s*)listen 443 ssl;", rf"\1listen 127.0.0.1:{https_port} ssl;", 1)
        t = substitute(t, r"^(\s*)listen 80;", rf"\1listen 127.0.0.1:{http_port};", 1)
        t = substitute(t, r"^\s*listen \[::\]:\d+.*\n", "", 2)
    if upstream:
        t = substitute(t, r"server 127\.0\.0\.1:6969\b", f"server {upstream}", 1)
    return t


def nginx_main(dir_, site_path):
    """A minimal nginx.conf that includes the site in the http context, as Debian's and
    the official image's nginx.conf do, with every path inside `dir_`."""
    temp = "\n".join(
        f"    {k}_temp_path {dir_}/{k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"daemon off;\nworker_processes 1;\npid {dir_}/nginx.pid;\n"
        f"error_log {dir_}/error.log info;\n"
        f"events {{ worker_connections 1024; }}\n"
        f"http {{\n    access_log off;\n{temp}\n    include {site_path};\n}}\n"
    )


def unprivileged_haproxy(t):
    """A shipped HAProxy config without what needs root (chroot, user, a large maxconn)
    or syslog, so it runs as any user."""
    t = substitute(t, r"^\s*(chroot|user|group|daemon)\b.*\n", "", 4)
    t = substitute(t, r"^(\s*)log /dev/log (\S+) (\S+)$", r"\1log stderr format raw \2 \3", 1)
    t = substitute(t, r"^(\s*)maxconn 50000$", r"\1maxconn 1000", 1)
    return substitute(t, r"^(\s*)maxconn 40000$", r"\1maxconn 900", 1)


def haproxy_cfg(pem, https_port=None, http_port=None, upstream=None):
    """deploy/haproxy/haproxy.cfg with the certificate path replaced and, when given,
    the binds moved to 127.0.0.1, the server pointed at `upstream`, and what needs root
    (chroot, user, a large maxconn) or syslog removed so it runs unprivileged."""
    t = read(deploy_path("haproxy", "haproxy.cfg"))
    t = substitute(t, r"/etc/seedline/tls/haproxy\.pem", pem, 2)
    if https_port:
        t = substitute(t, r"^(\s*)bind :443 ", rf"\1bind 127.0.0.1:{https_port} ", 1)
        t = substitute(t, r"^(\s*)bind :80$", rf"\1bind 127.0.0.1:{http_port}", 1)
        t = substitute(t, r"^\s*bind :::\d+.*\n", "", 2)
        t = unprivileged_haproxy(t)
    if upstream:
        t = substitute(t, r"server tracker 127\.0\.0\.1:6969\b", f"server tracker {upstream}", 1)
    return t


def prometheus_cfg(target, seeder_target, interval="1s"):
    """deploy/prometheus/prometheus.yml scraping the tracker at `target` and the seeder
    at `seeder_target` every `interval`, with the Alertmanager block removed (none runs
    here)."""
    t = read(deploy_path("prometheus", "prometheus.yml"))
    t = substitute(t, r'"127\.0\.0\.1:6971"', f'"{seeder_target}"', 1)
    t = substitute(t, r"^(\s*)scrape_interval: \S+$", rf"\1scrape_interval: {interval}", 1)
    t = substitute(t, r"^(\s*)evaluation_interval: \S+$", rf"\1evaluation_interval: {interval}", 1)
    t = substitute(t, r"^(\s*)scrape_timeout: \S+$", rf"\1scrape_timeout: {interval}", 2)
    t = substitute(t, r'"127\.0\.0\.1:6970"', f'"{target}"', 1)
    t = substitute(t, r"^alerting:\n(?:[ #].*\n|\n)*?(?=^\S)", "", 1)
    return t


class Stack:
    def __init__(self, tracker_bin, seeder_bin):
        self.tracker_bin = tracker_bin
        self.seeder_bin = seeder_bin
        self.dir = tempfile.mkdtemp(prefix="seedline-deploy-")
        os.chmod(self.dir, 0o755)
        self.procs = Procs(self.dir)
        self.syscalls_file = os.path.join(self.dir, "tracker.syscalls")
        self.state_dir = os.path.join(self.dir, "state")
        os.mkdir(self.state_dir)
        self.state_file = os.path.join(self.state_dir, "state")
        self.grace = 5

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def start(self):
        self.cert, self.key, self.pem = make_cert(self.dir)
        self._start_tracker()
        self._start_seeder()
        (self.nginx_https, self.nginx_http, self.haproxy_https, self.haproxy_http,
         self.prometheus_port) = free_ports(5)
        self._start_nginx()
        self._start_haproxy()
        self._start_prometheus()

    def stop(self):
        self.procs.stop_all()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- tracker --------------------------------------------------------------------

    def _start_tracker(self):
        argv = [
            self.tracker_bin,
            "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
            "--trusted-proxy", "127.0.0.1/32", "--log-format", "json",
            "--grace-period", str(self.grace),
            # As the unit does: the state file in a directory of its own.
            "--state-file", self.state_file,
            # Sweeps run on their own thread under the idle policy; one a second puts
            # that call in the trace the last test checks against the unit.
            "--sweep-interval", "1",
        ]
        strace = ["strace", "-f", "-qq", "-s", "256", "-o", self.syscalls_file]
        self.procs.start("tracker", strace + argv)

        self.public, self.admin = tracker_addrs(self.procs, "tracker")
        self.public_port = int(self.public.rsplit(":", 1)[1])
        self.admin_port = int(self.admin.rsplit(":", 1)[1])

    # ---- seeder ---------------------------------------------------------------------

    def _start_seeder(self):
        """The seeder with an empty library (it serves and announces nothing, so the
        trusted-proxy rule for 127.0.0.1 does not matter here)."""
        library = self.path("library")
        os.mkdir(library)
        self.procs.start("seeder", [
            self.seeder_bin, "--library", library,
            "--tracker", f"http://{self.public}/announce",
            "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--log-format", "json",
        ])

        def admin():
            self.procs.alive("seeder")
            for line in self.procs.log("seeder").splitlines():
                try:
                    f = json.loads(line)["fields"]
                except (ValueError, KeyError):
                    continue
                if f.get("message", "").startswith("admin listening"):
                    return f["addr"]
            return None

        self.seeder_admin = wait_for("the seeder's admin address", admin, timeout=30)

    def seeder_metrics_text(self):
        status, body = get(f"http://{self.seeder_admin}/metrics")
        assert status == 200, status
        return body.decode()

    def tracker_pid(self):
        """The tracker itself, the only child of the strace process."""
        sp = self.procs.procs["tracker"].pid
        children = read(f"/proc/{sp}/task/{sp}/children").split()
        if len(children) != 1:
            raise AssertionError(f"strace {sp} has children {children}")
        return int(children[0])

    def metrics_text(self):
        status, body = get(f"http://{self.admin}/metrics")
        assert status == 200, status
        return body.decode()

    # ---- proxies --------------------------------------------------------------------

    def _start_nginx(self):
        d = self.path("nginx")
        os.mkdir(d)
        site = self.path("nginx", "seedline-tracker.conf")
        write(site, nginx_site(self.cert, self.key, self.nginx_https, self.nginx_http, self.public))
        main = self.path("nginx", "nginx.conf")
        write(main, nginx_main(d, site))
        self.procs.start("nginx", ["nginx", "-p", d, "-c", main, "-e", self.path("nginx", "error.log")])
        wait_for("nginx to listen", lambda: self.procs.alive("nginx")
                 and port_open(self.nginx_https) and port_open(self.nginx_http))

    def _start_haproxy(self):
        cfg = self.path("haproxy.cfg")
        write(cfg, haproxy_cfg(self.pem, self.haproxy_https, self.haproxy_http, self.public))
        self.procs.start("haproxy", ["haproxy", "-db", "-f", cfg])
        wait_for("HAProxy to listen", lambda: self.procs.alive("haproxy")
                 and port_open(self.haproxy_https) and port_open(self.haproxy_http))

    # ---- Prometheus -----------------------------------------------------------------

    def _start_prometheus(self):
        d = self.path("prometheus")
        os.mkdir(d)
        write(os.path.join(d, "prometheus.yml"), prometheus_cfg(self.admin, self.seeder_admin))
        shutil.copy(deploy_path("prometheus", "alerts.yml"), d)
        self.prometheus = f"http://127.0.0.1:{self.prometheus_port}"
        self.procs.start("prometheus", [
            "prometheus",
            f"--config.file={d}/prometheus.yml",
            f"--storage.tsdb.path={d}/data",
            f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
            "--storage.tsdb.retention.time=1h",
        ])
        wait_for("Prometheus to be ready", lambda: self.procs.alive("prometheus")
                 and get(f"{self.prometheus}/-/ready")[0] == 200, timeout=60)

    # ---- shutdown -------------------------------------------------------------------

    def stop_tracker(self):
        """SIGTERM to the tracker (not strace), then waits for both to exit. Returns
        (tracker exit status as strace reports it, seconds taken)."""
        pid = self.tracker_pid()
        started = time.monotonic()
        os.kill(pid, 15)
        p = self.procs.procs["tracker"]
        try:
            code = p.wait(timeout=self.grace + 15)
        finally:
            self.procs.stop("tracker")
        return code, time.monotonic() - started

    def syscalls(self):
        """What the trace shows: (system call names, socket address families, paths
        opened for writing)."""
        names, families, writes = set(), set(), []
        for line in read(self.syscalls_file).splitlines():
            m = re.match(r"^\d+\s+(?:<\.\.\. )?([a-z0-9_]+)(\(| resumed>)", line)
            if not m:
                continue
            names.add(m.group(1))
            if m.group(2) != "(":
                continue
            f = re.match(r"^\d+\s+(?:socket|socketpair)\((AF_\w+)", line)
            if f:
                families.add(f.group(1))
            o = re.match(r'^\d+\s+(?:open|openat|openat2|creat)\((?:[^,]+, )?"([^"]*)", ([^,)]*)', line)
            if o and re.search(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC", o.group(2)):
                writes.append(o.group(1))
        return names, families, writes


def binaries(tracker=None, seeder=None):
    """(tracker, seeder): the given paths, or target/debug/{tracker,seeder} freshly built
    with cargo."""
    if tracker and seeder:
        return os.path.abspath(tracker), os.path.abspath(seeder)
    r = subprocess.run(
        ["cargo", "build", "--locked", "-p", "seedline-tracker", "--bin", "tracker",
         "-p", "seedline-seeder", "--bin", "seeder"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, env=clean_env(),
    )
    if r.returncode != 0:
        raise SystemExit(f"cargo build failed:\n{r.stderr[-4000:]}")
    meta = subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=clean_env(),
    )
    target = os.path.join(json.loads(meta.stdout)["target_directory"], "debug")
    return (os.path.abspath(tracker) if tracker else os.path.join(target, "tracker"),
            os.path.abspath(seeder) if seeder else os.path.join(target, "seeder"))


def unit_with_exec(path, unit="seedline-tracker.service", binary="tracker"):
    """A shipped unit with ExecStart pointing at `path`."""
    t = read(deploy_path("systemd", unit))
    return substitute(t, rf"^ExecStart=/usr/local/bin/{binary}", f"ExecStart={path}", 1)


def env_example_assignments(name="tracker"):
    """[(variable, value)] for every `VAR=value` or `#VAR=value` line of an example."""
    out = []
    prefix = name.upper()
    for line in read(deploy_path("systemd", f"{name}.env.example")).splitlines():
        m = re.match(rf"^#?({prefix}_[A-Z0-9_]+)=(.*)$", line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def unit_syscall_filter(unit="seedline-tracker.service"):
    """The unit's SystemCallFilter lines in order, each as (allows, items)."""
    unit = read(deploy_path("systemd", unit))
    lines = [(not v.startswith("~"), v.lstrip("~").split())
             for v in re.findall(r"^SystemCallFilter=(.*)$", unit, re.M)]
    for _, items in lines:
        # An empty line resets the filter and `call:errno` sets a call's own error;
        # neither is modelled here, so neither may slip through as a call's name.
        if not items or any(":" in i for i in items):
            raise AssertionError(f"{unit}: a SystemCallFilter form the tests do not model")
    return lines


def allowed_syscalls(lines, expand):
    """What `lines` (from unit_syscall_filter, starting with an allow list) let through,
    read as systemd does: the first line sets the default, and each later line adds its
    calls to the allowed set or takes them out, in order. `expand` maps an item (a call
    or an @group) to its calls."""
    if not lines or not lines[0][0]:
        raise AssertionError("the filter must start with an allow list")
    allowed = set()
    for allows, items in lines:
        calls = set().union(*(expand(i) for i in items))
        allowed = allowed | calls if allows else allowed - calls
    return allowed
