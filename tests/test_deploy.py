"""``deploy/``: the health check the container and the unit use, and the files they are made of.

Docker and systemd do not run here, so the files are read as they would
be: the compose file as YAML, the unit as an INI file, the Dockerfile's
instructions as lines. What can be checked against the real thing is: the
URLs they probe are routes a running gateway (or simulator) answers, on the
port its configuration gives; their ``GATEWAY_*`` variables are settings the
gateway accepts; the commands they run exist. The health check itself runs
against a real ``serve`` whose SMSC is down, then up.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
import subprocess
import sys
import urllib.parse
from pathlib import Path

import yaml

from gateway.cli import build_parser
from gateway.config import DEFAULT_CONFIG, load_settings
from simulator import load_simulator_settings
from tests.support.net import free_port
from tests.support.servers import sms_env

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SECRET = "compose-secret-0123456789"


def healthcheck(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.healthcheck", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_the_health_check_follows_readyz(tmp_path: Path, server_factory, smsc_factory) -> None:
    """SMSC down: not ready (the reason on stderr), unless smpp is allowed; a waiting check passes once bound."""
    smsc = smsc_factory(tmp_path)  # not started yet: the SMSC is down
    server = server_factory(tmp_path, **sms_env(smsc)).start()
    url = f"http://127.0.0.1:{server.port}/readyz"
    down = healthcheck(url)
    assert down.returncode == 1 and down.stderr == "not ready: smpp: not bound to the SMSC\n"
    assert healthcheck(url, "--allow", "smpp").returncode == 0
    with subprocess.Popen([sys.executable, "-m", "gateway.healthcheck", url, "--wait", "30"],
                          stderr=subprocess.PIPE, text=True) as waiting:
        try:
            smsc.start()
            _, err = waiting.communicate(timeout=40)
            assert waiting.returncode == 0, err
        finally:
            if waiting.poll() is None:
                waiting.kill()
    assert healthcheck(url).returncode == 0


def test_the_health_check_says_when_nothing_answers() -> None:
    """Nothing listening: exit 1 after the wait, naming the URL."""
    url = f"http://127.0.0.1:{free_port()}/readyz"
    found = healthcheck(url, "--wait", "1")
    assert found.returncode == 1 and found.stderr.startswith(f"not ready: no answer from {url}")


def _dockerfile() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (DEPLOY / "Dockerfile").read_text(encoding="utf-8"))
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read(DEPLOY / "systemd" / "selfcare-gateway.service", encoding="utf-8")
    return unit


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def _env(mapping: dict) -> dict[str, str]:
    """A compose ``environment`` with its ``${VAR:?...}`` filled in as the operator would."""
    return {k: re.sub(r"\$\{GATEWAY_SECURITY_PIN_SECRET:\?[^}]*\}", SECRET, str(v)) for k, v in mapping.items()}


def _probe(command: list[str]) -> str:
    """The URL a health-check command asks (``python -m gateway.healthcheck URL ...``)."""
    assert Path(command[0]).name == "python" and command[1:3] == ["-m", "gateway.healthcheck"], command
    return command[3]


def test_the_probes_ask_the_real_routes_on_the_configured_ports(tmp_path: Path, server_factory,
                                                                smsc_factory) -> None:
    """Dockerfile, compose and unit probe /readyz on [http] port and the simulator on its control port."""
    [docker] = [json.loads(line.split(" CMD ", 1)[1]) for line in _dockerfile() if line.startswith("HEALTHCHECK ")]
    services = _compose()["services"]
    unit = _unit()
    gateway_urls = [_probe(docker), _probe(services["gateway"]["healthcheck"]["test"][1:]),
                    _probe(shlex.split(unit["Service"]["ExecStartPost"]))]
    simulator_url = _probe(services["smsc"]["healthcheck"]["test"][1:])

    defaults = load_settings(DEFAULT_CONFIG, environ={})
    smsc = smsc_factory(tmp_path).start()
    server = server_factory(tmp_path, **sms_env(smsc)).start()
    for url in gateway_urls:
        parts = urllib.parse.urlsplit(url)
        assert (parts.hostname, parts.port) == ("127.0.0.1", defaults.http.port), url
        status, body = server.get(parts.path)
        assert status in (200, 503) and set(json.loads(body)) == {"ready", "reasons"}, (url, status, body)
    parts = urllib.parse.urlsplit(simulator_url)
    assert parts.port == load_simulator_settings(DEFAULT_CONFIG, environ={}).control_port
    assert isinstance(smsc.request("GET", parts.path), list)


def test_the_deploy_files_use_settings_and_commands_that_exist() -> None:
    """Every GATEWAY_* variable is a setting the gateway accepts; every command is one it has."""
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "smsc", "migrate", "gateway"} <= set(services)
    for name in ("smsc", "migrate", "gateway"):
        env = _env(services[name]["environment"])
        settings = load_settings(DEFAULT_CONFIG, environ=env)
        assert settings.database.url.startswith("postgresql://") and settings.smpp.host == "smsc", name
        settings.require_pin_secret()
        build_parser().parse_args(services[name]["command"])  # a command the CLI has (exit 2 if not)
    assert services["gateway"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["gateway"]["deploy"]["replicas"] >= 2  # N gateways on one database

    instructions = _dockerfile()
    env: dict[str, str] = {}
    for line in instructions:
        if line.startswith("ENV "):
            env.update(pair.split("=", 1) for pair in shlex.split(line[4:]))
        if line.startswith("COPY ") and "--from=" not in line:
            for source in shlex.split(line)[1:-1]:
                assert (ROOT / source).exists(), source  # the build context is the checkout's root
    assert load_settings(DEFAULT_CONFIG, environ=env).http.host == "0.0.0.0"
    assert [line for line in instructions if line.startswith("FROM ")][-1].startswith("FROM python:3.11-slim")
    user = [n for n, line in enumerate(instructions) if line.startswith("USER ")]
    entry = [n for n, line in enumerate(instructions) if line.startswith("ENTRYPOINT ")]
    assert user and entry and user[-1] < entry[0] and instructions[user[-1]] != "USER root"  # runs unprivileged
    assert json.loads(instructions[entry[0]].split(" ", 1)[1]) == ["ussd-gateway"]

    service = _unit()["Service"]
    start = shlex.split(service["ExecStart"])
    assert Path(start[0]).name == "ussd-gateway"
    build_parser().parse_args(start[1:])
    assert service["User"] != "root" and service["RestartPreventExitStatus"] == "2"
