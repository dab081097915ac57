//! The top of the page: what was audited, counts, charts and the riskiest findings.
//!
//! Everything here is a running sum over the entities already written ([`Overview::add`]), so
//! that a report over many accounts is written one account at a time and keeps only these
//! sums: the counts, eleven coverage buckets, one counter pair per service namespace and the
//! few riskiest findings.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use time::OffsetDateTime;

use super::chart::{self, ServiceBar};
use super::entity::{flagged, severity};
use super::escape::escape;
use crate::plan::{Outcome, Plan};
use crate::report::{AuditReport, ServiceState, StatusCounts, VerdictCounts};
use crate::risk::{self, Severity};

/// How many findings the overview lists.
const FINDINGS: usize = 15;
/// How many services the chart of unused services shows.
const SERVICES: usize = 12;
/// How many flagged services a finding names before "and N more".
const NAMED: usize = 6;

/// One account of the report.
#[derive(Debug, Clone)]
struct Account {
    id: String,
    window_days: u32,
    generated_at: OffsetDateTime,
    entities: usize,
    calls: u64,
    throttles: u64,
}

/// One non-compliant entity, as the findings list shows it.
#[derive(Debug, Clone)]
struct Finding {
    severity: Severity,
    flagged: usize,
    account_id: String,
    kind: &'static str,
    name: String,
    /// The first [`NAMED`] flagged namespaces, riskiest first.
    named: Vec<String>,
}

/// Running sums over the entities written so far.
#[derive(Debug, Default)]
pub struct Overview {
    accounts: Vec<Account>,
    failed: Vec<(String, String)>,
    status: StatusCounts,
    verdict: VerdictCounts,
    coverage: [usize; 11],
    without_coverage: usize,
    /// namespace -> (entities leaving it unused, entities leaving it stale).
    services: HashMap<Arc<str>, (usize, usize)>,
    findings: Vec<Finding>,
    /// Plan counts: change, unchanged, skipped, boundaries written, base actions only.
    plan: Option<[usize; 5]>,
}

impl Overview {
    /// Adds one account's report.
    pub fn add(&mut self, report: &AuditReport) {
        self.accounts.push(Account {
            id: report.account_id.clone(),
            window_days: report.window_days,
            generated_at: report.generated_at,
            entities: report.entities.len(),
            calls: report.summary.calls,
            throttles: report.summary.throttles,
        });
        for entity in &report.entities {
            match entity.status {
                crate::model::Status::Ok => self.status.ok += 1,
                crate::model::Status::Error => self.status.error += 1,
                crate::model::Status::Skipped => self.status.skipped += 1,
            }
            match entity.verdict {
                Some(crate::report::Verdict::Compliant) => self.verdict.compliant += 1,
                Some(crate::report::Verdict::NonCompliant) => self.verdict.non_compliant += 1,
                None => {}
            }
            match entity.coverage_percent {
                Some(percent) => self.coverage[chart::coverage_bucket(percent)] += 1,
                None => self.without_coverage += 1,
            }
            for service in flagged(entity) {
                let counts = self.services.entry(service.namespace.clone()).or_default();
                match service.state {
                    ServiceState::Unused => counts.0 += 1,
                    ServiceState::Stale => counts.1 += 1,
                    ServiceState::Used => {}
                }
            }
            if entity.verdict == Some(crate::report::Verdict::NonCompliant) {
                let mut named: Vec<&str> =
                    flagged(entity).map(|service| &*service.namespace).collect();
                risk::sort_services(&mut named);
                self.findings.push(Finding {
                    severity: severity(entity),
                    flagged: named.len(),
                    account_id: report.account_id.clone(),
                    kind: entity.kind.as_str(),
                    name: entity.name.clone(),
                    named: named.iter().take(NAMED).map(|name| name.to_string()).collect(),
                });
                if self.findings.len() > 4 * FINDINGS {
                    self.keep_riskiest();
                }
            }
        }
    }

    /// Adds a plan's counts.
    pub fn add_plan(&mut self, plan: &Plan) {
        let counts = self.plan.get_or_insert([0; 5]);
        for entity in &plan.entities {
            match entity.outcome {
                Outcome::Change => counts[0] += 1,
                Outcome::Unchanged => counts[1] += 1,
                Outcome::Skipped => counts[2] += 1,
            }
            if entity.boundary.as_ref().is_some_and(|boundary| boundary.effect.base_actions_only) {
                counts[4] += 1;
            }
        }
        counts[3] += plan.summary.restricted;
    }

    /// Records an account that could not be audited.
    pub fn add_failed(&mut self, account_id: &str, error: &str) {
        self.failed.push((account_id.to_string(), error.to_string()));
    }

    /// Riskiest first: severity, then the number of flagged services, then the name.
    fn keep_riskiest(&mut self) {
        self.findings.sort_by(|a, b| {
            (Reverse(a.severity), Reverse(a.flagged), &a.account_id, &a.name).cmp(&(
                Reverse(b.severity),
                Reverse(b.flagged),
                &b.account_id,
                &b.name,
            ))
        });
        self.findings.truncate(FINDINGS);
    }

    /// The overview section.
    pub fn render(mut self, noun: &str) -> String {
        self.keep_riskiest();
        let mut out = String::from("<section id=\"overview\">\n");
        self.header(&mut out, noun);
        self.cards(&mut out);
        out.push_str("<div class=\"grid\">\n");
        let _ = writeln!(
            out,
            "<div class=\"panel\" id=\"coverage\"><h2>Coverage across entities</h2>{}</div>",
            chart::coverage(&self.coverage, self.without_coverage)
        );
        self.services_panel(&mut out);
        self.findings_panel(&mut out);
        out.push_str("</div>\n</section>\n");
        out
    }

    fn header(&self, out: &mut String, noun: &str) {
        let ids: Vec<&str> = self.accounts.iter().map(|account| account.id.as_str()).collect();
        let failed: Vec<&str> = self.failed.iter().map(|(id, _)| id.as_str()).collect();
        let accounts = ids.len() + failed.len();
        let _ = write!(
            out,
            "<header><h1>iamsweep {noun}: {}</h1>\n<dl class=\"facts\">",
            match (ids.as_slice(), accounts) {
                ([id], 1) => format!("account {}", escape(id)),
                _ => format!("{accounts} accounts"),
            }
        );
        let mut fact = |name: &str, value: String| {
            let _ = write!(out, "<div><dt>{name}</dt><dd>{value}</dd></div>");
        };
        if accounts > 1 {
            let mut all: Vec<&str> = ids.iter().chain(&failed).copied().collect();
            all.sort_unstable();
            let shown: Vec<String> =
                all.iter().take(20).map(|id| escape(id).into_owned()).collect();
            let more = all.len().saturating_sub(20);
            fact(
                "accounts",
                format!(
                    "{}{}",
                    shown.join(", "),
                    if more > 0 { format!(" and {more} more") } else { String::new() }
                ),
            );
        }
        let mut windows: Vec<u32> =
            self.accounts.iter().map(|account| account.window_days).collect();
        windows.sort_unstable();
        windows.dedup();
        if !windows.is_empty() {
            let windows: Vec<String> = windows.iter().map(u32::to_string).collect();
            fact("window", format!("{} days", windows.join(", ")));
        }
        let earliest = self.accounts.iter().map(|account| account.generated_at).min();
        let latest = self.accounts.iter().map(|account| account.generated_at).max();
        if let (Some(earliest), Some(latest)) = (earliest, latest) {
            let text = if earliest == latest {
                time_element(earliest)
            } else {
                format!("{} to {}", time_element(earliest), time_element(latest))
            };
            fact("collected", text);
        }
        let entities: usize = self.accounts.iter().map(|account| account.entities).sum();
        fact("entities", entities.to_string());
        let calls: u64 = self.accounts.iter().map(|account| account.calls).sum();
        let throttles: u64 = self.accounts.iter().map(|account| account.throttles).sum();
        fact("collection", format!("{calls} calls, {throttles} throttles"));
        out.push_str("</dl></header>\n");
        if !self.failed.is_empty() {
            out.push_str("<div class=\"panel failed\" id=\"failed-accounts\"><h2>Accounts not audited</h2><ul>");
            for (id, error) in &self.failed {
                let _ = write!(out, "<li><b>{}</b>: {}</li>", escape(id), escape(error));
            }
            out.push_str("</ul></div>\n");
        }
    }

    fn cards(&self, out: &mut String) {
        out.push_str("<div class=\"cards\" id=\"counts\">");
        let mut card = |class: &str, label: &str, count: usize| {
            let _ = write!(out, "<div class=\"card {class}\"><b>{count}</b>{label}</div>");
        };
        card("v-NON_COMPLIANT", "non-compliant", self.verdict.non_compliant);
        card("v-COMPLIANT", "compliant", self.verdict.compliant);
        card("", "ok", self.status.ok);
        card("v-error", "error", self.status.error);
        card("v-skipped", "skipped", self.status.skipped);
        if let Some([change, unchanged, skipped, boundaries, base_only]) = self.plan {
            card("o-change", "plan: change", change);
            card("", "plan: boundaries written", boundaries);
            card("base-only", "plan: base actions only", base_only);
            card("", "plan: unchanged", unchanged);
            card("o-skipped", "plan: skipped", skipped);
        }
        if !self.failed.is_empty() {
            card("failed", "accounts not audited", self.failed.len());
        }
        out.push_str("</div>\n");
    }

    fn services_panel(&self, out: &mut String) {
        let mut bars: Vec<ServiceBar> = self
            .services
            .iter()
            .map(|(namespace, &(unused, stale))| ServiceBar {
                namespace: namespace.to_string(),
                unused,
                stale,
            })
            .collect();
        bars.sort_by(|a, b| {
            (b.unused + b.stale)
                .cmp(&(a.unused + a.stale))
                .then_with(|| risk::compare_services(&a.namespace, &b.namespace))
        });
        bars.truncate(SERVICES);
        out.push_str(
            "<div class=\"panel\" id=\"unused-services\"><h2>Services most often unused</h2>",
        );
        if bars.is_empty() {
            out.push_str("<p>Every granted service was used within the window.</p>");
        } else {
            out.push_str("<p>Entities granted each service without using it in the window.</p>");
            out.push_str(&chart::services(&bars));
        }
        out.push_str("</div>\n");
    }

    fn findings_panel(&self, out: &mut String) {
        out.push_str("<div class=\"panel\" id=\"findings\"><h2>Riskiest findings</h2>");
        if self.findings.is_empty() {
            out.push_str("<p>No entity is non-compliant.</p></div>\n");
            return;
        }
        let several = self.accounts.len() + self.failed.len() > 1;
        out.push_str("<ol class=\"findings\">");
        for finding in &self.findings {
            let more = finding.flagged.saturating_sub(finding.named.len());
            let _ = write!(
                out,
                "<li><span class=\"sev sev-{0}\">{0}</span> {1} <b>{2}</b>{3}: {4}{5}</li>",
                finding.severity,
                finding.kind,
                escape(&finding.name),
                if several {
                    format!(" in {}", escape(&finding.account_id))
                } else {
                    String::new()
                },
                escape(&finding.named.join(", ")),
                if more > 0 { format!(" and {more} more") } else { String::new() },
            );
        }
        out.push_str("</ol></div>\n");
    }
}

/// A `<time>` element: readable text, RFC 3339 in `datetime`.
pub(super) fn time_element(at: OffsetDateTime) -> String {
    let machine = at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let text = at
        .format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC"))
        .unwrap_or_default();
    format!("<time datetime=\"{machine}\">{text}</time>")
}
