//! A plan for a reviewer: per entity what changes, what its boundary keeps and removes (from
//! the plan's [`BoundaryEffect`], the one value every format shows), and why anything is left
//! alone. An entity left with the base actions only is marked, and named again under the
//! table: for anything still running, that boundary is a lockout. Services kept only because
//! they were granted recently (`boundary.grace_days`) are named with the plan's reason, so a
//! reviewer can tell them from services kept for their use.

use std::fmt::Write as _;

use iamsweep_core::effect::{BoundaryEffect, EffectService};
use iamsweep_core::plan::{EntityPlan, Outcome, Plan};
use iamsweep_core::report::ServiceState;

use super::markdown::escape;
use super::table::LISTED;
use super::text::{Colour, Style, columns, detail, list, pad, wrap, wrap_items};
use crate::commands::plan::{change_list, changes, risk_lines, service_level_lines, summary_line};

/// The plan as a table laid out for `style`, then the summary, the lockout warning and the
/// escalation risks.
pub fn table(plan: &Plan, style: &Style) -> String {
    let kind_width = plan.entities.iter().map(|e| e.kind.as_str().len()).chain([4]).max().unwrap();
    let outcome_width = plan.entities.iter().map(|e| outcome(e).len()).chain([7]).max().unwrap();
    let longest = plan.entities.iter().map(|e| columns(&e.name)).chain([4]).max().unwrap();
    // The changes take what the other columns leave, at least a third of the width.
    let (name_width, changes_width) = match style.width {
        Some(width) => {
            let fixed = kind_width + 2 + 2 + outcome_width + 2;
            let changes = width.saturating_sub(fixed + longest).max(width / 3);
            (width.saturating_sub(fixed + changes).max(4).min(longest), Some(changes))
        }
        None => (longest, None),
    };
    let indent = kind_width + 2;
    let header = format!(
        "{}  {}  {}  CHANGES",
        pad("KIND", kind_width, false),
        pad("NAME", name_width, false),
        pad("OUTCOME", outcome_width, false)
    );
    let longest_change = plan.entities.iter().map(|e| columns(&changes(e))).max().unwrap_or(0);
    let rule = columns(&header).max(
        kind_width
            + name_width
            + outcome_width
            + 6
            + changes_width.map_or(longest_change, |width| width.min(longest_change)),
    );
    let mut lines = vec![header.clone(), style.paint(&"─".repeat(rule), Colour::Dim)];
    for entity in &plan.entities {
        let mut name = entity.name.clone();
        if columns(&name) > name_width {
            lines.push(format!("{}  {name}", pad(entity.kind.as_str(), kind_width, false)));
            name.clear();
        }
        let kind = if name.is_empty() { "" } else { entity.kind.as_str() };
        let changed = wrap_items(&change_list(entity), changes_width);
        let outcome_text = outcome(entity);
        let colour = match entity.outcome {
            Outcome::Change => Colour::Yellow,
            Outcome::Unchanged => Colour::Green,
            Outcome::Skipped => Colour::Dim,
        };
        let outcome_cell = format!(
            "{}{}",
            style.paint(outcome_text, colour),
            " ".repeat(outcome_width - outcome_text.len())
        );
        let lead = indent + name_width + 2 + outcome_width + 2;
        for (index, part) in changed.iter().enumerate() {
            if index == 0 {
                lines.push(format!(
                    "{}  {}  {outcome_cell}  {part}",
                    pad(kind, kind_width, false),
                    pad(&name, name_width, false)
                ));
            } else {
                lines.push(format!("{}{part}", " ".repeat(lead)));
            }
        }
        for (label, text, colour) in details(entity) {
            // Labels padded to one width, so the texts start in one column.
            let text = detail(indent, &pad(label, 8, false), &text, style);
            lines.extend(text.into_iter().map(|line| match colour {
                Some(colour) => style.paint(&line, colour),
                None => line,
            }));
        }
    }
    let mut out: String = lines.iter().map(|line| format!("{}\n", line.trim_end())).collect();
    let warning = lockout_warning(plan);
    let tail = [(summary_line(plan), None)]
        .into_iter()
        .chain(warning.map(|warning| (warning, Some(Colour::Red))))
        .chain(risk_lines(plan).into_iter().map(|line| (line, None)))
        .chain(service_level_lines(plan).into_iter().map(|line| (line, None)));
    for (paragraph, colour) in tail {
        for line in wrap(&paragraph, style.width) {
            out.push_str(&match colour {
                Some(colour) => style.paint(&line, colour),
                None => line,
            });
            out.push('\n');
        }
    }
    out
}

/// The plan as Markdown: a heading, the summary, one row per entity, the lockout warning and
/// the escalation risks. The same at every width.
pub fn markdown(plan: &Plan) -> String {
    let mut out = format!(
        "## iamsweep plan for account {}\n\n{}\n\n\
         | kind | name | outcome | changes | boundary keeps | boundary removes | why not (more) |\n\
         |---|---|---|---|---|---|---|\n",
        plan.account_id,
        summary_line(plan)
    );
    for entity in &plan.entities {
        let effect = entity.boundary.as_ref().map(|change| &change.effect);
        let mut keeps = effect.map(|effect| keeps(effect, true)).unwrap_or_default();
        if let Some(grace) = grace(entity) {
            keeps.push_str(&format!("; in grace: {grace}"));
        }
        let removes = effect.map(removes).unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            entity.kind.as_str(),
            escape(&entity.name),
            outcome(entity),
            escape(&changes(entity)),
            escape(&keeps),
            escape(&removes),
            escape(&skips(entity))
        );
    }
    if let Some(warning) = lockout_warning(plan) {
        let _ = writeln!(out, "\n> **{}**", escape(&warning));
    }
    let lines = risk_lines(plan);
    if !lines.is_empty() {
        out.push_str("\n### Escalation risks\n\n");
        for line in lines {
            let _ = writeln!(out, "- {}", escape(&line));
        }
    }
    out
}

/// `change`, `unchanged` or `skipped`.
fn outcome(entity: &EntityPlan) -> &'static str {
    match entity.outcome {
        Outcome::Change => "change",
        Outcome::Unchanged => "unchanged",
        Outcome::Skipped => "skipped",
    }
}

/// The lines under an entity's row: what its boundary keeps and removes, why anything is left
/// alone. The lockout line is red.
fn details(entity: &EntityPlan) -> Vec<(&'static str, String, Option<Colour>)> {
    let mut details = Vec::new();
    if let Some(change) = &entity.boundary {
        let effect = &change.effect;
        let colour = effect.base_actions_only.then_some(Colour::Red);
        details.push(("keeps:", keeps(effect, false), colour));
        if let Some(grace) = grace(entity) {
            details.push(("grace:", grace, None));
        }
        if !effect.removes.is_empty() {
            details.push(("removes:", removes(effect), None));
        }
    }
    if !entity.skips.is_empty() {
        details.push(("why not:", skips(entity), None));
    }
    details
}

/// What the boundary keeps: the used services, or, marked, nothing but the base actions.
fn keeps(effect: &BoundaryEffect, markdown: bool) -> String {
    let base = if effect.base_actions.is_empty() {
        "no action at all".to_string()
    } else {
        format!("the base actions {}", list(&effect.base_actions, LISTED))
    };
    if effect.base_actions_only {
        let marker = "BASE ACTIONS ONLY";
        let marker = if markdown { format!("**{marker}**") } else { marker.to_string() };
        return format!("{marker}: no service, {base} (an effective lockout)");
    }
    let kept: Vec<&str> = effect.kept_namespaces().collect();
    let mut text = list(&kept, LISTED);
    if !effect.base_actions.is_empty() {
        text.push_str(&format!(", and {base}"));
    }
    text
}

/// The services kept though not used within the window because they were granted recently,
/// with the plan's reason; those of one reason together (`sqs, sns: granted since ...`).
fn grace(entity: &EntityPlan) -> Option<String> {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for kept in &entity.grace {
        match groups.iter_mut().find(|(reason, _)| *reason == kept.reason) {
            Some((_, namespaces)) => namespaces.push(&kept.namespace),
            None => groups.push((&kept.reason, vec![&kept.namespace])),
        }
    }
    let parts: Vec<String> = groups
        .into_iter()
        .map(|(reason, namespaces)| format!("{}: {reason}", list(&namespaces, LISTED)))
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// What the boundary removes, stale services first then unused, each group by risk.
fn removes(effect: &BoundaryEffect) -> String {
    let group = |state: ServiceState| {
        let names: Vec<&str> = effect
            .removes
            .iter()
            .filter(|service: &&EffectService| service.state == state)
            .map(|service| &*service.namespace)
            .collect();
        (!names.is_empty()).then(|| format!("{} ({})", list(&names, LISTED), state.as_str()))
    };
    [group(ServiceState::Stale), group(ServiceState::Unused)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ")
}

fn skips(entity: &EntityPlan) -> String {
    entity.skips.iter().map(|skip| skip.reason.as_str()).collect::<Vec<_>>().join("; ")
}

/// One sentence naming every entity whose boundary keeps no service, if any.
pub fn lockout_warning(plan: &Plan) -> Option<String> {
    let locked: Vec<String> = plan
        .entities
        .iter()
        .filter(|entity| {
            entity.boundary.as_ref().is_some_and(|change| change.effect.base_actions_only)
        })
        .map(|entity| format!("{} {}", entity.kind.as_str(), entity.name))
        .collect();
    if locked.is_empty() {
        return None;
    }
    Some(format!(
        "warning: {} left with the base actions only, no service (an effective lockout for \
         anything still running): {}; review before `apply`",
        if locked.len() == 1 {
            "1 entity is".to_string()
        } else {
            format!("{} entities are", locked.len())
        },
        list(&locked, LISTED)
    ))
}
