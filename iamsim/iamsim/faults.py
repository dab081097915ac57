"""Injected failures: the IAM token buckets (--rate/--burst, one per account), random 500s
(--error-rate), and the seeded random source behind them and --fail-jobs, so a run repeats for
a seed."""

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
    """One bucket shared by all IAM calls of one account."""

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


class AccountBuckets:
    """A TokenBucket per account, each R per second and B deep, made on the account's first
    IAM call. IAM's buckets are per account: one account's calls never use another's tokens,
    so an Organization audited several accounts at a time is limited per account, as in AWS."""

    def __init__(self, rate: float, burst: int):
        self.rate = rate
        self.burst = burst
        self.buckets: dict[str, TokenBucket] = {}
        self.lock = threading.Lock()

    def take(self, account: str) -> bool:
        with self.lock:
            bucket = self.buckets.get(account)
            if bucket is None:
                bucket = self.buckets[account] = TokenBucket(self.rate, self.burst)
        return bucket.take()


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
