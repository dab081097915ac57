//! The three kinds of event the function answers, told apart by their shape.
//!
//! - EventBridge scheduled event: `{"source": "aws.events", "detail-type": "Scheduled Event", ...}`;
//! - AWS Config custom rule event: `{"invokingEvent": "<JSON string>", "resultToken": ..., ...}`,
//!   whose `invokingEvent` has `messageType` `ConfigurationItemChangeNotification` (with a
//!   `configurationItem`), `OversizedConfigurationItemChangeNotification` (with a
//!   `configurationItemSummary`) or `ScheduledNotification`;
//! - the fan-out payload `{"account_id": "...", "role_name": "...", "mode": "audit|enforce"}`;
//! - the heal schedule's payload `{"mode": "heal"}` (the rule's constant input).

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

/// A parsed event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The schedule: audit the function's own account, tag, enforce when turned on.
    Scheduled,
    /// Config: evaluate one configuration item.
    ConfigItem {
        /// `PutEvaluations`' token.
        result_token: String,
        /// The item.
        item: ConfigItem,
    },
    /// A Config message no rule evaluation follows from (such as
    /// `ConfigurationSnapshotDeliveryCompleted`): answered with no evaluation.
    ConfigIgnored {
        /// Its `messageType`.
        message_type: String,
    },
    /// Config's periodic trigger: evaluate every entity.
    ConfigPeriodic {
        /// `PutEvaluations`' token.
        result_token: String,
        /// `notificationCreationTime`: the ordering timestamp of the answers.
        notified_at: OffsetDateTime,
    },
    /// One account of a fan-out.
    FanOut(FanOut),
    /// The heal schedule: give bounded entities back the services their boundary denied them.
    Heal,
}

/// The parts of a configuration item iamsweep uses.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigItem {
    /// `AWS::IAM::User` and so on.
    pub resource_type: String,
    /// The unique id (`AIDA...`).
    pub resource_id: String,
    /// The entity's name.
    pub resource_name: Option<String>,
    /// The entity's ARN.
    pub arn: Option<String>,
    /// The IAM path (`configuration.path`), when the item carries it.
    pub path: Option<String>,
    /// `OK`, `ResourceDiscovered`, `ResourceDeleted`, ...
    pub status: String,
    /// `configurationItemCaptureTime`: the ordering timestamp of the answer.
    pub captured_at: OffsetDateTime,
    /// The event's `eventLeftScope`: the resource is no longer in the rule's scope.
    pub left_scope: bool,
    /// Whether it came as an `OversizedConfigurationItemChangeNotification` (a summary, with
    /// no `configuration`).
    pub oversized: bool,
}

impl ConfigItem {
    /// The facts that decide the answer ([`iamsweep_aws::config_rule::item_answer`]).
    pub fn facts(&self) -> iamsweep_aws::config_rule::ItemFacts<'_> {
        iamsweep_aws::config_rule::ItemFacts {
            resource_type: &self.resource_type,
            status: &self.status,
            left_scope: self.left_scope,
            path: self.path.as_deref(),
        }
    }

    /// The entity's name: `resourceName`, else the last segment of the ARN (an oversized
    /// item's summary may carry `"resourceName": null`).
    pub fn name(&self) -> Option<&str> {
        self.resource_name
            .as_deref()
            .filter(|name| !name.is_empty())
            .or_else(|| self.arn.as_deref().and_then(|arn| arn.rsplit('/').next()))
            .filter(|name| !name.is_empty())
    }
}

/// The fan-out payload (a contract with the Step Functions state machine).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FanOut {
    /// The account to audit.
    pub account_id: String,
    /// The role to assume there.
    pub role_name: String,
    /// Audit only, or enforce.
    pub mode: Mode,
}

/// What a fan-out invocation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Audit and summary tags.
    Audit,
    /// Audit, tags and boundaries.
    Enforce,
}

/// Why an event is not one the function answers.
#[derive(Debug, thiserror::Error)]
#[error("unrecognised event: {0}")]
pub struct EventError(String);

impl EventError {
    /// An event error saying what is wrong with the event.
    pub fn new(message: impl Into<String>) -> Self {
        EventError(message.into())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigEnvelope {
    invoking_event: String,
    result_token: String,
    #[serde(default)]
    event_left_scope: bool,
}

impl Event {
    /// Tells the event's kind from its shape.
    pub fn parse(value: &Value) -> Result<Event, EventError> {
        if value.get("invokingEvent").is_some() {
            let envelope: ConfigEnvelope = serde_json::from_value(value.clone())
                .map_err(|error| EventError(format!("AWS Config event: {error}")))?;
            let invoking: Value = serde_json::from_str(&envelope.invoking_event)
                .map_err(|error| EventError(format!("`invokingEvent` is not JSON: {error}")))?;
            return config_event(&invoking, envelope.result_token, envelope.event_left_scope);
        }
        if value.get("account_id").is_none()
            && value.get("mode").and_then(Value::as_str) == Some("heal")
        {
            return Ok(Event::Heal);
        }
        if value.get("account_id").is_some() {
            return serde_json::from_value(value.clone())
                .map(Event::FanOut)
                .map_err(|error| EventError(format!("fan-out payload: {error}")));
        }
        if value.get("source").and_then(Value::as_str) == Some("aws.events")
            || value.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
        {
            return Ok(Event::Scheduled);
        }
        Err(EventError(
            "expected an EventBridge scheduled event, an AWS Config rule event, \
             {\"account_id\", \"role_name\", \"mode\"} or {\"mode\": \"heal\"}"
                .to_string(),
        ))
    }
}

fn config_event(
    invoking: &Value,
    result_token: String,
    left_scope: bool,
) -> Result<Event, EventError> {
    let text =
        |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
    let time = |value: &Value, key: &str| -> Result<OffsetDateTime, EventError> {
        let text = text(value, key).ok_or_else(|| EventError(format!("no `{key}`")))?;
        OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
            .map_err(|error| EventError(format!("`{key}` `{text}`: {error}")))
    };
    match invoking.get("messageType").and_then(Value::as_str) {
        Some("ScheduledNotification") => Ok(Event::ConfigPeriodic {
            result_token,
            notified_at: time(invoking, "notificationCreationTime")?,
        }),
        Some(
            kind @ ("ConfigurationItemChangeNotification"
            | "OversizedConfigurationItemChangeNotification"),
        ) => {
            let field = if kind.starts_with("Oversized") {
                "configurationItemSummary"
            } else {
                "configurationItem"
            };
            let item = invoking.get(field).ok_or_else(|| EventError(format!("no `{field}`")))?;
            let path =
                item.get("configuration").and_then(|configuration| text(configuration, "path"));
            Ok(Event::ConfigItem {
                result_token,
                item: ConfigItem {
                    resource_type: text(item, "resourceType")
                        .ok_or_else(|| EventError("no `resourceType`".to_string()))?,
                    resource_id: text(item, "resourceId")
                        .ok_or_else(|| EventError("no `resourceId`".to_string()))?,
                    resource_name: text(item, "resourceName"),
                    arn: text(item, "ARN").or_else(|| text(item, "arn")),
                    path,
                    status: text(item, "configurationItemStatus").unwrap_or_default(),
                    captured_at: time(item, "configurationItemCaptureTime")?,
                    left_scope,
                    oversized: kind.starts_with("Oversized"),
                },
            })
        }
        // Config also sends these (the `aws_lambda_events` sample event is one): nothing to
        // evaluate, and failing the invocation would only make Lambda retry it.
        Some(
            kind @ ("ConfigurationSnapshotDeliveryCompleted"
            | "ConfigurationHistoryDeliveryCompleted"
            | "ConfigurationSnapshotDeliveryStarted"
            | "ConfigurationSnapshotDeliveryFailed"
            | "ComplianceChangeNotification"
            | "ConfigRulesEvaluationStarted"),
        ) => Ok(Event::ConfigIgnored { message_type: kind.to_string() }),
        other => Err(EventError(format!(
            "AWS Config message type {other:?}, expected `ConfigurationItemChangeNotification`, \
             `OversizedConfigurationItemChangeNotification` or `ScheduledNotification`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_kind_is_told_apart_by_its_shape() {
        let scheduled =
            json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
        assert_eq!(Event::parse(&scheduled).unwrap(), Event::Scheduled);
        let fan_out =
            json!({"account_id": "210987654321", "role_name": "Audit", "mode": "enforce"});
        assert!(matches!(
            Event::parse(&fan_out).unwrap(),
            Event::FanOut(FanOut { mode: Mode::Enforce, .. })
        ));
        let periodic = json!({
            "invokingEvent": "{\"messageType\":\"ScheduledNotification\",\"notificationCreationTime\":\"2026-11-23T12:00:00.000Z\"}",
            "resultToken": "token"
        });
        assert!(matches!(Event::parse(&periodic).unwrap(), Event::ConfigPeriodic { .. }));
    }

    #[test]
    fn a_fan_out_payload_with_an_unknown_mode_is_refused() {
        let payload = json!({"account_id": "210987654321", "role_name": "Audit", "mode": "yolo"});
        assert!(Event::parse(&payload).is_err());
    }
}
