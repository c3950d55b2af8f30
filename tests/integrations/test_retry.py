"""The retry schedule is pure: driven here with a frozen clock over days."""

from firmware.integrations.retry import (DELIVERED, FAILED, PENDING, Item, after_attempt,
                                          choose, expired, next_wake, retry_delay, target_down)

T0 = 1_700_000_000.0


def item(n: int, key: str = "c1", target: str = "webhook:a", tries: int = 0,
         next_at: float = T0, expires: float = T0 + 48 * 3600) -> Item:
    return Item(id=f"d{n}", target=target, key=key, event="call.ended", body="{}",
                created=T0, expires=expires, seq=n, tries=tries, next_at=next_at)


def test_delays_grow_and_stop_growing_at_an_hour():
    delays = [retry_delay(n) for n in range(1, 12)]
    assert delays[:4] == [30, 60, 120, 240]
    assert all(a <= b for a, b in zip(delays, delays[1:]))
    assert delays[-1] == 3600


def test_retries_go_on_for_more_than_24_hours_then_give_up():
    one, now = item(1), T0
    while True:
        state, next_at = after_attempt(one, 500, now)
        one.tries += 1
        if state != PENDING:
            break
        now = next_at
    assert state == FAILED
    assert now - T0 > 24 * 3600            # still trying a day later
    assert one.tries < 80                  # but not hammering: about one try an hour


def test_2xx_delivers_and_which_answers_mean_the_receiver_is_down():
    assert after_attempt(item(1), 204, T0) == (DELIVERED, T0)
    assert after_attempt(item(1), 500, T0) == (PENDING, T0 + 30)
    assert [target_down(s) for s in (None, 301, 404, 408, 429, 500, 200)] == \
        [True, True, False, True, True, True, False]


def test_order_per_call_and_holds_per_target():
    items = [item(1, "c1"), item(2, "c1"), item(3, "c2"), item(4, "c1", target="webhook:b")]
    assert choose(items, {}, T0).id == "d1"
    items[0].next_at = T0 + 30                       # d1 waits for its retry: d2 waits too
    assert choose(items, {}, T0).id == "d3"
    assert choose(items, {"webhook:a": T0 + 30}, T0).id == "d4"
    assert choose(items, {"webhook:a": T0 + 30, "webhook:b": T0 + 60}, T0) is None
    assert next_wake(items, {"webhook:a": T0 + 30, "webhook:b": T0 + 60}, T0) == T0 + 30
    items[0].state = DELIVERED
    assert choose(items, {}, T0).id == "d2"


def test_expired_items_are_given_up():
    items = [item(1, expires=T0 + 10), item(2)]
    assert [i.id for i in expired(items, T0 + 10)] == ["d1"]
    assert choose(items, {}, T0 + 10).id == "d2"
