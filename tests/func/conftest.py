"""Fixtures of the functional tests (run as root; see vnet.py for the helpers).

    netns()            a fresh namespace "vnt-XXXXXXXX" with lo up and IPv6 off,
                       deleted at teardown even when the test fails
    vnetd(conf, ...)   a vnetd started in the foreground on a YAML config written
                       into tmp_path; stopped at teardown with SIGTERM, which must
                       give exit status 0, remove its sockets and leave no
                       sanitizer report in its log
    procs              background processes, stopped by PID at teardown
    servers            a list for host-side servers (close()d at teardown)

The logs of a failed test's daemons are attached to its report.
"""
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import vnet  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "vm: boots QEMU guests (slow)")


def pytest_sessionstart(session):
    missing = [str(p) for p in (vnet.VNETD, vnet.VNETCTL) if not os.access(p, os.X_OK)]
    if missing:
        raise pytest.UsageError(f"vnet binaries not found: {missing} (VNET_BUILD={vnet.BUILD}); "
                                "run 'make build' or 'make asan'")
    if os.geteuid() != 0:
        raise pytest.UsageError("the functional tests need root (namespaces, taps)")
    for tool in ("ip", "ping"):
        if not shutil.which(tool):
            raise pytest.UsageError(f"'{tool}' is missing")


def pytest_report_header(config):
    return f"vnet build: {vnet.BUILD}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for d in getattr(item, "_vnet_daemons", []):
            text = d.log()
            if len(text) > 30000:
                text = "[... cut ...]\n" + text[-30000:]
            rep.sections.append((f"{d.name} log ({d.log_path})", text))


@pytest.fixture
def procs():
    p = vnet.Procs()
    yield p
    p.cleanup()


@pytest.fixture
def servers():
    """Host-side servers of the test (objects with close()), closed at teardown."""
    made = []
    yield made
    for s in reversed(made):
        s.close()


@pytest.fixture
def netns(procs):
    made = []

    def factory():
        ns = vnet.Netns(procs)
        made.append(ns)
        return ns

    yield factory
    procs.cleanup()  # nothing of ours keeps running inside a namespace we delete
    for ns in made:
        ns.delete()


@pytest.fixture
def vnetd(request, tmp_path, netns, procs):
    daemons = []
    request.node._vnet_daemons = daemons

    def factory(conf, name="vnetd", args=(), start=True, prefix=()):
        d = vnet.Vnetd(tmp_path, conf, name=name, args=args, procs=procs, prefix=prefix)
        daemons.append(d)
        if start:
            d.start()
        return d

    yield factory
    errors = []
    for d in daemons:
        if d.proc is None or d.proc.returncode is not None and d._logf.closed:
            continue  # never started, or already stopped (and checked) by the test
        try:
            d.stop()
        except AssertionError as e:
            errors.append(f"{d.name}: {e}")
        finally:
            d.kill()
    if errors:
        pytest.fail("vnetd teardown: " + "; ".join(errors), pytrace=False)
