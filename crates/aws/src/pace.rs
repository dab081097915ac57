//! Pace: the client-side rate limit shared by every IAM call of a run, and its counters.
//!
//! IAM throttles per API with token buckets shared by everything in the account and does not
//! publish the limits. A token bucket keeps iamsweep under `--rate`; when IAM answers
//! `Throttling` anyway (another tool is busy, or the rate is set too high), the pace drops
//! multiplicatively and climbs back additively, so an over-driven run settles near the rate IAM
//! really grants instead of burning calls on retries.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::time::{Duration, Instant};

/// The shared rate limiter and call counters of one run (one account).
#[derive(Debug)]
pub struct Pace {
    bucket: Mutex<Bucket>,
    calls: AtomicU64,
    throttles: AtomicU64,
}

#[derive(Debug)]
struct Bucket {
    /// The configured ceiling, calls per second.
    max_rate: f64,
    /// The current rate: `max_rate` until IAM throttles, then lower for a while.
    rate: f64,
    /// Tokens may accumulate up to this many (one second's worth at the ceiling).
    burst: f64,
    tokens: f64,
    refilled_at: Instant,
    /// When the rate last dropped: calls already in flight when IAM starts throttling come back
    /// throttled together, and one episode must slow the run once, not once per call.
    decreased_at: Option<Instant>,
}

/// The lowest rate the pace drops to, calls per second.
const MIN_RATE: f64 = 0.5;
/// Multiplicative decrease on a throttle.
const DECREASE: f64 = 0.7;
/// Throttles within this long of the last decrease belong to the same episode.
const EPISODE: Duration = Duration::from_millis(500);

impl Pace {
    /// A pace of at most `rate` calls per second (infinite or non-positive means unlimited).
    pub fn new(rate: f64) -> Self {
        let max_rate = if rate.is_finite() && rate > 0.0 { rate } else { f64::INFINITY };
        let burst = if max_rate.is_finite() { max_rate.max(1.0) } else { f64::INFINITY };
        Pace {
            bucket: Mutex::new(Bucket {
                max_rate,
                rate: max_rate,
                burst,
                // Start with a single token, not a full bucket: a run begins with a burst of job
                // starts, and IAM's own bucket is shared with everything else in the account.
                tokens: 1.0_f64.min(burst),
                refilled_at: Instant::now(),
                decreased_at: None,
            }),
            calls: AtomicU64::new(0),
            throttles: AtomicU64::new(0),
        }
    }

    /// Waits until a call may be made, then counts it.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut bucket = self.bucket.lock().expect("pace lock");
                bucket.refill(Instant::now());
                if bucket.tokens >= 1.0 {
                    bucket.tokens -= 1.0;
                    None
                } else {
                    Some(Duration::from_secs_f64((1.0 - bucket.tokens) / bucket.rate))
                }
            };
            match wait {
                None => break,
                Some(wait) => tokio::time::sleep(wait).await,
            }
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a `Throttling` answer and slows down.
    pub fn throttled(&self) {
        self.throttles.fetch_add(1, Ordering::Relaxed);
        let mut bucket = self.bucket.lock().expect("pace lock");
        let now = Instant::now();
        let same_episode = bucket.decreased_at.is_some_and(|at| now - at < EPISODE);
        if bucket.rate.is_finite() && !same_episode {
            bucket.refill(now);
            bucket.rate = (bucket.rate * DECREASE).max(MIN_RATE);
            // Drop saved-up tokens too: they were granted at the rate IAM just refused.
            bucket.tokens = bucket.tokens.min(0.0);
            bucket.decreased_at = Some(now);
        }
    }

    /// Records a successful call: the rate climbs back by about one call per second per second.
    pub fn succeeded(&self) {
        let mut bucket = self.bucket.lock().expect("pace lock");
        if bucket.rate < bucket.max_rate {
            bucket.rate = (bucket.rate + 1.0 / bucket.rate).min(bucket.max_rate);
        }
    }

    /// Calls made so far, retries included.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Calls answered with `Throttling` so far.
    pub fn throttles(&self) -> u64 {
        self.throttles.load(Ordering::Relaxed)
    }
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled_at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.refilled_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_are_spaced_at_the_configured_rate() {
        let pace = Pace::new(10.0);
        let start = Instant::now();
        for _ in 0..21 {
            pace.acquire().await;
        }
        // One token at the start, then one every 100 ms (virtual time: nothing really sleeps).
        let elapsed = (Instant::now() - start).as_secs_f64();
        assert!((elapsed - 2.0).abs() < 0.01, "{elapsed}");
        assert_eq!(pace.calls(), 21);
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_slows_the_pace_and_successes_restore_it() {
        let pace = Pace::new(100.0);
        pace.throttled();
        // Calls that were in flight together come back throttled together: one episode.
        pace.throttled();
        pace.throttled();
        let slowed = pace.bucket.lock().unwrap().rate;
        assert!((slowed - 70.0).abs() < 1e-9, "{slowed}");
        for _ in 0..10_000 {
            pace.succeeded();
        }
        assert_eq!(pace.bucket.lock().unwrap().rate, 100.0);
        assert_eq!(pace.throttles(), 3);
        tokio::time::advance(Duration::from_secs(1)).await;
        pace.throttled();
        assert!((pace.bucket.lock().unwrap().rate - 70.0).abs() < 1e-9);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unlimited_pace_never_waits() {
        let pace = Pace::new(0.0);
        let start = Instant::now();
        for _ in 0..1000 {
            pace.acquire().await;
        }
        pace.throttled();
        assert_eq!(Instant::now(), start);
    }
}
