"""The wheel on its own: built from the source, installed in a fresh venv, initialised, served.

No network: the wheel is built with this environment's setuptools
(``--no-build-isolation``) and installed ``--no-index --no-deps``; the new
venv finds its dependencies through a ``.pth`` naming this environment's
site-packages, where the project itself is only an editable finder that
nothing there activates. Everything runs from a folder outside the
checkout, and the test asserts the code that answers is the venv's copy.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.parse
import zipfile
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent
#: The operator console's token in the installed gateway (long enough for the console to accept it).
CONSOLE_TOKEN = "wheel-test-operator-token-0123456789"
#: What the build needs of the checkout, and what it must not carry along.
_NOT_SOURCE = shutil.ignore_patterns(".venv", ".git", "var", "build", "dist", "*.egg-info", "__pycache__",
                                     ".mypy_cache", ".pytest_cache", ".hypothesis", "tests", "benchmarks")


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _shipped_files() -> set[str]:
    """Every file of the packages that is not Python source: menus, texts, web assets, specs."""
    found = set()
    for package in ("gateway", "menus", "simulator"):
        for path in (ROOT / package).rglob("*"):
            if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts:
                found.add(str(path.relative_to(ROOT)))
    return found


def _http(port: int, method: str, path: str, body: str = "", token: str = "") -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


@pytest.mark.slow
def test_the_wheel_installs_initialises_and_serves_without_the_checkout(tmp_path: Path) -> None:
    """Build, install in a fresh venv, ``init``, ``db migrate``, ``serve``: a balance over USSD and /readyz."""
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_") and k != "PYTHONPATH"}
    _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "--no-index",
          "--disable-pip-version-check", "-q", "-w", str(tmp_path / "dist")], source, env)
    [wheel] = (tmp_path / "dist").glob("selfcare_gateway-*.whl")

    # The configuration and profiles are in it, as the checkout has them; so is every data file.
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for config in (ROOT / "config").rglob("*.toml"):
            inside = "gateway/defaults/" + str(config.relative_to(ROOT / "config"))
            assert archive.read(inside) == config.read_bytes(), inside
    assert _shipped_files() <= names, sorted(_shipped_files() - names)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "--no-deps",
          "--disable-pip-version-check", "-q", str(wheel)], tmp_path, env)
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     tmp_path, env).strip())
    dependencies = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "zz_test_dependencies.pth").write_text("\n".join(dependencies) + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = json.loads(_run([str(python), "-c", "import json, gateway, menus, simulator, gateway.config as c; "
                                                "print(json.dumps([gateway.__file__, menus.__file__, "
                                                "simulator.__file__, str(c.DEFAULT_CONFIG)]))"],
                            work, env))
    for path in where:
        assert Path(path).is_relative_to(venv) and not Path(path).is_relative_to(ROOT), where
    assert where[3].endswith("gateway/defaults/gateway.toml")

    tool = str(venv / "bin" / "ussd-gateway")
    folder = tmp_path / "site"
    assert "wrote" in _run([tool, "init", str(folder)], work, env)
    config = str(folder / "gateway.toml")
    _run([tool, "db", "migrate", "--config", config], work, env)
    _run([tool, "subscribers", "add", "012345678", "--balance", "6", "--config", config], work, env)

    port, admin = free_port(), free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen([tool, "serve", "--config", config], cwd=work, stdout=log, stderr=log,
                              env={**env, "GATEWAY_HTTP_PORT": str(port), "GATEWAY_SMPP_ENABLED": "false",
                                   "GATEWAY_LOGGING_FORMAT": "json", "GATEWAY_ADMIN_PORT": str(admin),
                                   "GATEWAY_ADMIN_TOKEN": CONSOLE_TOKEN})
    try:
        def up() -> bool:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            try:
                return _http(port, "GET", "/healthz")[0] == 200
            except OSError:
                time.sleep(0.05)
                return False

        wait_for(up, 30, "serve from the wheel")
        status, ready = _http(port, "GET", "/readyz")
        assert (status, json.loads(ready)) == (200, {"ready": True, "reasons": []})
        body = urllib.parse.urlencode({"sessionId": "pkg-1", "serviceCode": "*124#", "phoneNumber": "+85512345678",
                                       "text": ""})
        status, screen = _http(port, "POST", "/ussd", body)
        assert status == 200 and screen.startswith("END ") and "$6.00" in screen, screen
        # The console, with its pages and assets from the wheel: the line just added, and its sign-in page.
        status, line = _http(admin, "GET", "/admin/api/subscribers/012345678", token=CONSOLE_TOKEN)
        assert status == 200 and json.loads(line)["msisdn"] == "85512345678", line
        assert _http(admin, "GET", "/admin/api/subscribers/012345678")[0] == 401
        status, page = _http(admin, "GET", "/admin/login")
        assert status == 200 and "Access token" in page
        assert _http(admin, "GET", "/admin/static/console.css")[0] == 200
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
        log.close()
    assert (folder / "var" / "gateway.db").is_file()  # the database went where init said
