//! iamsweep's ASFF findings as the SDK's `AwsSecurityFinding`, for `BatchImportFindings`.
//!
//! The conversion reads the finding's JSON (what `--format asff` writes) rather than the typed
//! struct, so that it is strict about the document itself: a field it does not know is an
//! error (never silently dropped), a field ASFF requires and the finding lacks is an error, and
//! an enumerated value the SDK's model does not list (a severity label, a compliance status, a
//! record state, a partition) is an error. Converting every finding of a report and comparing
//! what the SDK serialises with the file is how the tests prove the two are the same document.

use std::collections::HashMap;

use aws_sdk_securityhub::types::{
    AwsIamGroupDetails, AwsIamRoleDetails, AwsIamUserDetails, AwsSecurityFinding, Compliance,
    ComplianceStatus, Partition, Recommendation, RecordState, Remediation, Resource,
    ResourceDetails, Severity, SeverityLabel,
};
use iamsweep_core::findings::asff::Finding;
use serde_json::{Map, Value};

/// Why a finding cannot become an `AwsSecurityFinding`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AsffError {
    /// A field the converter does not know, at this path.
    #[error("finding `{id}`: unknown ASFF field `{path}`")]
    UnknownField {
        /// The finding's id.
        id: String,
        /// `Resources[0].Details.AwsIamUser.Foo`.
        path: String,
    },
    /// A field ASFF requires is missing or empty.
    #[error("finding `{id}`: required ASFF field `{path}` is missing")]
    Missing {
        /// The finding's id.
        id: String,
        /// The missing field.
        path: String,
    },
    /// A value of the wrong JSON type, or not one the SDK's model lists.
    #[error("finding `{id}`: `{path}` is {found}, expected {expected}")]
    Invalid {
        /// The finding's id.
        id: String,
        /// The field.
        path: String,
        /// What it holds.
        found: String,
        /// What ASFF takes.
        expected: String,
    },
}

/// Converts one finding.
pub fn to_sdk(finding: &Finding) -> Result<AwsSecurityFinding, AsffError> {
    let value = serde_json::to_value(finding).expect("a finding serialises");
    from_json(&value)
}

/// Converts every finding, stopping at the first that cannot be.
pub fn all_to_sdk(findings: &[Finding]) -> Result<Vec<AwsSecurityFinding>, AsffError> {
    findings.iter().map(to_sdk).collect()
}

/// Converts one finding's JSON (an object of the `Findings` array of a `BatchImportFindings`
/// body), refusing unknown fields, missing required fields and values the model does not list.
pub fn from_json(value: &Value) -> Result<AwsSecurityFinding, AsffError> {
    let id = value.get("Id").and_then(Value::as_str).unwrap_or("?").to_string();
    let reader = Reader { id: &id };
    let object = reader.object(value, "")?;
    let mut builder = AwsSecurityFinding::builder();
    for (key, field) in object {
        builder = match key.as_str() {
            "SchemaVersion" => builder.schema_version(reader.string(field, key)?),
            "Id" => builder.id(reader.string(field, key)?),
            "ProductArn" => builder.product_arn(reader.string(field, key)?),
            "ProductName" => builder.product_name(reader.string(field, key)?),
            "CompanyName" => builder.company_name(reader.string(field, key)?),
            "Region" => builder.region(reader.string(field, key)?),
            "GeneratorId" => builder.generator_id(reader.string(field, key)?),
            "AwsAccountId" => builder.aws_account_id(reader.string(field, key)?),
            "Types" => builder.set_types(Some(reader.strings(field, key)?)),
            "FirstObservedAt" => builder.first_observed_at(reader.string(field, key)?),
            "LastObservedAt" => builder.last_observed_at(reader.string(field, key)?),
            "CreatedAt" => builder.created_at(reader.string(field, key)?),
            "UpdatedAt" => builder.updated_at(reader.string(field, key)?),
            "Title" => builder.title(reader.string(field, key)?),
            "Description" => builder.description(reader.string(field, key)?),
            "Severity" => builder.severity(reader.severity(field)?),
            "Remediation" => builder.remediation(reader.remediation(field)?),
            "ProductFields" => builder.set_product_fields(Some(reader.string_map(field, key)?)),
            "Resources" => {
                let resources = reader.array(field, key)?;
                let resources = resources
                    .iter()
                    .enumerate()
                    .map(|(index, resource)| reader.resource(resource, index))
                    .collect::<Result<Vec<_>, _>>()?;
                builder.set_resources(Some(resources))
            }
            "Compliance" => builder.compliance(reader.compliance(field)?),
            "RecordState" => builder.record_state(RecordState::from(
                reader.listed(field, key, RecordState::values())?.as_str(),
            )),
            _ => return Err(reader.unknown(key)),
        };
    }
    let finding = builder.build();
    reader.required(&finding)?;
    Ok(finding)
}

/// Reads one finding's JSON, naming the finding and the path in every error.
struct Reader<'a> {
    id: &'a str,
}

impl Reader<'_> {
    fn unknown(&self, path: &str) -> AsffError {
        AsffError::UnknownField { id: self.id.to_string(), path: path.to_string() }
    }

    fn invalid(&self, path: &str, found: &Value, expected: &str) -> AsffError {
        let found = match found {
            Value::String(text) => format!("`{text}`"),
            other => other.to_string(),
        };
        AsffError::Invalid {
            id: self.id.to_string(),
            path: path.to_string(),
            found,
            expected: expected.to_string(),
        }
    }

    fn object<'v>(
        &self,
        value: &'v Value,
        path: &str,
    ) -> Result<&'v Map<String, Value>, AsffError> {
        value.as_object().ok_or_else(|| self.invalid(path, value, "an object"))
    }

    fn array<'v>(&self, value: &'v Value, path: &str) -> Result<&'v Vec<Value>, AsffError> {
        value.as_array().ok_or_else(|| self.invalid(path, value, "an array"))
    }

    fn string(&self, value: &Value, path: &str) -> Result<String, AsffError> {
        value.as_str().map(str::to_string).ok_or_else(|| self.invalid(path, value, "a string"))
    }

    fn strings(&self, value: &Value, path: &str) -> Result<Vec<String>, AsffError> {
        self.array(value, path)?
            .iter()
            .enumerate()
            .map(|(index, item)| self.string(item, &format!("{path}[{index}]")))
            .collect()
    }

    fn string_map(&self, value: &Value, path: &str) -> Result<HashMap<String, String>, AsffError> {
        self.object(value, path)?
            .iter()
            .map(|(key, item)| Ok((key.clone(), self.string(item, &format!("{path}.{key}"))?)))
            .collect()
    }

    /// An enumerated value, accepted only when the SDK's model lists it.
    fn listed(&self, value: &Value, path: &str, values: &[&str]) -> Result<String, AsffError> {
        let text = self.string(value, path)?;
        if values.contains(&text.as_str()) {
            Ok(text)
        } else {
            Err(self.invalid(path, value, &format!("one of {}", values.join(", "))))
        }
    }

    fn severity(&self, value: &Value) -> Result<Severity, AsffError> {
        let mut builder = Severity::builder();
        for (key, field) in self.object(value, "Severity")? {
            let path = format!("Severity.{key}");
            builder = match key.as_str() {
                "Label" => builder.label(SeverityLabel::from(
                    self.listed(field, &path, SeverityLabel::values())?.as_str(),
                )),
                _ => return Err(self.unknown(&path)),
            };
        }
        Ok(builder.build())
    }

    fn remediation(&self, value: &Value) -> Result<Remediation, AsffError> {
        let mut builder = Remediation::builder();
        for (key, field) in self.object(value, "Remediation")? {
            let path = format!("Remediation.{key}");
            builder = match key.as_str() {
                "Recommendation" => {
                    let mut recommendation = Recommendation::builder();
                    for (key, item) in self.object(field, &path)? {
                        let path = format!("{path}.{key}");
                        recommendation = match key.as_str() {
                            "Text" => recommendation.text(self.string(item, &path)?),
                            "Url" => recommendation.url(self.string(item, &path)?),
                            _ => return Err(self.unknown(&path)),
                        };
                    }
                    builder.recommendation(recommendation.build())
                }
                _ => return Err(self.unknown(&path)),
            };
        }
        Ok(builder.build())
    }

    fn compliance(&self, value: &Value) -> Result<Compliance, AsffError> {
        let mut builder = Compliance::builder();
        for (key, field) in self.object(value, "Compliance")? {
            let path = format!("Compliance.{key}");
            builder = match key.as_str() {
                "Status" => builder.status(ComplianceStatus::from(
                    self.listed(field, &path, ComplianceStatus::values())?.as_str(),
                )),
                _ => return Err(self.unknown(&path)),
            };
        }
        Ok(builder.build())
    }

    fn resource(&self, value: &Value, index: usize) -> Result<Resource, AsffError> {
        let base = format!("Resources[{index}]");
        let mut builder = Resource::builder();
        for (key, field) in self.object(value, &base)? {
            let path = format!("{base}.{key}");
            builder = match key.as_str() {
                "Type" => builder.r#type(self.string(field, &path)?),
                "Id" => builder.id(self.string(field, &path)?),
                "Partition" => builder.partition(Partition::from(
                    self.listed(field, &path, Partition::values())?.as_str(),
                )),
                "Region" => builder.region(self.string(field, &path)?),
                "Details" => builder.details(self.details(field, &path)?),
                _ => return Err(self.unknown(&path)),
            };
        }
        let resource = builder.build();
        for (field, present) in [
            ("Type", resource.r#type().is_some_and(|t| !t.is_empty())),
            ("Id", resource.id().is_some_and(|id| !id.is_empty())),
        ] {
            if !present {
                return Err(self.missing(&format!("{base}.{field}")));
            }
        }
        Ok(resource)
    }

    fn details(&self, value: &Value, base: &str) -> Result<ResourceDetails, AsffError> {
        let mut builder = ResourceDetails::builder();
        for (key, field) in self.object(value, base)? {
            let path = format!("{base}.{key}");
            let entity = self.entity_details(field, &path)?;
            builder = match key.as_str() {
                "AwsIamUser" => builder.aws_iam_user(
                    AwsIamUserDetails::builder()
                        .set_user_name(entity.name)
                        .set_path(entity.path)
                        .set_create_date(entity.create_date)
                        .build(),
                ),
                "AwsIamRole" => builder.aws_iam_role(
                    AwsIamRoleDetails::builder()
                        .set_role_name(entity.name)
                        .set_path(entity.path)
                        .set_create_date(entity.create_date)
                        .build(),
                ),
                "AwsIamGroup" => builder.aws_iam_group(
                    AwsIamGroupDetails::builder()
                        .set_group_name(entity.name)
                        .set_path(entity.path)
                        .set_create_date(entity.create_date)
                        .build(),
                ),
                _ => return Err(self.unknown(&path)),
            };
        }
        Ok(builder.build())
    }

    /// The fields iamsweep sets in `AwsIamUser`, `AwsIamRole` and `AwsIamGroup` details; each
    /// type names its name field after itself (`UserName`, `RoleName`, `GroupName`).
    fn entity_details(&self, value: &Value, base: &str) -> Result<EntityDetails, AsffError> {
        let name_key = match base.rsplit('.').next() {
            Some("AwsIamUser") => "UserName",
            Some("AwsIamRole") => "RoleName",
            Some("AwsIamGroup") => "GroupName",
            _ => return Err(self.unknown(base)),
        };
        let mut details = EntityDetails::default();
        for (key, field) in self.object(value, base)? {
            let path = format!("{base}.{key}");
            match key.as_str() {
                "Path" => details.path = Some(self.string(field, &path)?),
                "CreateDate" => details.create_date = Some(self.string(field, &path)?),
                name if name == name_key => details.name = Some(self.string(field, &path)?),
                _ => return Err(self.unknown(&path)),
            }
        }
        Ok(details)
    }

    fn missing(&self, path: &str) -> AsffError {
        AsffError::Missing { id: self.id.to_string(), path: path.to_string() }
    }

    /// The fields the ASFF reference marks required
    /// (<https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_AwsSecurityFinding.html>),
    /// with `Severity.Label`, which Security Hub needs to rank the finding.
    fn required(&self, finding: &AwsSecurityFinding) -> Result<(), AsffError> {
        let present = |text: Option<&str>| text.is_some_and(|text| !text.is_empty());
        let checks = [
            ("SchemaVersion", present(finding.schema_version())),
            ("Id", present(finding.id())),
            ("ProductArn", present(finding.product_arn())),
            ("GeneratorId", present(finding.generator_id())),
            ("AwsAccountId", present(finding.aws_account_id())),
            ("CreatedAt", present(finding.created_at())),
            ("UpdatedAt", present(finding.updated_at())),
            ("Title", present(finding.title())),
            ("Description", present(finding.description())),
            ("Resources", !finding.resources().is_empty()),
            ("Severity.Label", finding.severity().and_then(|s| s.label()).is_some()),
        ];
        match checks.iter().find(|(_, present)| !present) {
            Some((path, _)) => Err(self.missing(path)),
            None => Ok(()),
        }
    }
}

#[derive(Default)]
struct EntityDetails {
    name: Option<String>,
    path: Option<String>,
    create_date: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn minimal() -> Value {
        json!({
            "SchemaVersion": "2018-10-08",
            "Id": "iamsweep/aws/123456789012/arn:aws:iam::123456789012:user/alice",
            "ProductArn": "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default",
            "GeneratorId": "iamsweep/unused-access",
            "AwsAccountId": "123456789012",
            "CreatedAt": "2026-11-23T12:40:00.000Z",
            "UpdatedAt": "2026-11-23T12:40:00.000Z",
            "Severity": {"Label": "HIGH"},
            "Title": "t",
            "Description": "d",
            "Resources": [{"Type": "AwsIamUser", "Id": "arn:aws:iam::123456789012:user/alice",
                           "Partition": "aws", "Details": {"AwsIamUser": {"UserName": "alice"}}}]
        })
    }

    #[test]
    fn a_minimal_finding_converts() {
        let finding = from_json(&minimal()).unwrap();
        assert_eq!(finding.severity().unwrap().label(), Some(&SeverityLabel::High));
        let details = finding.resources()[0].details().unwrap().aws_iam_user().unwrap();
        assert_eq!(details.user_name(), Some("alice"));
    }

    #[test]
    fn unknown_fields_missing_fields_and_unlisted_values_are_refused() {
        let mut unknown = minimal();
        unknown["Workflow"] = json!({"Status": "NEW"});
        assert!(
            matches!(from_json(&unknown), Err(AsffError::UnknownField { path, .. }) if path == "Workflow")
        );
        let mut nested = minimal();
        nested["Resources"][0]["Details"]["AwsIamUser"]["RoleName"] = json!("x");
        assert!(matches!(from_json(&nested), Err(AsffError::UnknownField { path, .. })
            if path == "Resources[0].Details.AwsIamUser.RoleName"));
        for field in ["Id", "Title", "GeneratorId", "Resources", "Severity", "CreatedAt"] {
            let mut missing = minimal();
            missing.as_object_mut().unwrap().remove(field);
            assert!(matches!(from_json(&missing), Err(AsffError::Missing { .. })), "{field}");
        }
        let mut label = minimal();
        label["Severity"]["Label"] = json!("SEVERE");
        assert!(matches!(from_json(&label), Err(AsffError::Invalid { .. })));
        let mut partition = minimal();
        partition["Resources"][0]["Partition"] = json!("mars");
        assert!(matches!(from_json(&partition), Err(AsffError::Invalid { .. })));
        let mut number = minimal();
        number["Title"] = json!(3);
        assert!(matches!(from_json(&number), Err(AsffError::Invalid { .. })));
    }
}
