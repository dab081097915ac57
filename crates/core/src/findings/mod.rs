//! Findings: an audit report in the formats security teams collect findings in.
//!
//! One finding per audited user, role and group, built by pure functions from the analysed
//! report: [`asff`] (AWS Security Finding Format, the body of Security Hub's
//! `BatchImportFindings`) and [`ocsf`] (OCSF 1.5.0 Detection Finding). Both share what a finding
//! says ([`FindingContext`], the stable id, the title, the description, the remediation), so the
//! two formats never disagree; the severity comes from [`crate::risk`] through the report.

pub mod asff;
pub mod ocsf;
mod text;

use time::OffsetDateTime;

use crate::report::AuditReport;

/// Names the rule that produced iamsweep's findings (ASFF `GeneratorId`, OCSF `finding_info.analytic`).
pub const GENERATOR_ID: &str = "iamsweep/unused-access";

/// The product's name in findings.
pub const PRODUCT_NAME: &str = "iamsweep";

/// Where a finding's reader learns how to act on it: AWS's guide to refining permissions with
/// last accessed information, the data every finding is made from. (The project has no public
/// home a finding could link to; a link that resolves nowhere would be worse than this one.)
pub const REMEDIATION_URL: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_last-accessed.html";

/// Where findings are imported and when they were made: what a finding needs beyond the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingContext {
    /// The AWS partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: String,
    /// The Security Hub region the findings go to.
    pub region: String,
    /// The account that imports the findings, whose product ARN they carry (for a custom
    /// integration, `arn:PARTITION:securityhub:REGION:ACCOUNT:product/ACCOUNT/default`);
    /// usually the audited account.
    pub product_account_id: String,
    /// When the findings were made (`UpdatedAt`, `LastObservedAt`, and `FirstObservedAt` for a
    /// new finding).
    pub generated_at: OffsetDateTime,
    /// The remediation link ([`REMEDIATION_URL`]).
    pub remediation_url: String,
}

impl FindingContext {
    /// The context of findings about `report` imported into its own account in `region`, made
    /// when the report was; the partition follows from the region.
    pub fn for_report(report: &AuditReport, region: &str) -> Self {
        FindingContext {
            partition: partition_of_region(region).to_string(),
            region: region.to_string(),
            product_account_id: report.account_id.clone(),
            generated_at: report.generated_at,
            remediation_url: REMEDIATION_URL.to_string(),
        }
    }
}

/// The partition a region belongs to: `cn-*` is `aws-cn`, `us-gov-*` is `aws-us-gov`,
/// `us-iso-*` and `us-isob-*` the isolated ones; any other is `aws`.
pub fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else {
        "aws"
    }
}

/// The longest finding id ASFF accepts.
pub const MAX_ID_LENGTH: usize = 512;

/// The id of the finding about `entity_arn` of `account_id` in `partition`: the same on every
/// run, so that importing again updates the finding rather than adding one.
///
/// Readable (`iamsweep/PARTITION/ACCOUNT/ENTITY_ARN`) while it fits ASFF's 512 characters; a
/// role with a long path can exceed that, and its id then ends in a 128-bit FNV-1a digest of the
/// full ARN instead of the ARN's tail (stable, and ids are not secrets, so no cryptographic hash
/// is needed).
pub fn finding_id(partition: &str, account_id: &str, entity_arn: &str) -> String {
    let readable = format!("iamsweep/{partition}/{account_id}/{entity_arn}");
    if readable.len() <= MAX_ID_LENGTH {
        return readable;
    }
    let digest = format!("/fnv1a128-{:032x}", fnv1a_128(entity_arn.as_bytes()));
    let mut keep = MAX_ID_LENGTH - digest.len();
    while !readable.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}{digest}", &readable[..keep])
}

fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    bytes.iter().fold(OFFSET, |hash, byte| (hash ^ u128::from(*byte)).wrapping_mul(PRIME))
}

/// The product ARN of findings an account imports itself (Security Hub's custom integration).
pub fn product_arn(partition: &str, region: &str, account_id: &str) -> String {
    format!("arn:{partition}:securityhub:{region}:{account_id}:product/{account_id}/default")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_fit_asff() {
        let arn = "arn:aws:iam::123456789012:role/app";
        assert_eq!(
            finding_id("aws", "123456789012", arn),
            "iamsweep/aws/123456789012/arn:aws:iam::123456789012:role/app"
        );
        let long = format!("arn:aws:iam::123456789012:role/{}/app", "p".repeat(600));
        let other = format!("arn:aws:iam::123456789012:role/{}/api", "p".repeat(600));
        let id = finding_id("aws", "123456789012", &long);
        assert_eq!(id.len(), MAX_ID_LENGTH);
        assert_eq!(id, finding_id("aws", "123456789012", &long));
        assert_ne!(id, finding_id("aws", "123456789012", &other));
    }

    #[test]
    fn the_partition_follows_the_region() {
        assert_eq!(partition_of_region("eu-west-1"), "aws");
        assert_eq!(partition_of_region("cn-north-1"), "aws-cn");
        assert_eq!(partition_of_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(
            product_arn("aws", "eu-west-1", "123456789012"),
            "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default"
        );
    }
}
