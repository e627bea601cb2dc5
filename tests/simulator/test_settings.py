"""``simulator.load_simulator_settings``: the ``[simulator]`` section of gateway.toml, refused naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError
from simulator import SimulatorSettings, load_simulator_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_embedded_default_is_the_documented_defaults() -> None:
    """config/gateway.toml's [simulator]: SMPP on 127.0.0.1:2775, control on 8025, no extra account."""
    settings = load_simulator_settings(environ={})
    assert settings == SimulatorSettings()
    assert (settings.host, settings.port, settings.control_port) == ("127.0.0.1", 2775, 8025)
    assert settings.accounts == {}


def test_the_gateways_sections_are_not_checked_here(tmp_path: Path) -> None:
    """Only [simulator] is the simulator's: another section's keys are the gateway's to refuse."""
    path = write(tmp_path, '[http]\nprot = 1\n[simulator]\nport = 2776\n[simulator.accounts]\nbank = "pw"\n')
    settings = load_simulator_settings(path, environ={"GATEWAY_HTTP_PROT": "1"})
    assert settings.port == 2776 and settings.accounts == {"bank": "pw"}


def test_environment_overrides(tmp_path: Path) -> None:
    """GATEWAY_SIMULATOR_<KEY> beats the file, as the gateway's variables do."""
    path = write(tmp_path, "[simulator]\nport = 2776\n")
    settings = load_simulator_settings(path, environ={"GATEWAY_SIMULATOR_PORT": "2777",
                                                      "GATEWAY_SIMULATOR_SYSERR_RATIO": "0.5"})
    assert (settings.port, settings.syserr_ratio) == (2777, 0.5)


@pytest.mark.parametrize(("text", "environ", "message"), [
    ("[simulator.accounts]\nbank = 1\n", {}, "simulator.accounts: expected a table of strings"),
    ("[simulator]\nsyserr_ratio = 1.5\n", {}, "simulator.syserr_ratio: must be between 0 and 1"),
    ("[simulator]\nresponse_delay = -1.0\n", {}, "simulator.response_delay: must not be negative"),
    ("[simulator]\nport = 70000\n", {}, "simulator.port: not a TCP port: 70000"),
    ("[simulator]\nmax_stored_mt = 0\n", {}, "simulator.max_stored_mt: must be greater than 0"),
    ("[simulator]\nussd_timeout = nan\n", {}, "simulator.ussd_timeout: expected a finite number"),
    ('[simulator]\nussd_vendor = "huawei"\n', {}, "simulator.ussd_vendor: unknown USSD vendor 'huawei'"),
    ('[simulator.accounts]\nbank-with-a-long-id = "pw"\n', {}, "simulator.accounts.bank-with-a-long-id: system id"),
    ("[simulator]\nprot = 1\n", {}, "simulator.prot: unknown key"),
    ("simulator = 1\n", {}, "simulator: expected a table"),
    ("", {"GATEWAY_SIMULATOR_ACCOUNTS": "a=b"}, "GATEWAY_SIMULATOR_ACCOUNTS: simulator.accounts cannot be set"),
    ("", {"GATEWAY_SIMULATOR_PROT": "1"}, "GATEWAY_SIMULATOR_PROT: unknown setting"),
    ("", {"GATEWAY_SIMULATOR_PORT": "x"}, "simulator.port (from GATEWAY_SIMULATOR_PORT)"),
])
def test_errors_name_the_key(tmp_path: Path, text: str, environ: dict[str, str], message: str) -> None:
    """Wrong types, bad values, unknown keys and variables are refused naming the key."""
    with pytest.raises(ConfigError) as info:
        load_simulator_settings(write(tmp_path, text), environ=environ)
    assert str(info.value).startswith(message)
