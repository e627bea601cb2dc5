"""Secrets and PINs never reach a log; phone numbers are masked."""

import io
import logging

import structlog

from gateway.domain.channels import Channel
from gateway.domain.errors import GatewayError
from gateway.logs import configure_logging
from gateway.services.model import ReportLost, TopUp
from tests.support.world import SECRET

ME = "85512345678"


def test_a_redeemed_pin_appears_nowhere_in_the_logs(world):
    """Top-ups, refusals and lost reports log outcomes with masked numbers, never a PIN or ID."""
    stream = io.StringIO()
    configure_logging("debug", "json")
    handler = logging.getLogger().handlers[0]
    handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        world.add(ME, id_number="ID778899")
        [pin] = world.vouchers()
        world.services.top_up(TopUp(ME, pin, Channel.USSD))
        for attempt in (pin, "12345678901234"):
            try:
                world.services.top_up(TopUp(ME, attempt, Channel.SMS))
            except GatewayError:
                pass
        world.services.report_lost_sim(ReportLost("85598765432", ME, "ID778899", Channel.USSD))
        structlog.get_logger("test").info("free_text", text=f"TOP {pin}", msisdn=ME)
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
    output = stream.getvalue()
    assert "voucher_redeemed" in output and "lost_sim_reported" in output and "topup_refused" in output
    assert pin not in output
    assert "ID778899" not in output and SECRET not in output
    assert ME not in output and "855*****678" in output
