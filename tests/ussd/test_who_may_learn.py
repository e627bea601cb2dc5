"""Who may learn what, over a real HTTP server: gift answers and lost SIMs (issue 13, items 12 and 14)."""

from __future__ import annotations

from tests.support.ussd import ME, OTHER

STRANGER = "85597000001"     # not a subscriber of ours
MISSING = "011111111"        # never ours, as a subscriber types it
LOST_SCREEN = "END This SIM is reported lost. Visit a Smart shop with your ID for a new SIM."
REFUSED = "END Top-up not made. Check the card PIN and the number. {} attempt(s) left."


class TestGiftAnswers:
    async def test_a_used_pin_reads_the_same_for_a_real_and_a_missing_number(self, world):
        """*123*USED*NUMBER# from a stranger: the same screen whether NUMBER is ours or not."""
        world.add(ME)
        [pin] = world.vouchers()
        await world.phone.dial("*123#", pin)  # ME uses it
        _, real = await world.phone.post("g1", "*123#", f"{pin}*012345678", msisdn=STRANGER)
        _, missing = await world.phone.post("g2", "*123#", f"{pin}*{MISSING}", msisdn=STRANGER)
        assert (real, missing) == (REFUSED.format(4), REFUSED.format(3))

    async def test_a_made_up_pin_reads_the_same_in_the_menu_for_either_number(self, world):
        """The self-care gift path: a wrong PIN to a real or a missing number, one answer, counted."""
        world.add(ME)
        world.add(OTHER, language="km")
        wrong = "11112222333344"
        real = await world.phone.dial("*100#", "2", "2", "012345678", wrong, msisdn=OTHER)
        missing = await world.phone.dial("*100#", "2", "2", MISSING, wrong, msisdn=OTHER)
        assert real[-1] == "END មិនបានបញ្ចូលលុយទេ។ សូមពិនិត្យលេខកូដកាត និងលេខទូរស័ព្ទ។ នៅសល់ 4 ដង។"
        assert missing[-1] == "END មិនបានបញ្ចូលលុយទេ។ សូមពិនិត្យលេខកូដកាត និងលេខទូរស័ព្ទ។ នៅសល់ 3 ដង។"

    async def test_a_valid_pin_to_a_missing_number_is_not_spent(self, world):
        """The giver is told to check; the card still works for a number that is ours."""
        world.add(ME)
        [pin] = world.vouchers()
        _, body = await world.phone.post("g3", "*123#", f"{pin}*{MISSING}", msisdn=STRANGER)
        assert body == REFUSED.format(4)
        _, body = await world.phone.post("g4", "*123#", f"{pin}*012345678", msisdn=STRANGER)
        assert body == "END Top-up of $5.00 sent to 012345678."


class TestLostSim:
    async def _lose(self, world) -> None:
        world.add(ME, id_number="N123456")
        world.add(OTHER)
        screens = await world.phone.dial("*100#", "3", "012345678", "N123456", "1", msisdn=OTHER)
        assert screens[-1].startswith("END SIM of 012345678 blocked at ")

    async def test_the_lost_sim_can_top_up_nothing(self, world):
        """*123*PIN#, *123*PIN*NUMBER#, *123# and the menu's gift path: all refused, the card unspent."""
        await self._lose(world)
        [pin] = world.vouchers()
        _, own = await world.phone.post("l1", "*123#", pin)
        _, gift = await world.phone.post("l2", "*123#", f"{pin}*098765432")
        assert own == gift == LOST_SCREEN
        assert (await world.phone.dial("*123#"))[-1] == LOST_SCREEN
        assert (await world.phone.dial("*100#", "2", "2", "098765432", pin))[-1] == LOST_SCREEN
        assert world.sql("SELECT status FROM vouchers")[0][0] == "active"

    async def test_the_lost_sim_can_change_nothing(self, world):
        """Marketing consent, language and lost reports from the lost SIM: the lost screen, nothing changed."""
        await self._lose(world)
        assert (await world.phone.dial("*1204#"))[-1] == LOST_SCREEN
        assert (await world.phone.dial("*100#", "4", "1"))[-1] == LOST_SCREEN
        assert (await world.phone.dial("*100#", "5", "2"))[-1] == LOST_SCREEN
        assert (await world.phone.dial("*100#", "3", "098765432", "N123456", "1"))[-1] == LOST_SCREEN
        shown = world.gateway.services.show_subscriber(ME)
        assert shown["marketing_opt_in"] is True and shown["language"] == "en"
        assert world.gateway.services.show_subscriber(OTHER)["lost"] is None

    async def test_a_gift_to_the_lost_line_is_credited(self, world):
        """Another phone may still top up the lost line: the funds wait for the new SIM."""
        await self._lose(world)
        [pin] = world.vouchers()
        _, body = await world.phone.post("l3", "*123#", f"{pin}*012345678", msisdn=OTHER)
        assert body == "END Top-up of $5.00 sent to 012345678."
        assert world.gateway.services.show_subscriber(ME)["balances"]["main"]["minor"] == 1100
