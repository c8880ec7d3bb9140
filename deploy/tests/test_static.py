"""Checks of the shipped files with the real programs, before anything runs: nginx -t,
haproxy -c, promtool, systemd-analyze, and the env example against `tracker --help`."""

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

    def test_env_example_lists_every_variable_once(self):
        help_text = run([self.tracker, "--help"]).stdout
        in_help = re.findall(r"\[env: (TRACKER_[A-Z0-9_]+)[=\]]", help_text)
        self.assertGreater(len(in_help), 20, help_text)
        listed = [v for v, _ in stack.env_example_assignments()]
        dupes = sorted({v for v in listed if listed.count(v) > 1})
        self.assertEqual(dupes, [], "listed more than once in tracker.env.example")
        self.assertEqual(sorted(set(listed) - set(in_help)), [], "in the example, not in tracker --help")
        self.assertEqual(sorted(set(in_help) - set(listed)), [], "in tracker --help, missing from the example")

    def test_env_example_values_are_the_defaults(self):
        """Every value in the example, set at once, gives the default configuration;
        values of settings without a default (given as examples) are accepted."""
        default = run([self.tracker, "--print-config"])
        self.ok(default, "tracker --print-config")
        toml = os.path.join(self.dir, "tracker.toml")
        write(toml, default.stdout)
        help_text = run([self.tracker, "--help"]).stdout
        no_default = set(re.findall(r"\n {10}(?:(?!\[default:)[^\n])*\[env: (TRACKER_\w+)[=\]]", help_text))
        self.assertIn("TRACKER_TRUSTED_PROXY", no_default)
        env = {}
        token_file = os.path.join(self.dir, "admin-token")
        write(token_file, "a-token-of-sixteen-or-more\n")
        # Example paths need not exist here; an access list needs a mode that reads it.
        replaced = {"TRACKER_CONFIG": toml, "TRACKER_ADMIN_TOKEN_FILE": token_file}
        companions = {"TRACKER_ACCESS_LIST": {"TRACKER_MODE": "deny"}}
        for var, value in stack.env_example_assignments():
            value = replaced.get(var, value)
            if var in no_default:
                extra = companions.get(var, {})
                r = run([self.tracker, "--print-config"], env=clean_env(**{var: value}, **extra))
                self.ok(r, f"tracker --print-config with {var}={value}")
            else:
                env[var] = value
        r = run([self.tracker, "--print-config"], env=clean_env(**env))
        self.ok(r, "tracker --print-config with every variable of the example")
        self.assertEqual(r.stdout, default.stdout)

    def test_unit_passes_systemd_analyze_verify(self):
        unit = os.path.join(self.dir, "seedline-tracker.service")
        write(unit, stack.unit_with_exec(self.tracker))
        r = run(["systemd-analyze", "verify", unit])
        self.ok(r, "systemd-analyze verify")
        self.assertEqual((r.stdout + r.stderr).strip(), "", "verify printed warnings")

    def test_unit_sandbox_exposure_is_low(self):
        unit = os.path.join(self.dir, "seedline-tracker.service")
        write(unit, stack.unit_with_exec(self.tracker))
        r = run(["systemd-analyze", "security", "--offline=yes", "--no-pager", unit])
        self.ok(r, "systemd-analyze security")
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
        self.assertIsNotNone(m, r.stdout[-500:])
        self.assertLessEqual(float(m.group(1)), 2.0, r.stdout)

    def test_unit_limits_fit_the_tracker_defaults(self):
        unit = read(deploy_path("systemd", "seedline-tracker.service"))
        keys = dict(re.findall(r"^(\w+)=(.*)$", unit, re.M))
        cfg = dict(re.findall(r"^(\w+) = (\S+)$", run([self.tracker, "--print-config"]).stdout, re.M))
        self.assertGreater(int(keys["TimeoutStopSec"].rstrip("s")), int(cfg["grace_period"]))
        self.assertGreater(int(keys["LimitNOFILE"]), int(cfg["max_connections"]) + 100)
        for k, v in {
            "DynamicUser": "yes", "StateDirectory": "seedline-tracker", "ProtectSystem": "strict",
            "ProtectHome": "yes", "PrivateTmp": "yes", "NoNewPrivileges": "yes",
            "CapabilityBoundingSet": "", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
            "MemoryDenyWriteExecute": "yes", "Restart": "on-failure",
            "EnvironmentFile": "-/etc/seedline/tracker.env", "ExecStart": "/usr/local/bin/tracker",
        }.items():
            self.assertEqual(keys.get(k), v, k)
        self.assertEqual(stack.unit_syscall_filter()[0], ["@system-service"])

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

    def test_dashboard_is_consistent(self):
        d = json.loads(read(deploy_path("grafana", "seedline-tracker.json")))
        self.assertEqual(d["uid"], "seedline-tracker")
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
        used = set(re.findall(r"seedline_tracker_[a-z_]+", json.dumps(d)))
        alerted = set(re.findall(r"seedline_tracker_[a-z_]+", read(deploy_path("prometheus", "alerts.yml"))))
        self.assertEqual(sorted(alerted - used), [], "metrics alerted on but not on the dashboard")

    # ---- container ------------------------------------------------------------------

    def test_dockerfile_shape(self):
        dockerfile = read(deploy_path("container", "Dockerfile"))
        self.assertRegex(dockerfile, r"(?m)^FROM rust:\S*bookworm\S* AS build")
        self.assertRegex(dockerfile, r"(?m)^FROM debian:bookworm-slim")
        self.assertRegex(dockerfile, r"(?m)^USER \d+")
        self.assertRegex(dockerfile, r"(?m)^EXPOSE 6969")
        self.assertRegex(dockerfile, r"(?m)^HEALTHCHECK ")
