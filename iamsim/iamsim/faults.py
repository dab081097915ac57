"""Injected failures: the IAM token bucket (--rate/--burst), random 500s (--error-rate), and
the seeded random source behind them and --fail-jobs, so a run repeats for a seed."""

from __future__ import annotations

import random
import threading
import time
import uuid

_rng = random.Random(0)
_rng_lock = threading.Lock()


def seed(value: int) -> None:
    global _rng
    with _rng_lock:
        _rng = random.Random(value)


def chance(percent: float) -> bool:
    """True with the given probability in percent (0..100)."""
    if percent <= 0:
        return False
    with _rng_lock:
        return _rng.random() * 100 < percent


def rng_bits(n: int) -> int:
    with _rng_lock:
        return _rng.getrandbits(n)


class TokenBucket:
    """One bucket shared by all IAM calls, as AWS throttles per account."""

    def __init__(self, rate: float, burst: int):
        self.rate = rate
        self.capacity = max(1, burst)
        self.tokens = float(self.capacity)
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


def query_error(code: str, message: str, sender: bool = True) -> bytes:
    """An AWS query-protocol (IAM, STS) error document."""
    return (
        '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        f"<Error><Type>{'Sender' if sender else 'Receiver'}</Type><Code>{code}</Code>"
        f"<Message>{message}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()


THROTTLED = (400, "Throttling", "Rate exceeded")
SERVICE_FAILURE = (500, "ServiceFailure", "Request processing has failed due to an internal error.")
