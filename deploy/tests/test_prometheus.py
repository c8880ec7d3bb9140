"""A real Prometheus with the shipped prometheus.yml and alerts.yml scrapes the running
tracker and seeder; the dashboards' and the alerts' queries run against it."""

import json
import re
import unittest
import urllib.parse

from harness import deploy_path, get, get_json, metric_families, read, wait_for

# Grafana variables, as Grafana would expand them for "All" instances.
GRAFANA_VARS = {"$instance": ".*", "$__rate_interval": "1m", "${datasource}": ""}


def dashboard_exprs():
    out = []
    for part in ("tracker", "seeder"):
        out += panel_exprs(json.loads(read(deploy_path("grafana", f"seedline-{part}.json"))))
    return out


def panel_exprs(d):
    out = []
    for p in d["panels"]:
        for t in p.get("targets", []):
            e = t["expr"]
            for k, v in GRAFANA_VARS.items():
                e = e.replace(k, v)
            out.append((p["title"], e))
    return out


def alert_exprs():
    """(alert, expr) for every rule of alerts.yml (one-line or `|` block exprs)."""
    lines = read(deploy_path("prometheus", "alerts.yml")).splitlines()
    out, alert = [], None
    for i, line in enumerate(lines):
        m = re.match(r"\s*- alert: (\w+)$", line)
        if m:
            alert = m.group(1)
            continue
        m = re.match(r"(\s*)expr: (.*)$", line)
        if m and alert:
            indent, expr = len(m.group(1)), m.group(2)
            if expr == "|":
                block = []
                for nxt in lines[i + 1:]:
                    if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                        break
                    block.append(nxt)
                expr = "\n".join(block)
            out.append((alert, expr))
            alert = None
    return out


class Prometheus(unittest.TestCase):
    stack = None  # set by run.py

    def query(self, expr):
        url = f"{self.stack.prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        r = get_json(url)
        self.assertEqual(r["status"], "success", f"{expr}: {r}")
        return r["data"]["result"]

    def target(self, job):
        def up():
            targets = get_json(f"{self.stack.prometheus}/api/v1/targets")["data"]["activeTargets"]
            mine = [t for t in targets if t["labels"].get("job") == job]
            assert len(mine) == 1, mine
            assert mine[0]["health"] == "up", mine[0]
            return mine[0]

        return wait_for(f"Prometheus to scrape {job}", up, timeout=30)

    def test_tracker_target_is_up(self):
        self.assertEqual(self.target("seedline-tracker")["scrapeUrl"], f"http://{self.stack.admin}/metrics")

    def test_seeder_target_is_up(self):
        self.assertEqual(self.target("seedline-seeder")["scrapeUrl"], f"http://{self.stack.seeder_admin}/metrics")

    def test_series_are_stored(self):
        for name, job in (("seedline_tracker_torrents", "seedline-tracker"),
                          ("seedline_tracker_requests_total", "seedline-tracker"),
                          ("seedline_tracker_request_duration_seconds_bucket", "seedline-tracker"),
                          ("seedline_seeder_peers_connected", "seedline-seeder"),
                          ("seedline_seeder_uploaded_bytes_total", "seedline-seeder")):
            result = wait_for(f"a {name} series", lambda n=name: self.query(n), timeout=30)
            self.assertEqual(result[0]["metric"].get("job"), job)

    def test_alert_rules_load_and_evaluate(self):
        names = [a for a, _ in alert_exprs()]
        self.assertGreaterEqual(len(names), 10)

        def evaluated():
            groups = get_json(f"{self.stack.prometheus}/api/v1/rules")["data"]["groups"]
            rules = [r for g in groups for r in g["rules"]]
            assert sorted(r["name"] for r in rules) == sorted(names), rules
            assert all(not r["lastEvaluation"].startswith("0001") for r in rules), "not yet"
            return rules

        for r in wait_for("every rule to be evaluated", evaluated, timeout=30):
            self.assertEqual((r["name"], r["health"], r.get("lastError", "")), (r["name"], "ok", ""))

    def test_no_alert_fires_on_a_healthy_tracker(self):
        alerts = get_json(f"{self.stack.prometheus}/api/v1/alerts")["data"]["alerts"]
        firing = [a["labels"]["alertname"] for a in alerts if a["state"] == "firing"]
        self.assertEqual(firing, [])

    def test_dashboard_and_alert_queries_run(self):
        for title, expr in dashboard_exprs() + alert_exprs():
            with self.subTest(title=title):
                self.query(expr)

    def test_every_referenced_metric_is_exported(self):
        # A request from a trusted proxy without X-Forwarded-For gets a failure reply,
        # so that failures_total (which appears with its first sample) is exported.
        get(f"http://{self.stack.public}/announce")
        exported = {
            "tracker": metric_families(self.stack.metrics_text()),
            "seeder": metric_families(self.stack.seeder_metrics_text()),
        }
        files = [("grafana", "seedline-tracker.json"), ("grafana", "seedline-seeder.json"),
                 ("prometheus", "alerts.yml")]
        for path in files:
            text = read(deploy_path(*path))
            for part, names in exported.items():
                used = set(re.findall(rf"seedline_{part}_[a-z_]+", text))
                with self.subTest(file=path[-1], by=part):
                    self.assertEqual(sorted(used - names), [], f"not exported by the {part}")
