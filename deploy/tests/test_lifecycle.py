"""The container's health check against the running tracker, the compose file through
docker-compose's own validation, and, last, a graceful stop: the tracker exits 0 on
SIGTERM within its grace period, having made no system call that the unit's
SystemCallFilter lines would refuse."""

import json
import os
import re
import unittest

from harness import ROOT, deploy_path, free_ports, read, run
from stack import allowed_syscalls, unit_syscall_filter


def healthcheck_argv():
    """The HEALTHCHECK CMD of the Dockerfile, as the exec-form JSON array it is."""
    text = read(deploy_path("container", "Dockerfile")).replace("\\\n", " ")
    m = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])\s*$", text, re.M)
    if not m:
        raise AssertionError("no exec-form HEALTHCHECK CMD in the Dockerfile")
    return json.loads(m.group(1))


def syscall_group(name, seen=None):
    """Every system call in a systemd syscall-filter group, nested groups expanded."""
    seen = set() if seen is None else seen
    if name in seen:
        return set()
    seen.add(name)
    r = run(["systemd-analyze", "syscall-filter", "--no-pager", name])
    if r.returncode != 0:
        raise AssertionError(f"systemd-analyze syscall-filter {name}: {r.stderr}")
    out = set()
    for line in r.stdout.splitlines()[1:]:
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        out |= syscall_group(item, seen) if item.startswith("@") else {item}
    return out


class Lifecycle(unittest.TestCase):
    stack = None  # set by run.py

    def test_container_healthcheck_command(self):
        argv = healthcheck_argv()
        self.assertEqual(argv[:2], ["bash", "-c"])
        script = argv[2]
        self.assertIn("/6969", script)
        live = run(["bash", "-c", script.replace("/6969", f"/{self.stack.public_port}")], timeout=15)
        self.assertEqual(live.returncode, 0, live.stderr)
        (closed,) = free_ports(1)
        dead = run(["bash", "-c", script.replace("/6969", f"/{closed}")], timeout=15)
        self.assertNotEqual(dead.returncode, 0)

    def test_compose_file_validates(self):
        # docker-compose 1.x from Debian validates the file without a Docker engine. It
        # predates the top-level `name:` key of the Compose Specification, so that line
        # is removed from the text it checks (read from stdin, paths relative to here).
        text = re.sub(r"(?m)^name: .*\n", "", read(deploy_path("container", "compose.yaml")))
        r = run(["docker-compose", "-f", "-", "config"], timeout=60, input=text,
                cwd=deploy_path("container"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"context: {ROOT}\n", r.stdout)
        for path in re.findall(r"^\s*- (/[^:\n]+):", r.stdout, re.M):
            if not path.endswith("/tls"):  # the operator's certificates
                self.assertTrue(os.path.exists(path), f"compose.yaml mounts missing {path}")

    def test_zz_graceful_stop_inside_the_unit_sandbox(self):
        # Runs last (its name sorts last): it stops the tracker.
        code, took = self.stack.stop_tracker()
        log = self.stack.procs.log("tracker")
        self.assertEqual(code, 0, log[-2000:])
        self.assertLess(took, self.stack.grace + 2, f"stopping took {took:.1f} s")
        self.assertIn("connections drained", log)
        used, families, writes = self.stack.syscalls()
        self.assertGreater(len(used), 20, used)
        lines = unit_syscall_filter()
        allowed = allowed_syscalls(lines, lambda i: syscall_group(i) if i.startswith("@") else {i})
        self.assertEqual(sorted(used - allowed), [],
                         f"system calls the unit's SystemCallFilter refuses ({lines})")
        # The sweeps ran on background threads that put themselves under the idle
        # policy (issue 21), through the filter.
        self.assertIn("sched_setscheduler", used)
        unit = read(deploy_path("systemd", "seedline-tracker.service"))
        restricted = re.search(r"^RestrictAddressFamilies=(.*)$", unit, re.M).group(1).split()
        self.assertTrue(families, "no socket() seen in the trace")
        self.assertEqual(sorted(families - set(restricted)), [], "RestrictAddressFamilies")
        # ProtectSystem=strict: nothing is writable but the StateDirectory (and /dev/null);
        # the state file was saved there at shutdown, through the syscall filter.
        outside = [w for w in writes if w != "/dev/null" and not w.startswith(self.stack.state_dir + "/")]
        self.assertEqual(outside, [], "files opened for writing outside the state directory")
        self.assertTrue(os.path.exists(self.stack.state_file), "state file saved at shutdown")
        self.assertIn("state saved", log)
