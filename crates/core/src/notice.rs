//! Notice before restriction: with `boundary.notice_days` above 0, a boundary change that
//! removes services is announced first, with the tag `iamsweep:restrict-after=DATE`, and
//! carried out only once that date has passed and the change is still the one announced.
//!
//! What was announced is kept twice: the tag on the entity (which its owners see, and which an
//! iamsweep boundary forbids the entity to touch) and the state store's record of the services
//! the change removes ([`crate::grants::Announced`]). A change is due only when both agree and
//! the date has passed; a plan whose change removes other services (the usage changed in
//! between) is announced again, with a new date. The CLI and the Lambda decide it here, inside
//! the plan, so a deployment with notice on restricts nothing during its first `notice_days`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::{Date, Duration};

use crate::grants::Announced;

/// The tag key of an announcement; its value is the date after which the change is made.
pub const RESTRICT_AFTER_TAG: &str = "iamsweep:restrict-after";

/// Where an announced restriction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeStatus {
    /// Announced by this plan: the tag is written, the boundary left as it is.
    Announced,
    /// Announced earlier and still the same change: waiting for the date.
    Waiting,
    /// Announced earlier, the date has passed and the change is the same: carried out now.
    Due,
}

/// The notice of one entity's restriction, as the plan reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Where it stands.
    pub status: NoticeStatus,
    /// The date in the tag, `YYYY-MM-DD`: the change is made only after it.
    pub restrict_after: String,
    /// The namespaces the change removes.
    pub removes: Vec<String>,
}

impl Notice {
    /// Whether the boundary change waits (announced now or earlier).
    pub fn holds(&self) -> bool {
        self.status != NoticeStatus::Due
    }

    /// What the state store keeps of it while it waits.
    pub fn announced(&self) -> Option<Announced> {
        let date = parse_day(&self.restrict_after)?;
        self.holds().then(|| Announced { restrict_after: date, removes: self.removes.clone() })
    }
}

/// The namespaces allowed before and not after: what a change removes.
pub fn removed(before: &BTreeSet<String>, after: &BTreeSet<String>) -> Vec<String> {
    if after.contains("*") {
        return Vec::new();
    }
    before
        .iter()
        .filter(|namespace| *namespace != "*" && !after.contains(*namespace))
        .cloned()
        .collect()
}

/// Decides the notice of a change removing `removes` on `today` (the snapshot's date), from the
/// entity's tag and the state's record; `None` when no notice is needed (notice off, or nothing
/// removed).
pub fn decide(
    removes: Vec<String>,
    tag: Option<&str>,
    announced: Option<&Announced>,
    notice_days: u32,
    today: Date,
) -> Option<Notice> {
    if notice_days == 0 || removes.is_empty() {
        return None;
    }
    let same = announced.filter(|announced| {
        announced.removes == removes && tag == Some(day(announced.restrict_after).as_str())
    });
    Some(match same {
        Some(announced) => Notice {
            status: if today > announced.restrict_after {
                NoticeStatus::Due
            } else {
                NoticeStatus::Waiting
            },
            restrict_after: day(announced.restrict_after),
            removes,
        },
        None => Notice {
            status: NoticeStatus::Announced,
            restrict_after: day(today + Duration::days(i64::from(notice_days))),
            removes,
        },
    })
}

/// Records in `state` the announcements of `plan` still waiting, and forgets those carried out
/// or no longer needed, for every entity the plan decided on that the state knows.
pub fn record(state: &mut crate::grants::AccountState, plan: &crate::plan::Plan) {
    for entity in &plan.entities {
        if entity.outcome == crate::plan::Outcome::Skipped && entity.notice.is_none() {
            continue;
        }
        if let Some(known) = state.entities.get_mut(&entity.arn) {
            known.notice = entity.notice.as_ref().and_then(Notice::announced);
        }
    }
}

/// `2026-11-23`.
pub fn day(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

fn parse_day(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 23);

    fn removes() -> Vec<String> {
        vec!["dynamodb".to_string(), "sqs".to_string()]
    }

    #[test]
    fn a_change_is_announced_then_waits_then_is_due_after_the_date() {
        assert_eq!(decide(removes(), None, None, 0, TODAY), None, "off by default");
        assert_eq!(decide(Vec::new(), None, None, 7, TODAY), None, "widening needs no notice");
        let first = decide(removes(), None, None, 7, TODAY).unwrap();
        assert_eq!(first.status, NoticeStatus::Announced);
        assert_eq!(first.restrict_after, "2026-11-30");
        let record = first.announced().unwrap();
        let tag = Some("2026-11-30");
        let wait = |today| decide(removes(), tag, Some(&record), 7, today).unwrap().status;
        assert_eq!(wait(TODAY), NoticeStatus::Waiting);
        assert_eq!(wait(date!(2026 - 11 - 30)), NoticeStatus::Waiting, "on the date: not yet");
        assert_eq!(wait(date!(2026 - 12 - 01)), NoticeStatus::Due);
    }

    #[test]
    fn another_change_or_a_tag_that_disagrees_is_announced_again() {
        let record = Announced { restrict_after: date!(2026 - 11 - 01), removes: removes() };
        let later = date!(2026 - 12 - 01);
        // The usage changed: sqs is used now, the change removes dynamodb only.
        let changed = decide(vec!["dynamodb".into()], Some("2026-11-01"), Some(&record), 7, later);
        assert_eq!(changed.unwrap().restrict_after, "2026-12-08");
        // The tag was never written (a plan not applied), or says another date.
        for tag in [None, Some("2026-10-01")] {
            let notice = decide(removes(), tag, Some(&record), 7, later).unwrap();
            assert_eq!(notice.status, NoticeStatus::Announced, "{tag:?}");
        }
        let after = ["s3".to_string()].into_iter().collect();
        let before = ["s3", "sqs", "dynamodb"].into_iter().map(String::from).collect();
        assert_eq!(removed(&before, &after), ["dynamodb", "sqs"]);
    }
}
