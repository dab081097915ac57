//! `iamsweep plan`: what `apply` would change, and why each skipped entity is left alone.
//!
//! Reads IAM (the audit, iamsweep's boundary policies, the caller) and writes nothing to it.
//! Exit 0 once the plan is shown (and written with `--output`).

use std::process::ExitCode;

use iamsweep_core::escalation::{EscalationPath, describe};
use iamsweep_core::plan::{EntityPlan, Plan};

use crate::enforce::{Aws, PlanArgs, PlanFormat, make_plan_and_report, resolve_settings};
use crate::settings::AuditSettings;

/// Runs `plan`.
pub async fn run(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let settings = AuditSettings::resolve(&args.input)?;
    let aws = Aws::connect(&settings.connection, settings.collect.rate).await;
    let enforce = resolve_settings(
        &settings.config,
        args.input.config.as_deref(),
        settings.window_days,
        &aws,
        args.replace_foreign_boundaries,
    )
    .await?;
    let (plan, report) = make_plan_and_report(&settings, &enforce, &aws).await?;
    if let Some(path) = &args.output {
        super::emit(Some(path), |out| {
            Ok(out.write_all(format!("{}\n", plan.to_json()).as_bytes())?)
        })?;
        super::wrote("plan", PlanFormat::Json, Some(path));
    }
    let text = match args.format {
        // The page shows every entity's usage beside its plan, so it needs the report too.
        PlanFormat::Html => crate::render::html::plan(&report, &plan),
        format => render(&plan, format),
    };
    super::emit(None, |out| Ok(out.write_all(text.as_bytes())?))?;
    if matches!(args.format, PlanFormat::Json | PlanFormat::Html) {
        crate::logging::status!("{}", summary_line(&plan));
    }
    Ok(ExitCode::SUCCESS)
}

/// The plan in `format`.
pub fn render(plan: &Plan, format: PlanFormat) -> String {
    match format {
        PlanFormat::Json => format!("{}\n", plan.to_json()),
        PlanFormat::Table => {
            crate::render::plan::table(plan, &crate::render::text::Style::stdout())
        }
        PlanFormat::Markdown => crate::render::plan::markdown(plan),
        PlanFormat::Html => {
            unreachable!("`run` renders the HTML plan with its report (render::html::plan)")
        }
    }
}

/// One line: how many entities change, are restricted, unchanged, skipped.
pub fn summary_line(plan: &Plan) -> String {
    let summary = &plan.summary;
    format!(
        "plan: {} entities change ({} boundaries), {} unchanged, {} skipped",
        summary.change, summary.restricted, summary.unchanged, summary.skipped
    )
}

/// The changes of an entity in a few words, such as `create policy, tag 8, attach`.
pub fn changes(entity: &EntityPlan) -> String {
    change_list(entity).join(", ")
}

/// The changes of an entity, one item each.
pub fn change_list(entity: &EntityPlan) -> Vec<String> {
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
            parts.push(format!("attach {}", boundary.policy_name));
        }
    }
    if let Some(tags) = &entity.tags {
        parts.push(format!("tag {}", tags.set.len()));
    }
    parts
}

/// One line per entity whose iamsweep boundary leaves an escalation path open, then a hint:
/// iamsweep names these risks and leaves the decision to a person.
pub fn risk_lines(plan: &Plan) -> Vec<String> {
    let risky: Vec<&EntityPlan> =
        plan.entities.iter().filter(|entity| !entity.escalation_risks.is_empty()).collect();
    let mut lines: Vec<String> = risky
        .iter()
        .map(|entity| {
            format!(
                "escalation risk: {} {}: its boundary leaves open {}",
                entity.kind.as_str(),
                entity.name,
                describe(&entity.escalation_risks)
            )
        })
        .collect();
    let uncontained = risky
        .iter()
        .flat_map(|entity| &entity.escalation_risks)
        .any(|risk| risk.path == EscalationPath::CreatePrincipals);
    if !risky.is_empty() {
        lines.push(format!(
            "hint: these entities used IAM, and a boundary cannot stop all of it (`--format \
             json` lists the actions); {}see README, \"What a boundary closes and what it \
             cannot\"",
            if uncontained {
                "`boundary.contain_iam_writers = true` closes create-principals and user and \
                 role policy writes; "
            } else {
                ""
            }
        ));
    }
    lines
}
