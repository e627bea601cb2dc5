"""``demo`` (what ``scripts/run`` starts): simulator + gateway answer USSD and SMS."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.net import free_port


@pytest.fixture
def demo(tmp_path: Path, request: pytest.FixtureRequest):
    """The demo running; ``@pytest.mark.parametrize("demo", [[args...]], indirect=True)`` adds arguments."""
    extra = list(getattr(request, "param", []))
    http, smpp, control = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_LOGGING_LEVEL"] = "warning"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "demo", "--db", str(tmp_path / "demo.db"),
         "--http-port", str(http), "--smpp-port", str(smpp), "--control-port", str(control), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    deadline = time.monotonic() + 30
    banner = []
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        banner.append(line)
        if line.startswith("Ctrl-C"):
            break
    yield proc, "".join(banner), http, control, env
    proc.terminate()
    try:
        proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:  # pragma: no cover - only if shutdown hangs
        proc.kill()
        proc.communicate()


def cli(env, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=30)


def test_demo_answers_ussd_and_sms(demo):
    """The demo prints numbers and PINs, answers *124# over USSD and BAL / TOP over SMS."""
    proc, banner, http, control, env = demo
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    assert "012345678" in banner and "11112222333301" in banner
    # the SMS side binds a moment after HTTP starts listening
    time.sleep(1.0)
    dialled = cli(env, "dial", "012345678", "*124#", "--url", f"http://127.0.0.1:{http}/ussd")
    assert dialled.returncode == 0 and "$6.00" in dialled.stdout
    url = f"http://127.0.0.1:{control}"
    sms = cli(env, "sms", "012345678", "888", "BAL", "--control-url", url, "--wait", "10")
    assert sms.returncode == 0, sms.stderr
    assert "Main balance: $6.00" in sms.stdout
    topup = cli(env, "sms", "+855 12 000 222", "888", "top 11112222333301", "--control-url", url, "--wait", "10")
    assert "Top-up of $5.00 successful" in topup.stdout and "$4.00 restored" in topup.stdout


@pytest.mark.parametrize("demo", [["--profile", "smart-np"]], indirect=True)
def test_the_demo_on_smart_np_answers_prepaid_and_postpaid_lines(demo):
    """``scripts/run --profile smart-np``: Nepal's numbers and rupees; a postpaid line's *124# shows its
    bill against the deposit (004 7.x), a prepaid line's BAL its balance, over USSD and SMS."""
    proc, banner, http, control, env = demo
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    assert "9802000111" in banner and "Smart Telecom" in banner, banner
    url = f"http://127.0.0.1:{http}/ussd"
    postpaid = cli(env, "dial", "9802000111", "*124#", "--url", url)
    assert postpaid.returncode == 0, postpaid.stderr
    assert "Rs 1,200.50" in postpaid.stdout and "Rs 5,000.00" in postpaid.stdout, postpaid.stdout
    time.sleep(1.0)  # the SMS side binds a moment after HTTP starts listening
    env = {**env, "GATEWAY_OPERATOR_PROFILE": "smart-np"}  # as the banner says: commands read the configuration
    sms = cli(env, "sms", "9801234567", "888", "BAL", "--control-url", f"http://127.0.0.1:{control}", "--wait", "10")
    assert sms.returncode == 0, sms.stderr
    assert "Rs 500.00" in sms.stdout, sms.stdout


def test_the_cli_inspects_the_demo_database(tmp_path: Path) -> None:
    """--demo reaches the database demo seeded (var/demo.db) under the demo secret, which stays refused without it."""
    import argparse

    from gateway.app import build_gateway
    from gateway.cli.demo import DEMO_DB, demo_settings
    from gateway.config import load_settings
    from gateway.demo_seed import seed

    ports = argparse.Namespace(db=str(tmp_path / DEMO_DB), http_port=None, smpp_port=None, control_port=None)
    gateway = build_gateway(demo_settings(load_settings(), ports))
    try:
        seed(gateway.services)
    finally:
        gateway.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=60)

    shown = run("--demo", "subscribers", "show", "012345678")
    plain = run("subscribers", "show", "012345678")

    assert shown.returncode == 0, shown.stderr
    assert '"display": "$6.00"' in shown.stdout
    assert plain.returncode == 2 and "security.pin_secret" in plain.stderr
    assert not (tmp_path / "var" / "gateway.db").exists()
