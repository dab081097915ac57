//! The entity table: one row per entity, its details folded in a `<details>` element.
//!
//! A row stays light (a dozen elements) so that 10,000 of them load quickly: an entity's
//! services are listed as text per state, not as a table per entity.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::escape::{escape, push};
use crate::action_level::ActionLevel;
use crate::effect::EffectService;
use crate::escalation::describe;
use crate::plan::{EntityPlan, Outcome};
use crate::report::{EntityReport, ServiceReport, ServiceState};
use crate::risk::{self, Severity};

/// Which optional columns the table has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    /// An account column (reports of several accounts).
    pub account: bool,
    /// Outcome and changes (plans).
    pub plan: bool,
}

/// The table's header row, each header a button that sorts by it.
pub fn header(columns: Columns) -> String {
    let mut out = String::from("<thead><tr>");
    let mut column = |name: &str, number: bool| {
        let _ = write!(
            out,
            "<th{}><button type=\"button\">{name}</button></th>",
            if number { " data-type=\"number\"" } else { "" }
        );
    };
    column("Kind", false);
    column("Name", false);
    if columns.account {
        column("Account", false);
    }
    column("Severity", true);
    column("Result", false);
    column("Coverage", true);
    column("Granted", true);
    column("Used", true);
    column("Stale", true);
    column("Unused", true);
    if columns.plan {
        column("Plan", false);
        column("Changes", false);
    }
    out.push_str("</tr></thead>\n");
    out
}

/// The severity of an entity's findings: the highest class among the services that make it
/// non-compliant ([`risk::entity_severity`]); informational when it is compliant or unjudged.
pub fn severity(entity: &EntityReport) -> Severity {
    if entity.verdict != Some(crate::report::Verdict::NonCompliant) {
        return Severity::Informational;
    }
    risk::entity_severity(flagged(entity).map(|service| &*service.namespace))
}

/// The services that are granted and not used in the window (stale or unused).
pub fn flagged(entity: &EntityReport) -> impl Iterator<Item = &ServiceReport> {
    entity.services.iter().filter(|service| service.state != ServiceState::Used)
}

/// The verdict, or the status when there is none (`error`, `skipped`): what the verdict filter
/// and the Result column hold.
pub fn outcome(entity: &EntityReport) -> &'static str {
    match entity.verdict {
        Some(verdict) => verdict.as_str(),
        None => entity.status.as_str(),
    }
}

/// Appends one entity's row.
pub fn row(
    out: &mut String,
    entity: &EntityReport,
    account_id: &str,
    columns: Columns,
    plan: Option<&EntityPlan>,
) {
    let severity = severity(entity);
    let outcome = outcome(entity);
    let kind = entity.kind.as_str();
    let _ = write!(
        out,
        "<tr data-arn=\"{}\" data-kind=\"{kind}\" data-verdict=\"{outcome}\"><td>{kind}</td>\
         <td><details><summary>{}</summary><div class=\"more\">",
        escape(&entity.arn),
        escape(&entity.name),
    );
    details(out, entity, plan);
    out.push_str("</div></details></td>");
    if columns.account {
        let _ = write!(out, "<td>{}</td>", escape(account_id));
    }
    let _ = write!(
        out,
        "<td data-v=\"{}\"><span class=\"sev sev-{severity}\">{severity}</span></td>\
         <td class=\"v-{outcome}\">{outcome}</td><td class=\"n\" data-v=\"{}\">{}</td>\
         <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
        severity as u8,
        entity.coverage_percent.map_or(-1, i64::from),
        entity.coverage_percent.map_or_else(|| "–".to_string(), |percent| format!("{percent}%")),
        entity.granted,
        entity.used,
        entity.stale,
        entity.unused,
    );
    if columns.plan {
        match plan {
            Some(plan) => {
                let outcome = plan_outcome(plan.outcome);
                let _ = write!(
                    out,
                    "<td class=\"o-{outcome}\">{outcome}</td><td>{}</td>",
                    escape(&changes(plan))
                );
            }
            None => out.push_str("<td></td><td></td>"),
        }
    }
    out.push_str("</tr>\n");
}

/// The folded details: ARN, why, services by state (riskiest first), the policies granting the
/// unused ones, escalation risks, and for a plan what it does.
fn details(out: &mut String, entity: &EntityReport, plan: Option<&EntityPlan>) {
    let _ = write!(out, "<p class=\"arn\">{}</p><dl>", escape(&entity.arn));
    if entity.path != "/" {
        let _ = write!(out, "<dt>path</dt><dd>{}</dd>", escape(&entity.path));
    }
    if let Some(error) = &entity.error {
        let _ = write!(out, "<dt>error</dt><dd>{}</dd>", escape(error));
    }
    if let Some(reason) = &entity.skip_reason {
        let _ = write!(out, "<dt>skipped</dt><dd>{}</dd>", escape(reason));
    }
    if !entity.reasons.is_empty() {
        out.push_str("<dt>why</dt><dd><ul>");
        for reason in &entity.reasons {
            let _ = write!(out, "<li>{}</li>", escape(reason));
        }
        out.push_str("</ul></dd>");
    }
    for state in [ServiceState::Unused, ServiceState::Stale, ServiceState::Used] {
        let mut services: Vec<&ServiceReport> =
            entity.services.iter().filter(|service| service.state == state).collect();
        if services.is_empty() {
            continue;
        }
        services.sort_by(|a, b| risk::compare_services(&a.namespace, &b.namespace));
        let name = state.as_str();
        let _ = write!(out, "<dt class=\"s-{name}\">{name} ({})</dt><dd>", services.len());
        for (index, service) in services.iter().enumerate() {
            if index > 0 {
                out.push_str(", ");
            }
            service_text(out, service);
        }
        out.push_str("</dd>");
    }
    granted_by(out, entity);
    if !entity.escalation_risks.is_empty() {
        let _ = write!(
            out,
            "<dt>escalation risk</dt><dd>a boundary of what it used leaves open {}</dd>",
            escape(&describe(&entity.escalation_risks))
        );
    }
    if let Some(plan) = plan {
        plan_details(out, plan);
    }
    out.push_str("</dl>");
}

/// `s3 (2026-11-20)`, with the members that used it for a group; a service the entity's
/// iamsweep boundary denied since it took effect: `dynamodb (2026-11-30, denied since bounded)`.
fn service_text(out: &mut String, service: &ServiceReport) {
    push(out, &service.namespace);
    let Some(last) = service.last_authenticated else {
        return;
    };
    let _ = write!(out, " ({}", last.date());
    if service.denied_since_bounded {
        out.push_str(", denied since bounded");
    }
    if let Some(members) = &service.used_by
        && !members.is_empty()
    {
        out.push_str(", by ");
        for (index, member) in members.iter().take(5).enumerate() {
            if index > 0 {
                out.push_str(", ");
            }
            push(out, &member.name);
        }
        if members.len() > 5 {
            let _ = write!(out, " and {} more", members.len() - 5);
        }
    }
    out.push(')');
}

/// The policies that grant stale or unused services, each with the services it grants: what to
/// trim (only known with `--attribute`).
fn granted_by(out: &mut String, entity: &EntityReport) {
    let mut policies: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
    let mut flagged: Vec<&ServiceReport> = flagged(entity).collect();
    flagged.sort_by(|a, b| risk::compare_services(&a.namespace, &b.namespace));
    for service in flagged {
        for policy in service.granted_by.iter().flatten() {
            let holder = match (&policy.arn, &policy.entity_type, &policy.entity_name) {
                (Some(arn), _, _) => format!("managed policy {arn}"),
                (None, Some(kind), Some(name)) => {
                    format!("inline policy of {} {name}", kind.to_ascii_lowercase())
                }
                _ => format!("{} policy", policy.policy_type.to_ascii_lowercase()),
            };
            policies.entry((policy.name.clone(), holder)).or_default().push(&service.namespace);
        }
    }
    if policies.is_empty() {
        return;
    }
    out.push_str("<dt>granted by</dt><dd><ul>");
    for ((name, holder), services) in policies {
        let _ = write!(
            out,
            "<li><b>{}</b> <span class=\"arn\">{}</span>: {}</li>",
            escape(&name),
            escape(&holder),
            escape(&services.join(", "))
        );
    }
    out.push_str("</ul></dd>");
}

/// `keeps (3)`: `s3 (2026-11-20), ...`; a removed service says whether it was stale or unused.
fn effect_services(out: &mut String, class: &str, title: &str, services: &[EffectService]) {
    let _ = write!(out, "<dt class=\"s-{class}\">{title} ({})</dt><dd>", services.len());
    if services.is_empty() {
        out.push_str("none");
    }
    for (index, service) in services.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        push(out, &service.namespace);
        match (service.state, service.last_authenticated) {
            (ServiceState::Used, Some(last)) => {
                let _ = write!(out, " ({})", last.date());
            }
            (ServiceState::Stale, Some(last)) => {
                let _ = write!(out, " (stale: {})", last.date());
            }
            (state, _) => {
                if state != ServiceState::Used {
                    let _ = write!(out, " ({})", state.as_str());
                }
            }
        }
    }
    out.push_str("</dd>");
}

fn plan_outcome(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Change => "change",
        Outcome::Unchanged => "unchanged",
        Outcome::Skipped => "skipped",
    }
}

/// The changes of an entity in a few words, such as `create policy, tag 8, attach`.
pub fn changes(entity: &EntityPlan) -> String {
    let mut parts = Vec::new();
    if let Some(boundary) = &entity.boundary {
        if boundary.create_policy {
            parts.push("create policy".to_string());
        }
        if let Some(version) = &boundary.delete_version {
            parts.push(format!("delete version {version}"));
        }
        if boundary.create_version {
            parts.push("new policy version".to_string());
        }
        if boundary.attach {
            parts.push("attach boundary".to_string());
        }
    }
    if let Some(tags) = &entity.tags {
        parts.push(format!("tag {}", tags.set.len()));
    }
    if entity.boundary.as_ref().is_some_and(|boundary| boundary.effect.base_actions_only) {
        parts.push("base actions only".to_string());
    }
    parts.join(", ")
}

/// For a boundary planned from action-level data: the used services whose unused actions it
/// denies, and each one it allows whole, with the reason ([`crate::action_level`]), as the
/// plan's table names them.
fn action_level_details(out: &mut String, action_level: &ActionLevel) {
    if !action_level.services.is_empty() {
        let _ = write!(
            out,
            "<dt>unused actions denied</dt><dd>{}</dd>",
            escape(&action_level.services.join(", "))
        );
    }
    for fallback in &action_level.service_level {
        let _ = write!(
            out,
            "<dt>service level</dt><dd>{} allowed whole, its unused actions not \
             denied: {}</dd>",
            escape(&fallback.namespace),
            escape(&fallback.detail)
        );
    }
}

/// What the plan does to the entity and why not more: for a boundary, what it keeps and
/// removes ([`crate::effect::BoundaryEffect`], decided in one place for every format).
fn plan_details(out: &mut String, plan: &EntityPlan) {
    if let Some(boundary) = &plan.boundary {
        let _ = write!(
            out,
            "<dt>boundary</dt><dd>{} <span class=\"arn\">{}</span></dd>",
            escape(&boundary.policy_name),
            escape(&boundary.policy_arn)
        );
        let effect = &boundary.effect;
        if effect.base_actions_only {
            out.push_str(
                "<dt class=\"base-only\">base actions only</dt><dd class=\"base-only\">the \
                 boundary keeps no service: anything this entity still runs is locked out</dd>",
            );
        }
        effect_services(out, "used", "boundary keeps", &effect.keeps);
        effect_services(out, "unused", "boundary removes", &effect.removes);
        if !effect.base_actions.is_empty() {
            let _ = write!(
                out,
                "<dt>base actions</dt><dd>{}</dd>",
                escape(&effect.base_actions.join(", "))
            );
        }
        if let Some(action_level) = &boundary.action_level {
            action_level_details(out, action_level);
        }
    }
    if let Some(tags) = &plan.tags {
        out.push_str("<dt>tags</dt><dd>");
        for (index, (key, value)) in tags.set.iter().enumerate() {
            if index > 0 {
                out.push_str("; ");
            }
            let _ = write!(out, "{}={}", escape(key), escape(value));
        }
        out.push_str("</dd>");
    }
    if !plan.skips.is_empty() {
        out.push_str("<dt>left alone</dt><dd><ul>");
        for skip in &plan.skips {
            let _ = write!(out, "<li>{}</li>", escape(&skip.reason));
        }
        out.push_str("</ul></dd>");
    }
    if !plan.escalation_risks.is_empty() {
        let _ = write!(
            out,
            "<dt>boundary leaves open</dt><dd>{}</dd>",
            escape(&describe(&plan.escalation_risks))
        );
    }
}
