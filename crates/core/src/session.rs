//! How long to ask a role session for, and when to open a new one.
//!
//! An Access Advisor job must be read by the session that started it, and an assumed-role
//! session expires (one hour unless `DurationSeconds` asks for more, up to the role's
//! `MaxSessionDuration`, at most 12 hours; one hour at most for a role assumed with role
//! credentials, "role chaining"). The collector asks for the longest session, steps down when
//! STS refuses, and starts new jobs with a fresh session shortly before the current one expires,
//! while jobs already started are read with the session that started them.

use std::time::Duration;

/// The `DurationSeconds` values tried in turn: 12 hours (the most STS grants), then the common
/// `MaxSessionDuration` settings, down to one hour (every role allows it).
pub const DURATION_STEPS: [u32; 5] = [43_200, 21_600, 14_400, 7_200, 3_600];

/// The shortest session any role allows, and the most a chained role session gets.
pub const ONE_HOUR: u32 = 3_600;

/// The next `DurationSeconds` to try after STS refused `asked` with `message`, or `None` when
/// the refusal is not about the duration (or one hour was refused: nothing shorter helps).
///
/// STS answers `ValidationError` with "The requested DurationSeconds exceeds the
/// MaxSessionDuration set for this role." (step down) or "... exceeds the 1 hour session limit
/// for roles assumed by role chaining." (one hour is the most, go straight there).
pub fn next_duration(asked: u32, message: &str) -> Option<u32> {
    if !message.contains("DurationSeconds") || asked <= ONE_HOUR {
        return None;
    }
    if message.contains("role chaining") {
        return Some(ONE_HOUR);
    }
    DURATION_STEPS.iter().copied().find(|&step| step < asked)
}

/// How long before its expiration a session stops starting jobs: five minutes, or a quarter of
/// its lifetime for sessions shorter than twenty minutes (a simulator's), so that a job started
/// just before the switch is read before the session expires.
pub fn renewal_margin(lifetime: Duration) -> Duration {
    (lifetime / 4).min(Duration::from_secs(5 * 60))
}

/// Whether a session granted for `lifetime`, with `remaining` left, should make way for a fresh
/// one before starting another job.
pub fn renew_due(lifetime: Duration, remaining: Duration) -> bool {
    remaining <= renewal_margin(lifetime)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: &str =
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.";
    const CHAINED: &str = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.";

    #[test]
    fn a_refused_duration_steps_down_to_one_hour_then_gives_up() {
        let mut asked = DURATION_STEPS[0];
        let mut tried = vec![asked];
        while let Some(next) = next_duration(asked, MAX) {
            asked = next;
            tried.push(asked);
        }
        assert_eq!(tried, DURATION_STEPS);
        assert_eq!(next_duration(7_000, MAX), Some(3_600));
    }

    #[test]
    fn role_chaining_goes_straight_to_one_hour() {
        assert_eq!(next_duration(43_200, CHAINED), Some(ONE_HOUR));
        assert_eq!(next_duration(ONE_HOUR, CHAINED), None);
    }

    #[test]
    fn other_refusals_are_not_about_the_duration() {
        assert_eq!(next_duration(43_200, "Roles may not be assumed by root accounts."), None);
        assert_eq!(next_duration(43_200, ""), None);
    }

    #[test]
    fn renewal_starts_five_minutes_before_expiry_or_a_quarter_of_a_short_session() {
        let hour = Duration::from_secs(3_600);
        assert!(!renew_due(hour, Duration::from_secs(301)));
        assert!(renew_due(hour, Duration::from_secs(300)));
        assert!(renew_due(hour, Duration::ZERO));
        let short = Duration::from_secs(8);
        assert_eq!(renewal_margin(short), Duration::from_secs(2));
        assert!(!renew_due(short, Duration::from_secs(3)));
        assert!(renew_due(short, Duration::from_secs(2)));
    }
}
