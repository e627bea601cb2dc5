"""SMSC simulator and phone emulator, for operators' tests (``ussd-gateway smsc-sim``).

Public entry point: ``start_simulator(settings, gateway, port=…, control_port=…)`` →
``RunningSimulator`` (bound ``port``/``control_port``, ``control_url``,
``simulator`` with the MT store and ``inject_mo``, ``await close()``); its settings are
``simulator.settings`` (``load_simulator_settings``: the ``[simulator]`` section).
"""

from simulator.runner import RunningSimulator, start_simulator
from simulator.settings import SimulatorSettings, load_simulator_settings

__all__ = ["RunningSimulator", "SimulatorSettings", "load_simulator_settings", "start_simulator"]
