"""Failed sign-in throttling."""

from firmware.webui.throttle import Throttle


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_per_address_and_user_limit_and_window():
    clock = Clock()
    throttle = Throttle(per_user=3, per_address=100, window=60, clock=clock)
    for n in range(3):
        assert throttle.retry_after("10.0.0.1", "anna") == 0
        throttle.failed("10.0.0.1", "anna")
    assert throttle.retry_after("10.0.0.1", "anna") == 60
    assert throttle.retry_after("10.0.0.1", "ANNA") == 60       # names are not case games
    assert throttle.retry_after("10.0.0.1", "bob") == 0
    clock.now += 61
    assert throttle.retry_after("10.0.0.1", "anna") == 0


def test_a_guesser_never_locks_the_user_out_elsewhere():
    """Issue 14.11: five wrong passwords from one address lock that address only."""
    throttle = Throttle(per_user=3, per_address=100, window=60, clock=Clock())
    for _ in range(10):
        throttle.failed("10.6.6.6", "owner")
    assert throttle.retry_after("10.6.6.6", "owner") > 0
    assert throttle.retry_after("192.168.1.50", "owner") == 0


def test_per_address_limit():
    clock = Clock()
    throttle = Throttle(per_user=100, per_address=3, window=60, clock=clock)
    for name in ("a", "b", "c"):
        throttle.failed("10.0.0.1", name)
    assert throttle.retry_after("10.0.0.1", "d") > 0
    assert throttle.retry_after("10.0.0.2", "d") == 0


def test_success_clears_the_user_not_the_address():
    throttle = Throttle(per_user=2, per_address=3, window=60, clock=Clock())
    throttle.failed("10.0.0.1", "anna")
    throttle.failed("10.0.0.1", "anna")
    assert throttle.retry_after("10.0.0.1", "anna") > 0
    throttle.succeeded("anna", "10.0.0.1")
    assert throttle.retry_after("10.0.0.1", "anna") == 0
    throttle.failed("10.0.0.1", "bob")
    assert throttle.retry_after("10.0.0.1", "carl") > 0


def test_memory_is_bounded():
    throttle = Throttle(window=60, clock=Clock(), max_keys=100)
    for n in range(1000):
        throttle.failed(f"10.0.{n // 256}.{n % 256}", f"user{n}")
    assert len(throttle._failures) <= 102
