"""SMSC simulator and phone emulator, for operators' tests (``ussd-gateway smsc-sim``).

Public entry point: ``start_simulator(settings, port=…, control_port=…)`` →
``RunningSimulator`` (bound ``port``/``control_port``, ``control_url``,
``simulator`` with the MT store and ``inject_mo``, ``await close()``).
"""

from simulator.runner import RunningSimulator, start_simulator

__all__ = ["RunningSimulator", "start_simulator"]
