"""Checks of the shipped files with the real programs, before anything runs: nginx -t,
haproxy -c, promtool, systemd-analyze, and the env examples against `tracker --help` and
`seeder --help`."""

import json
import os
import re
import shutil
import tempfile
import unittest

import stack
from harness import TOOLS, clean_env, deploy_path, free_ports, read, run, write


class Static(unittest.TestCase):
    tracker = None  # set by run.py
    seeder = None

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="seedline-static-")
        cls.cert, cls.key, cls.pem = stack.make_cert(cls.dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def ok(self, r, what):
        self.assertEqual(r.returncode, 0, f"{what} failed:\n{r.stdout}\n{r.stderr}")

    def test_tools_installed(self):
        missing = [t for t in TOOLS if shutil.which(t) is None]
        self.assertEqual(missing, [], "install them from Debian (deploy/README.md, Tests)")

    # ---- systemd --------------------------------------------------------------------

    def check_env_lists_every_variable_once(self, binary, name):
        prefix = name.upper()
        help_text = run([binary, "--help"]).stdout
        in_help = re.findall(rf"\[env: ({prefix}_[A-Z0-9_]+)[=\]]", help_text)
        self.assertGreater(len(in_help), 20, help_text)
        listed = [v for v, _ in stack.env_example_assignments(name)]
        dupes = sorted({v for v in listed if listed.count(v) > 1})
        self.assertEqual(dupes, [], f"listed more than once in {name}.env.example")
        self.assertEqual(sorted(set(listed) - set(in_help)), [], f"in the example, not in {name} --help")
        self.assertEqual(sorted(set(in_help) - set(listed)), [], f"in {name} --help, missing from the example")

    def check_env_values_are_the_defaults(self, binary, name, base, replaced, companions):
        """Every value in the example, set at once (over `base`), gives the default
        configuration; values of settings without a default (given as examples) are
        accepted one at a time, with their `companions`."""
        prefix = name.upper()
        default = run([binary, "--print-config"], env=clean_env(**base))
        self.ok(default, f"{name} --print-config")
        help_text = run([binary, "--help"]).stdout
        # One block per option (its flag line and the indented lines under it); a
        # setting has a default when its block shows one, wherever clap put it.
        blocks = re.split(r"\n(?=  +-)", help_text)
        def has_default(block, var):
            # clap's own line under the option, or on the variable's line (clap puts it
            # after the variable; older help texts wrote it before).
            return bool(
                re.search(r"\n +\[default: [^\n]*\]\s*(\n|$)", block)
                or re.search(rf"\[default:[^\n]*\[env: {var}[=\]]", block)
                or re.search(rf"\[env: {var}[=\]][^\n]*\[default:", block)
            )
        no_default = {
            var
            for block in blocks
            for var in re.findall(rf"\[env: ({prefix}_\w+)[=\]]", block)
            if not has_default(block, var)
        }
        env = dict(base)
        for var, value in stack.env_example_assignments(name):
            value = replaced.get(var, value)
            if var in no_default:
                extra = {**base, **companions.get(var, {}), var: value}
                r = run([binary, "--print-config"], env=clean_env(**extra))
                self.ok(r, f"{name} --print-config with {var}={value}")
            else:
                env[var] = value
        r = run([binary, "--print-config"], env=clean_env(**env))
        self.ok(r, f"{name} --print-config with every variable of the example")
        self.assertEqual(r.stdout, default.stdout)
        return no_default

    def token_file(self):
        path = os.path.join(self.dir, "admin-token")
        write(path, "a-token-of-sixteen-or-more\n")
        return path

    def ca_file(self):
        path = os.path.join(self.dir, "ca.pem")
        key = os.path.join(self.dir, "ca.key")
        r = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                 "-out", path, "-days", "1", "-subj", "/CN=seedline-test"])
        self.ok(r, "openssl makes a CA")
        return path

    def test_env_example_lists_every_variable_once(self):
        self.check_env_lists_every_variable_once(self.tracker, "tracker")

    def test_env_example_values_are_the_defaults(self):
        toml = os.path.join(self.dir, "tracker.toml")
        write(toml, run([self.tracker, "--print-config"]).stdout)
        no_default = self.check_env_values_are_the_defaults(
            self.tracker, "tracker", {},
            # Example paths need not exist here, except files read at start; an access
            # list needs a mode that reads it, a store CA a store.
            {
                "TRACKER_CONFIG": toml,
                "TRACKER_ADMIN_TOKEN_FILE": self.token_file(),
                "TRACKER_STORE_CA_FILE": self.ca_file(),
            },
            {
                "TRACKER_ACCESS_LIST": {"TRACKER_MODE": "deny"},
                "TRACKER_STORE_CA_FILE": {"TRACKER_STORE": "rediss://127.0.0.1:6379/0"},
            },
        )
        self.assertIn("TRACKER_TRUSTED_PROXY", no_default)
        self.assertNotIn("TRACKER_INTERVAL", no_default, "defaults are found in --help")

    def check_readme_table_names_every_setting(self, binary, name, start, env):
        # The settings are declared once, on the daemon's Config; the README's table
        # must not fall behind them. --print-config names every setting (unset ones as
        # comments); each must be named in the first column of a row.
        printed = run([binary, "--print-config"], env=clean_env(**env)).stdout
        keys = re.findall(r"^(?:# )?([a-z_]+) = ", printed, re.M) + re.findall(r"^\[\[?([a-z_]+)\]", printed, re.M)
        self.assertGreater(len(keys), 30, printed)
        self.assertIn("(not set)", printed, "unset options are listed too")
        readme = read(deploy_path("..", "README.md"))
        table = readme[readme.index(start):]
        table = table[:table.index("\n\n", table.index("| setting |"))]
        named = set()
        for row in table.splitlines():
            if row.startswith("| `"):
                named.update(re.findall(r"`([a-z_]+)`", row.split(" | ")[0]))
        self.assertEqual([k for k in keys if k not in named], [], f"missing from the README's {name} settings")

    def test_readme_settings_table_names_every_tracker_setting(self):
        self.check_readme_table_names_every_setting(self.tracker, "tracker", "| setting | default | meaning |\n|---|---|---|\n| `listen` | `0.0.0.0:6969`", {})

    def test_readme_settings_table_names_every_seeder_setting(self):
        self.check_readme_table_names_every_setting(
            self.seeder, "seeder", "Seeder settings", {"SEEDER_LIBRARY": "/srv/seedline/library"})

    def test_seeder_env_example_lists_every_variable_once(self):
        self.check_env_lists_every_variable_once(self.seeder, "seeder")

    def test_seeder_env_example_values_are_the_defaults(self):
        # The seeder refuses to start with nothing to seed: the unit sets the library.
        base = {"SEEDER_LIBRARY": "/srv/seedline/library"}
        toml = os.path.join(self.dir, "seeder.toml")
        write(toml, run([self.seeder, "--print-config"], env=clean_env(**base)).stdout)
        no_default = self.check_env_values_are_the_defaults(
            self.seeder, "seeder", base,
            {"SEEDER_CONFIG": toml, "SEEDER_TRACKER_API_TOKEN_FILE": self.token_file()},
            {"SEEDER_TORRENT": {"SEEDER_DATA": "/srv/seedline/extra"},
             "SEEDER_DATA": {"SEEDER_TORRENT": "/srv/seedline/extra/release.torrent"},
             "SEEDER_TRACKER_API": {"SEEDER_TRACKER_API_TOKEN": "a-token-of-sixteen-or-more"}},
        )
        self.assertIn("SEEDER_TRACKER", no_default)
        self.assertNotIn("SEEDER_UPLOAD_SLOTS", no_default, "defaults are found in --help")
        unit = read(deploy_path("systemd", "seedline-seeder.service"))
        self.assertIn(f"Environment=SEEDER_LIBRARY={base['SEEDER_LIBRARY']}\n", unit)

    def check_unit(self, binary, unit_name, binary_name):
        unit = os.path.join(self.dir, unit_name)
        write(unit, stack.unit_with_exec(binary, unit_name, binary_name))
        r = run(["systemd-analyze", "verify", unit])
        self.ok(r, f"systemd-analyze verify {unit_name}")
        self.assertEqual((r.stdout + r.stderr).strip(), "", "verify printed warnings")
        r = run(["systemd-analyze", "security", "--offline=yes", "--no-pager", unit])
        self.ok(r, "systemd-analyze security")
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
        self.assertIsNotNone(m, r.stdout[-500:])
        self.assertLessEqual(float(m.group(1)), 2.0, r.stdout)

    def test_units_pass_systemd_analyze_verify_and_security(self):
        self.check_unit(self.tracker, "seedline-tracker.service", "tracker")
        self.check_unit(self.seeder, "seedline-seeder.service", "seeder")

    def check_unit_limits(self, binary, unit_name, env, connections_key):
        unit = read(deploy_path("systemd", unit_name))
        keys = dict(re.findall(r"^(\w+)=(.*)$", unit, re.M))
        out = run([binary, "--print-config"], env=clean_env(**env)).stdout
        cfg = dict(re.findall(r"^(\w+) = (\S+)$", out, re.M))
        self.assertGreater(int(keys["TimeoutStopSec"].rstrip("s")), int(cfg["grace_period"]))
        self.assertGreater(int(keys["LimitNOFILE"]), int(cfg[connections_key]) + 100)
        name = unit_name.removesuffix(".service")
        for k, v in {
            "DynamicUser": "yes", "StateDirectory": name, "ProtectSystem": "strict",
            "ProtectHome": "yes", "PrivateTmp": "yes", "NoNewPrivileges": "yes",
            "CapabilityBoundingSet": "", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
            "MemoryDenyWriteExecute": "yes", "Restart": "on-failure",
            "RestartPreventExitStatus": "64",
        }.items():
            self.assertEqual(keys.get(k), v, f"{unit_name}: {k}")
        self.assertEqual(stack.unit_syscall_filter(unit_name)[0], (True, ["@system-service"]))
        # Memory is capped (issue 13), and the soft limit comes before the wall.
        size = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
        def nbytes(v):
            return int(v[:-1]) * size[v[-1]]
        self.assertIn("MemoryMax", keys, f"{unit_name}: MemoryMax")
        self.assertLess(nbytes(keys["MemoryHigh"]), nbytes(keys["MemoryMax"]))
        self.assertGreaterEqual(nbytes(keys["MemoryHigh"]), 1 << 30, f"{unit_name}: sized from the caps")
        return keys

    def test_unit_limits_fit_the_defaults(self):
        keys = self.check_unit_limits(self.tracker, "seedline-tracker.service", {}, "max_connections")
        self.assertEqual(keys["EnvironmentFile"], "-/etc/seedline/tracker.env")
        self.assertEqual(keys["ExecStart"], "/usr/local/bin/tracker")
        keys = self.check_unit_limits(self.seeder, "seedline-seeder.service",
                                      {"SEEDER_LIBRARY": "/srv/seedline/library"}, "max_peers")
        self.assertEqual(keys["EnvironmentFile"], "-/etc/seedline/seeder.env")
        self.assertEqual(keys["ExecStart"], "/usr/local/bin/seeder")

    # ---- proxies --------------------------------------------------------------------

    def test_nginx_config(self):
        d = os.path.join(self.dir, "nginx")
        os.makedirs(d, exist_ok=True)
        site = os.path.join(d, "seedline-tracker.conf")
        # nginx -t binds the listeners: move them to free loopback ports.
        https, http = free_ports(2)
        write(site, stack.nginx_site(self.cert, self.key, https, http))
        main = os.path.join(d, "nginx.conf")
        write(main, stack.nginx_main(d, site))
        self.ok(run(["nginx", "-t", "-p", d, "-c", main, "-e", os.path.join(d, "error.log")]), "nginx -t")

    def test_nginx_limits_key_ipv6_clients_by_their_64(self):
        """The shipped map, applied here as nginx applies it (first matching regex, named
        captures substituted): an IPv6 client is one key per /64, IPv4 one per address."""
        conf = read(deploy_path("nginx", "seedline-tracker.conf"))
        body = re.search(r"map \$remote_addr \$seedline_client \{(.*?)\n\}", conf, re.S).group(1)
        rules = re.findall(r'^\s*"~(.+?)"\s+(\S+);', body, re.M)
        self.assertEqual(len(rules), 3, body)

        def key(addr):
            for pattern, value in rules:
                m = re.match(pattern.replace("(?<", "(?P<"), addr)
                if m:
                    return re.sub(r"\$(\w+)", lambda g: m.group(g.group(1)), value.strip('"'))
            return addr

        same_64 = ["2001:db8:1:2::1", "2001:db8:1:2:ffff:1:2:3", "2001:db8:1:2::ab:0"]
        self.assertEqual({key(a) for a in same_64}, {"2001:db8:1:2"})
        self.assertEqual({key(a) for a in ["2001:db8::1", "2001:db8::1:2:3:4"]}, {"2001:db8::"})
        self.assertNotEqual(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"))
        self.assertNotEqual(key("2001:db9::1"), key("2001:db8::1"))
        self.assertEqual(key("::ffff:192.0.2.1"), "192.0.2.1")
        self.assertEqual(key("192.0.2.1"), "192.0.2.1")
        self.assertEqual(key("::1"), "::")
        self.assertIn("limit_req_zone $seedline_limit_key", conf)
        self.assertIn("limit_conn_zone $seedline_limit_key", conf)

    def test_haproxy_config(self):
        cfg = os.path.join(self.dir, "haproxy.cfg")
        write(cfg, stack.haproxy_cfg(self.pem))
        r = run(["haproxy", "-c", "-f", cfg])
        self.ok(r, "haproxy -c")
        self.assertNotIn("[WARNING]", r.stdout + r.stderr)

    # ---- Prometheus and Grafana -----------------------------------------------------

    def test_promtool_check_config(self):
        self.ok(run(["promtool", "check", "config", deploy_path("prometheus", "prometheus.yml")]),
                "promtool check config")

    def test_promtool_check_rules(self):
        self.ok(run(["promtool", "check", "rules", deploy_path("prometheus", "alerts.yml")]),
                "promtool check rules")

    def test_promtool_alert_unit_tests(self):
        r = run(["promtool", "test", "rules", "alerts.test.yml"], cwd=deploy_path("prometheus"))
        self.ok(r, "promtool test rules")

    def test_every_alert_has_a_unit_test(self):
        alerts = set(re.findall(r"^\s*- alert: (\w+)", read(deploy_path("prometheus", "alerts.yml")), re.M))
        tested = set(re.findall(
            r"alertname: (\w+)\n\s+exp_alerts:\n\s+- exp_labels",
            read(deploy_path("prometheus", "alerts.test.yml"))))
        self.assertEqual(sorted(alerts - tested), [], "alerts never shown firing in alerts.test.yml")

    def test_dashboards_are_consistent(self):
        alerts = read(deploy_path("prometheus", "alerts.yml"))
        for part in ("tracker", "seeder"):
            with self.subTest(dashboard=part):
                d = json.loads(read(deploy_path("grafana", f"seedline-{part}.json")))
                self.assertEqual(d["uid"], f"seedline-{part}")
                ids = [p["id"] for p in d["panels"]]
                self.assertEqual(len(ids), len(set(ids)), "duplicate panel ids")
                names = {v["name"] for v in d["templating"]["list"]}
                self.assertEqual(names, {"datasource", "instance"})
                for p in d["panels"]:
                    if p["type"] == "row":
                        continue
                    self.assertTrue(p.get("targets"), p["title"])
                    self.assertEqual(p["datasource"]["uid"], "${datasource}", p["title"])
                    g = p["gridPos"]
                    self.assertLessEqual(g["x"] + g["w"], 24, p["title"])
                # The dashboard shows everything the alerts watch.
                used = set(re.findall(rf"seedline_{part}_[a-z_]+", json.dumps(d)))
                alerted = set(re.findall(rf"seedline_{part}_[a-z_]+", alerts))
                self.assertEqual(sorted(alerted - used), [], "metrics alerted on but not on the dashboard")

    # ---- container ------------------------------------------------------------------

    def test_dockerfile_shape(self):
        dockerfile = read(deploy_path("container", "Dockerfile"))
        self.assertRegex(dockerfile, r"(?m)^FROM rust:\S*bookworm\S* AS build")
        self.assertRegex(dockerfile, r"(?m)^FROM debian:bookworm-slim")
        self.assertRegex(dockerfile, r"(?m)^USER \d+")
        self.assertRegex(dockerfile, r"(?m)^EXPOSE 6969")
        self.assertRegex(dockerfile, r"(?m)^HEALTHCHECK ")
