"""Whole dialogues through a real HTTP server: every self-care path, both languages."""

from __future__ import annotations

from datetime import timedelta

from tests.support.ussd import ME, OTHER


class TestBalance:
    async def test_quick_code_shows_balance_and_expiry_and_ends(self, world):
        """*124# answers the main balance and its expiry date at once."""
        world.add()
        [screen] = await world.phone.dial("*124#")
        assert screen == "END Main balance: $6.00, valid until 01/12/2026."

    async def test_quick_balance_writes_nothing(self, world):
        """A one-step read leaves no session behind."""
        world.add()
        await world.phone.dial("*124#")
        assert world.sql("SELECT COUNT(*) FROM ussd_sessions")[0][0] == 0

    async def test_balance_from_menu_in_khmer(self, world):
        """A Khmer speaker gets the menu and the balance in Khmer."""
        world.add(language="km")
        screens = await world.phone.dial("*100#", "1")
        assert screens[0].startswith("CON សេវាអតិថិជន Smart")
        assert screens[-1].startswith("END សមតុល្យចម្បង៖ $6.00")

    async def test_barred_line_is_told_its_deadline(self, world):
        """An expired line hears that outgoing calls are barred and until when to top up."""
        world.add()
        world.clock.advance(timedelta(days=40))
        [screen] = await world.phone.dial("*124#")
        assert "Outgoing calls barred - top up before" in screen

    async def test_unknown_caller_is_told_politely(self, world):
        """A number that is not ours gets a polite END, not an error."""
        [screen] = await world.phone.dial("*124#", msisdn=OTHER)
        assert screen == "END 098765432 is not a Smart prepaid number."


class TestTopUp:
    async def test_menu_top_up_of_own_number(self, world):
        """*100# > 2 > 1 > PIN credits the caller and shows the new balance."""
        world.add()
        [pin] = world.vouchers()
        screens = await world.phone.dial("*100#", "2", "1", pin)
        assert screens[2] == "CON Enter the card PIN:\n0 Back"
        assert screens[-1] == "END Top-up of $5.00 successful. Balance: $11.00, valid until 01/12/2026."

    async def test_menu_top_up_of_another_number(self, world):
        """Top-up of another number says where the money went."""
        world.add()
        world.add(OTHER)
        [pin] = world.vouchers()
        screens = await world.phone.dial("*100#", "2", "2", "098765432", pin)
        assert screens[-1] == "END Top-up of $5.00 sent to 098765432."

    async def test_quick_top_up_with_pin_and_with_number(self, world):
        """*123*PIN# and *123*PIN*NUMBER# top up at once."""
        world.add()
        world.add(OTHER)
        pins = world.vouchers(2)
        status, body = await world.phone.post("q1", "*123#", pins[0])
        assert body.startswith("END Top-up of $5.00 successful")
        status, body = await world.phone.post("q2", "*123#", f"{pins[1]}*098765432")
        assert body == "END Top-up of $5.00 sent to 098765432."

    async def test_wrong_pin_used_voucher_and_khmer_refusals(self, world):
        """Wrong PIN says attempts left; a used card says so; both in the caller's language."""
        world.add()
        world.add(OTHER, language="km")
        [pin] = world.vouchers()
        screens = await world.phone.dial("*123#", "11112222333344")
        assert screens == ["CON Enter the card PIN:", "END Wrong PIN. 4 attempt(s) left."]
        await world.phone.dial("*100#", "2", "1", pin)
        _, body = await world.phone.post("w2", "*123#", pin)
        assert body == "END This card has already been used."
        _, body = await world.phone.post("w3", "*123#", pin, msisdn=OTHER)
        assert body == "END កាតនេះត្រូវបានប្រើរួចហើយ។"

    async def test_locked_after_five_wrong_pins(self, world):
        """The fifth wrong PIN locks top-up and says until when."""
        world.add()
        for n in range(5):
            _, body = await world.phone.post(f"l{n}", "*123#", "11112222333344")
        assert body.startswith("END Wrong PIN. Top-up is locked until ")

    async def test_unknown_target_is_not_told_apart(self, world):
        """Topping up a number that is not ours says to check, as a wrong PIN does, and spends nothing."""
        world.add()
        [pin] = world.vouchers()
        screens = await world.phone.dial("*100#", "2", "2", "098765432", pin)
        assert screens[-1] == "END Top-up not made. Check the card PIN and the number. 4 attempt(s) left."

    async def test_resent_top_up_credits_once(self, world):
        """The aggregator resending the final request gets the same screen; money is credited once."""
        world.add()
        [pin] = world.vouchers()
        first = await world.phone.post("r1", "*100#", f"2*1*{pin}")
        again = await world.phone.post("r1", "*100#", f"2*1*{pin}")
        assert first == again
        assert first[1].startswith("END Top-up of $5.00 successful")
        assert (await world.phone.dial("*124#"))[0].startswith("END Main balance: $11.00")

    async def test_resent_wrong_pin_counts_once(self, world):
        """A resent wrong PIN is not counted twice towards the lockout."""
        world.add()
        await world.phone.post("r2", "*123#", "11112222333344")
        _, body = await world.phone.post("r2", "*123#", "11112222333344")
        assert body == "END Wrong PIN. 4 attempt(s) left."


class TestLostSim:
    async def test_report_lost_from_another_phone(self, world):
        """Number, ID, confirm: the SIM is blocked and a reference given."""
        world.add(ME, id_number="N123456")
        world.add(OTHER)
        screens = await world.phone.dial("*100#", "3", "012345678", "N123456", "1", msisdn=OTHER)
        assert screens[3] == "CON Block the SIM of 012345678 now?\n1 Yes\n2 No\n0 Back"
        assert screens[-1].startswith("END SIM of 012345678 blocked at ")
        assert "Reference: LS-" in screens[-1]

    async def test_lost_sim_cannot_use_its_own_menus(self, world):
        """After the report, the lost SIM's balance and top-up show the lost-SIM screen."""
        world.add(ME, id_number="N123456")
        await world.phone.dial("*100#", "3", "012345678", "N123456", "1", msisdn=OTHER)
        lost = "END This SIM is reported lost. Visit a Smart shop with your ID for a new SIM."
        assert (await world.phone.dial("*124#"))[-1] == lost
        assert (await world.phone.dial("*100#", "2", "1"))[-1] == lost
        # Nor may it report another number: a lost SIM originates nothing.
        assert (await world.phone.dial("*100#", "3"))[-1] == lost

    async def test_wrong_id_and_cancel(self, world):
        """A wrong ID says attempts left; 2 on the confirmation goes back home."""
        world.add(ME, id_number="N123456")
        screens = await world.phone.dial("*100#", "3", "012345678", "X999999", "1", msisdn=OTHER)
        assert screens[-1] == "END The number and ID do not match our records. 4 attempt(s) left."
        screens = await world.phone.dial("*100#", "3", "012345678", "N123456", "2", msisdn=OTHER)
        assert screens[-1].startswith("CON Smart self-care")


class TestMarketingAndLanguage:
    async def test_stop_and_restart_marketing(self, world):
        """The menu shows the current choice; stop, then restart."""
        world.add()
        screens = await world.phone.dial("*100#", "4", "1")
        assert screens[1].startswith("CON You receive Smart offers by SMS.\nMarketing messages:")
        assert screens[2].startswith("END You will no longer receive marketing messages.")
        screens = await world.phone.dial("*100#", "4", "2")
        assert screens[1].startswith("CON You do not receive Smart offers.")
        assert screens[2].startswith("END You will receive Smart offers again.")

    async def test_quick_opt_out_says_how_to_opt_back_in(self, world):
        """*1204# stops marketing at once and says how to restart."""
        world.add()
        [screen] = await world.phone.dial("*1204#")
        assert screen == ("END You will no longer receive marketing messages. "
                          "To get them again, send START to 1204.")

    async def test_language_choice_is_saved(self, world):
        """Choosing Khmer answers in Khmer and is used from then on."""
        world.add()
        screens = await world.phone.dial("*100#", "5", "2")
        assert screens[1].startswith("CON Choose your language:")
        assert screens[-1].startswith("END ")
        assert world.gateway.services.subscriber_language(ME) == "km"
        assert (await world.phone.dial("*124#"))[0].startswith("END សមតុល្យចម្បង")
        screens = await world.phone.dial("*100#", "5", "1")
        assert screens[-1] == "END Language set to English."


class TestNavigation:
    async def test_wrong_choice_and_bad_input_keep_the_session(self, world):
        """A wrong choice or a bad PIN shows a hint and the same screen again."""
        world.add()
        screens = await world.phone.dial("*100#", "7", "2", "1", "12")
        assert screens[1].startswith("CON Invalid choice.\nSmart self-care")
        assert screens[4] == "CON A card PIN has 10 to 20 digits.\nEnter the card PIN:\n0 Back"

    async def test_back_and_home(self, world):
        """0 goes back one screen, 00 goes home."""
        world.add()
        screens = await world.phone.dial("*100#", "2", "2", "0", "0", "2", "00")
        assert screens[3].startswith("CON Top up\n1 My number")
        assert screens[4].startswith("CON Smart self-care")
        assert screens[6].startswith("CON Smart self-care")

    async def test_khmer_menu_is_paged(self, world):
        """The Khmer main menu does not fit one UCS-2 screen: 98 shows the rest, 0 comes back."""
        world.add(language="km")
        screens = await world.phone.dial("*100#", "98", "0", "5")
        assert screens[0].endswith("98 បន្ទាប់")
        assert "5 ភាសា" in screens[1] and screens[1].endswith("0 ត្រឡប់")
        assert screens[2] == screens[0]
        assert screens[3].startswith("CON ជ្រើសរើសភាសា")
        assert all(len(s) - 4 <= 80 for s in screens)

    async def test_idle_session_expires(self, world):
        """After the idle period, the next answer is told the session expired."""
        world.add()
        await world.phone.post("e1", "*100#", "")
        world.clock.advance(timedelta(seconds=181))
        _, body = await world.phone.post("e1", "*100#", "2")
        assert body == "END Your session has expired. Please dial *100# again."

    async def test_session_within_idle_period_goes_on(self, world):
        """Answers spaced under the idle period keep the dialogue alive."""
        world.add()
        await world.phone.post("e2", "*100#", "")
        for step in ("2", "2*0", "2*0*2"):
            world.clock.advance(timedelta(seconds=120))
            _, body = await world.phone.post("e2", "*100#", step)
        assert body.startswith("CON Top up")
