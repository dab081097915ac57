//! Which entities a run looks at: `--kinds`, `--name GLOB`, `--path PREFIX`, `--tag KEY[=VALUE]`.
//!
//! One decision, [`Selection::matches`], used alike on a saved snapshot (by the CLI, before the
//! analysis) and during a live collection (by the collector, before any Access Advisor job is
//! started, so an unselected entity costs no call beyond IAM's listing).
//!
//! How repeats combine: a flag given several times matches an entity when **any** of its values
//! does (OR within a flag); different flags must **all** match (AND across flags). A flag not
//! given selects everything. So `--name 'ci-*' --name deploy --tag team=data` selects the
//! entities named `ci-*` or `deploy` that carry the tag `team` with the value `data`.
//!
//! ```
//! use iamsweep_core::model::{EntityKind, EntityRecord};
//! use iamsweep_core::selection::Selection;
//!
//! let mut selection = Selection::default();
//! selection.add_name("ci-*").unwrap();
//! selection.add_tag("team=data").unwrap();
//! let mut role = EntityRecord::new(EntityKind::Role, "arn:aws:iam::1:role/ci-build", "ci-build");
//! assert!(!selection.matches(&role));
//! role.tags.insert("Team".into(), "data".into());
//! assert!(selection.matches(&role));
//! assert!(Selection::default().add_tag("").is_err());
//! ```

use wildmatch::WildMatch;

use crate::model::{EntityKind, EntityRecord};

/// The longest name glob accepted: IAM names are at most 64 characters (128 for a role path's
/// worth of wildcards is generous); anything longer matches nothing and is a typo.
const MAX_GLOB_CHARS: usize = 128;
/// IAM paths are at most 512 characters.
const MAX_PATH_CHARS: usize = 512;
/// IAM tag keys are 1..=128 characters.
const MAX_TAG_KEY_CHARS: usize = 128;
/// IAM tag values are 0..=256 characters.
const MAX_TAG_VALUE_CHARS: usize = 256;

/// A selection of entities. The default selects every entity of every kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Kinds to keep; empty keeps every kind.
    kinds: Vec<EntityKind>,
    /// Name globs (`*`, `?`, case-insensitive as IAM names are); empty keeps every name.
    names: Vec<String>,
    /// IAM path prefixes (`/ci/` keeps `/ci/` and `/ci/deploy/`); empty keeps every path.
    paths: Vec<String>,
    /// Tags wanted: a key (case-insensitive, as IAM compares them) and maybe a value (exact).
    tags: Vec<TagFilter>,
}

/// One `--tag KEY[=VALUE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFilter {
    /// The tag key.
    pub key: String,
    /// The value it must have; `None`: any value.
    pub value: Option<String>,
}

/// A selection flag's value refused, naming the flag and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{flag}`: {message}")]
pub struct SelectionError {
    /// The flag, such as `--tag`.
    pub flag: &'static str,
    /// What was expected and found.
    pub message: String,
}

impl Selection {
    /// Keeps only `kinds` (an empty list keeps every kind).
    pub fn with_kinds(mut self, kinds: &[EntityKind]) -> Self {
        self.kinds = kinds.to_vec();
        self
    }

    /// Adds a `--name` glob: characters IAM allows in names (`A-Za-z0-9+=,.@_-`) plus the
    /// wildcards `*` and `?`.
    pub fn add_name(&mut self, glob: &str) -> Result<(), SelectionError> {
        let fail = |message: String| SelectionError { flag: "--name", message };
        if glob.is_empty() {
            return Err(fail("expected a name or a glob such as `ci-*`, found nothing".into()));
        }
        if glob.chars().count() > MAX_GLOB_CHARS {
            return Err(fail(format!(
                "expected at most {MAX_GLOB_CHARS} characters, found {}",
                glob.chars().count()
            )));
        }
        if let Some(bad) = glob.chars().find(|&c| !is_name_char(c) && c != '*' && c != '?') {
            return Err(fail(format!(
                "`{glob}` holds `{bad}`; expected the characters of IAM names \
                 (letters, digits, `+=,.@_-`) and the wildcards `*` and `?`"
            )));
        }
        self.names.push(glob.to_string());
        Ok(())
    }

    /// Adds a `--path` prefix: starts with `/`, printable ASCII as IAM paths are.
    pub fn add_path(&mut self, prefix: &str) -> Result<(), SelectionError> {
        let fail = |message: String| SelectionError { flag: "--path", message };
        if !prefix.starts_with('/') {
            return Err(fail(format!(
                "expected an IAM path prefix starting with `/`, such as `/ci/`, found `{prefix}`"
            )));
        }
        if prefix.len() > MAX_PATH_CHARS {
            return Err(fail(format!(
                "expected at most {MAX_PATH_CHARS} characters, found {}",
                prefix.len()
            )));
        }
        if let Some(bad) = prefix.chars().find(|c| !('!'..='~').contains(c)) {
            return Err(fail(format!(
                "`{prefix}` holds {bad:?}; IAM paths hold printable ASCII characters only"
            )));
        }
        self.paths.push(prefix.to_string());
        Ok(())
    }

    /// Adds a `--tag KEY` or `--tag KEY=VALUE` (split at the first `=`), with IAM's limits.
    pub fn add_tag(&mut self, text: &str) -> Result<(), SelectionError> {
        let fail = |message: String| SelectionError { flag: "--tag", message };
        let (key, value) = match text.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (text, None),
        };
        let key_chars = key.chars().count();
        if key_chars == 0 || key_chars > MAX_TAG_KEY_CHARS {
            return Err(fail(format!(
                "expected KEY or KEY=VALUE with a key of 1..={MAX_TAG_KEY_CHARS} characters, \
                 found `{text}`"
            )));
        }
        if let Some(value) = value
            && value.chars().count() > MAX_TAG_VALUE_CHARS
        {
            return Err(fail(format!(
                "expected a value of at most {MAX_TAG_VALUE_CHARS} characters, found {}",
                value.chars().count()
            )));
        }
        let bad = key.chars().chain(value.unwrap_or("").chars()).find(|&c| !is_tag_char(c));
        if let Some(bad) = bad {
            return Err(fail(format!(
                "`{text}` holds {bad:?}; IAM tags hold letters, digits, spaces and `_.:/=+-@` only"
            )));
        }
        self.tags.push(TagFilter { key: key.to_string(), value: value.map(str::to_string) });
        Ok(())
    }

    /// Whether every entity is selected (no flag narrows the selection).
    pub fn is_everything(&self) -> bool {
        (self.kinds.is_empty() || EntityKind::ALL.iter().all(|kind| self.kinds.contains(kind)))
            && self.names.is_empty()
            && self.paths.is_empty()
            && self.tags.is_empty()
    }

    /// Whether `entity` is selected: each flag given matches (AND), through any of its values
    /// (OR). Groups have no tags in IAM, so any `--tag` leaves every group out.
    pub fn matches(&self, entity: &EntityRecord) -> bool {
        let kind = self.kinds.is_empty() || self.kinds.contains(&entity.kind);
        let name = self.names.is_empty()
            || self
                .names
                .iter()
                .any(|glob| WildMatch::new_case_insensitive(glob).matches(&entity.name));
        let path =
            self.paths.is_empty() || self.paths.iter().any(|p| entity.path.starts_with(p.as_str()));
        let tag = self.tags.is_empty() || self.tags.iter().any(|wanted| has_tag(entity, wanted));
        kind && name && path && tag
    }

    /// Keeps the selected entities of `entities`, in their order.
    pub fn retain(&self, entities: &mut Vec<EntityRecord>) {
        if !self.is_everything() {
            entities.retain(|entity| self.matches(entity));
        }
    }
}

/// IAM keys compare without case (a user cannot hold `Team` and `team`); values exactly.
fn has_tag(entity: &EntityRecord, wanted: &TagFilter) -> bool {
    entity.tags.iter().any(|(key, value)| {
        key.eq_ignore_ascii_case(&wanted.key)
            && wanted.value.as_ref().is_none_or(|wanted| wanted == value)
    })
}

/// The characters of IAM user, role and group names.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

/// The characters of IAM tag keys and values: `[\p{L}\p{Z}\p{N}_.:/=+\-@]`.
fn is_tag_char(c: char) -> bool {
    // `\p{Z}` are the Unicode separators (spaces); tabs and newlines are control characters.
    c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(kind: EntityKind, name: &str, path: &str, tags: &[(&str, &str)]) -> EntityRecord {
        let mut record = EntityRecord::new(kind, format!("arn:aws:iam::1:x{path}{name}"), name);
        record.path = path.into();
        record.tags = tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        record
    }

    #[test]
    fn the_default_selects_everything() {
        let selection = Selection::default();
        assert!(selection.is_everything());
        assert!(selection.matches(&entity(EntityKind::Group, "g", "/", &[])));
        assert!(Selection::default().with_kinds(&EntityKind::ALL).is_everything());
    }

    #[test]
    fn repeats_of_a_flag_are_or_and_flags_are_and() {
        let mut selection = Selection::default();
        selection.add_name("ci-*").unwrap();
        selection.add_name("DEPLOY").unwrap();
        selection.add_path("/teams/").unwrap();
        let ci = entity(EntityKind::Role, "ci-build", "/teams/ci/", &[]);
        let deploy = entity(EntityKind::User, "deploy", "/teams/", &[]);
        let elsewhere = entity(EntityKind::User, "ci-old", "/", &[]);
        let other = entity(EntityKind::User, "alice", "/teams/", &[]);
        assert!(selection.matches(&ci));
        assert!(selection.matches(&deploy), "names ignore case, as IAM's do");
        assert!(!selection.matches(&elsewhere), "the path must match too");
        assert!(!selection.matches(&other), "the name must match too");
    }

    #[test]
    fn kinds_narrow_every_other_flag() {
        let mut selection = Selection::default().with_kinds(&[EntityKind::Role]);
        selection.add_name("*").unwrap();
        assert!(selection.matches(&entity(EntityKind::Role, "r", "/", &[])));
        assert!(!selection.matches(&entity(EntityKind::User, "u", "/", &[])));
    }

    #[test]
    fn a_tag_matches_its_key_without_case_and_its_value_exactly() {
        let mut by_key = Selection::default();
        by_key.add_tag("team").unwrap();
        let mut by_value = Selection::default();
        by_value.add_tag("team=data=lake").unwrap();
        let tagged = entity(EntityKind::User, "u", "/", &[("Team", "data=lake")]);
        let other_value = entity(EntityKind::User, "v", "/", &[("team", "Data=lake")]);
        let untagged = entity(EntityKind::User, "w", "/", &[]);
        assert!(by_key.matches(&tagged) && by_key.matches(&other_value));
        assert!(!by_key.matches(&untagged));
        assert!(by_value.matches(&tagged), "split at the first `=`");
        assert!(!by_value.matches(&other_value), "values compare exactly");
        let mut empty_value = Selection::default();
        empty_value.add_tag("team=").unwrap();
        assert!(!empty_value.matches(&tagged));
        assert!(empty_value.matches(&entity(EntityKind::Role, "r", "/", &[("team", "")])));
    }

    #[test]
    fn a_tag_never_selects_a_group() {
        let mut selection = Selection::default();
        selection.add_tag("team").unwrap();
        assert!(!selection.matches(&entity(EntityKind::Group, "g", "/", &[])));
    }

    #[test]
    fn a_path_is_a_prefix_of_the_iam_path() {
        let mut selection = Selection::default();
        selection.add_path("/ci").unwrap();
        assert!(selection.matches(&entity(EntityKind::Role, "a", "/ci/", &[])));
        assert!(selection.matches(&entity(EntityKind::Role, "b", "/cix/", &[])));
        assert!(!selection.matches(&entity(EntityKind::Role, "c", "/", &[])));
    }

    #[test]
    fn hostile_values_are_refused_naming_the_flag() {
        let mut selection = Selection::default();
        for (flag, result) in [
            ("--name", selection.add_name("")),
            ("--name", selection.add_name("ci/*")),
            ("--name", selection.add_name("[ab]")),
            ("--name", selection.add_name(&"a".repeat(129))),
            ("--path", selection.add_path("ci/")),
            ("--path", selection.add_path("/c i/")),
            ("--path", selection.add_path("/\u{1b}[31m/")),
            ("--tag", selection.add_tag("")),
            ("--tag", selection.add_tag("=value")),
            ("--tag", selection.add_tag("a,b")),
            ("--tag", selection.add_tag(&"k".repeat(129))),
            ("--tag", selection.add_tag(&format!("k={}", "v".repeat(257)))),
            ("--tag", selection.add_tag("k=\n")),
        ] {
            let error = result.unwrap_err();
            assert_eq!(error.flag, flag);
            assert!(error.to_string().starts_with(&format!("`{flag}`: ")), "{error}");
        }
        assert_eq!(selection, Selection::default(), "a refused value is not kept");
    }

    #[test]
    fn retain_keeps_the_order() {
        let mut selection = Selection::default();
        selection.add_name("?").unwrap();
        let mut entities = vec![
            entity(EntityKind::User, "b", "/", &[]),
            entity(EntityKind::User, "long", "/", &[]),
            entity(EntityKind::User, "a", "/", &[]),
        ];
        selection.retain(&mut entities);
        let names: Vec<&str> = entities.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
    }
}
