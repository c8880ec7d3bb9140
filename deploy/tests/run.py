#!/usr/bin/python3
"""Tests for deploy/: every shipped file checked by the real program that reads it, and
the tracker run end to end behind the shipped nginx and HAProxy configurations with a
real Prometheus scraping it. Python 3 standard library only; Linux; 127.0.0.1 only.

    /usr/bin/python3 deploy/tests/run.py [--tracker PATH] [--seeder PATH] [--keep] [-v]

Builds target/debug/tracker and seeder with cargo unless both are given. Needs, from Debian:
nginx haproxy prometheus openssl strace docker-compose (systemd-analyze comes with
systemd). Prints `N passed, M failed` last; exits 1 if anything failed.
"""

import argparse
import os
import signal
import sys
import unittest

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import stack  # noqa: E402
import test_lifecycle  # noqa: E402
import test_prometheus  # noqa: E402
import test_proxies  # noqa: E402
import test_sharding  # noqa: E402
import test_static  # noqa: E402


def failed_ids(result):
    """Ids of the tests that failed; a test with failing subtests counts once."""
    out = set()
    for test, _ in result.failures + result.errors:
        out.add(getattr(test, "test_case", test).id())
    for test in result.unexpectedSuccesses:
        out.add(test.id())
    return out


class StackStartFailed(unittest.TestCase):
    error = None

    def test_stack_starts(self):
        self.fail(f"the tracker, seeder, nginx, HAProxy and Prometheus did not all start: {self.error}")


def interrupted(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tracker", help="tracker binary to test (default: build target/debug/tracker)")
    ap.add_argument("--seeder", help="seeder binary to test (default: build target/debug/seeder)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory and logs")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    # SIGTERM (a CI timeout) unwinds through the `finally` below, as Ctrl-C does.
    signal.signal(signal.SIGTERM, interrupted)

    tracker, seeder = stack.binaries(args.tracker, args.seeder)
    test_static.Static.tracker = tracker
    test_static.Static.seeder = seeder
    test_sharding.Sharding.tracker = tracker
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    suite.addTests(loader.loadTestsFromTestCase(test_static.Static))
    suite.addTests(loader.loadTestsFromTestCase(test_sharding.Sharding))

    st = stack.Stack(tracker, seeder)
    result = None
    try:
        try:
            st.start()
            for case in (test_proxies.Nginx, test_proxies.HAProxy, test_prometheus.Prometheus,
                         test_lifecycle.Lifecycle):
                case.stack = st
                suite.addTests(loader.loadTestsFromTestCase(case))
        except Exception as e:  # noqa: BLE001 - reported as a failed test
            StackStartFailed.error = e
            suite.addTests(loader.loadTestsFromTestCase(StackStartFailed))
        runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2 if args.verbose else 1)
        result = runner.run(suite)
    finally:
        st.stop()
        if result is None or not result.wasSuccessful():
            for name in ("tracker", "seeder", "nginx", "haproxy", "prometheus"):
                tail = st.procs.log(name)[-1500:]
                if tail:
                    print(f"---- {name} log (tail) ----\n{tail}")
        if args.keep:
            print(f"kept {st.dir}")
        else:
            st.cleanup()

    failed = len(failed_ids(result))
    passed = result.testsRun - failed - len(result.skipped)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
