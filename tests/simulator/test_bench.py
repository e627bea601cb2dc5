"""The submit_sm rate measurement the benchmark script uses, run small against our simulator."""

from __future__ import annotations

from simulator.bench import measure_submit_rate


async def test_pipelined_client_gets_every_submit_answered(sim):
    """A client keeping 64 submit_sm in flight gets all 2,000 answered and reports a rate (how fast is
    the benchmark's to judge: ``scripts/bench`` sets it against a budget)."""
    rate = await measure_submit_rate("127.0.0.1", sim.port, "selfcare", "secret", 2000, 64)
    assert rate > 0
    assert len(sim.simulator.mt) == 2000
