"""The call and leg state tables, and the deadline heap call control runs on."""

import pytest

from firmware.pbx.callstate import CALL_MOVES, LEG_MOVES, Call, CallLeg, CallState, IllegalMove, LegState
from firmware.pbx.deadlines import Deadlines
from firmware.pbx.transport import Address


def leg(index=0):
    return CallLeg(role="caller", index=index, dest=Address("127.0.0.2", 5060), call_id="c",
                   local_tag="t", local_uri="<sip:a@b>", remote_uri="<sip:c@d>",
                   contact_host="127.0.0.1", contact_port=5060)


def test_every_state_has_a_row_and_ended_states_go_nowhere():
    assert set(CALL_MOVES) == set(CallState) and set(LEG_MOVES) == set(LegState)
    assert CALL_MOVES[CallState.ENDED] == frozenset()
    assert LEG_MOVES[LegState.FAILED] == LEG_MOVES[LegState.ENDED] == frozenset()


def test_an_illegal_move_raises():
    call = Call(id="x", caller=leg(), direction="inbound")
    call.move(CallState.RINGING)
    with pytest.raises(IllegalMove):
        call.move(CallState.SETUP)
    call.caller.move(LegState.CONFIRMED)
    with pytest.raises(IllegalMove):
        call.caller.move(LegState.EARLY)
    call.move(CallState.ENDED)
    with pytest.raises(IllegalMove):
        call.move(CallState.ANSWERED)


def test_deadlines_fire_in_order_once_and_can_be_rearmed_or_cancelled():
    d = Deadlines()
    d.arm(("a", "ring"), 10.0, 1)
    d.arm(("b", "ring"), 5.0, 2)
    d.arm(("a", "ring"), 12.0, 3)          # re-armed: the 10.0 entry is dead
    d.arm(("c", "x"), 7.0)
    d.cancel(("c", "x"))
    assert d.next_deadline == 5.0
    assert d.due(11.0) == [(("b", "ring"), 2)]
    assert d.next_deadline == 12.0
    assert d.due(12.0) == [(("a", "ring"), 3)]
    assert d.due(100.0) == [] and d.next_deadline is None and len(d) == 0
