"""How the gateway's record of a dialogue and an aggregator's report combine (``gateway.domain.funnel``)."""

from gateway.domain.funnel import Outcome, Reported, agrees, combined


def test_the_aggregators_failed_makes_any_dialogue_failed():
    """The subscriber did not get our screen, whatever we recorded."""
    assert {combined(ours, Reported.FAILED) for ours in Outcome} == {Outcome.FAILED}


def test_an_incomplete_after_our_end_is_still_completed():
    """Our END answered the dialogue; the network ending it late changes nothing."""
    assert combined(Outcome.COMPLETED, Reported.INCOMPLETE) is Outcome.COMPLETED
    assert not agrees(Outcome.COMPLETED, Reported.INCOMPLETE)


def test_our_time_out_reported_incomplete_is_abandoned():
    """The aggregator saw the session end awaiting input: the subscriber left, which our timer only guessed."""
    assert combined(Outcome.TIMED_OUT, Reported.INCOMPLETE) is Outcome.ABANDONED
    assert agrees(Outcome.TIMED_OUT, Reported.INCOMPLETE) and agrees(Outcome.ABANDONED, Reported.INCOMPLETE)


def test_without_a_report_or_with_a_success_our_record_decides():
    """No report, or Success: our own outcome stands (a Success beside our time-out is a disagreement)."""
    for ours in Outcome:
        assert combined(ours, None) is ours
        assert combined(ours, Reported.SUCCESS) is ours
    assert agrees(Outcome.COMPLETED, Reported.SUCCESS) and not agrees(Outcome.TIMED_OUT, Reported.SUCCESS)


def test_statuses_are_read_in_any_case_and_nothing_else_is_one():
    assert Reported.parse(" incomplete ") is Reported.INCOMPLETE and Reported.parse("SUCCESS") is Reported.SUCCESS
    assert Reported.parse("Done") is None
