//! Errors of bad input: flags, config, list files, snapshots and plans.
//!
//! Each one names where the problem is (file, line, field) and what was expected, so the binaries
//! can print it as one sentence and exit with code 2 before any AWS call.

use std::fmt;

/// Where in an input the problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A line (and column) of a text or JSON input.
    Line {
        /// 1-based line.
        line: usize,
        /// 1-based column, when known.
        column: Option<usize>,
    },
    /// A field, such as `window_days` or `entities[3].kind`.
    Field(String),
    /// A line of another file the input names, such as a list file of the configuration.
    File {
        /// The file as the input names it (a path or an `s3://` URI).
        file: String,
        /// 1-based line.
        line: usize,
    },
}

/// A bad input, found before anything was done with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InputError {
    /// Where the problem is; the binary prefixes the file name.
    pub location: Location,
    /// What is wrong and what was expected.
    pub message: String,
}

impl InputError {
    /// A problem at a 1-based line.
    pub fn line(line: usize, message: impl Into<String>) -> Self {
        InputError { location: Location::Line { line, column: None }, message: message.into() }
    }

    /// A problem with a named field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        InputError { location: Location::Field(field.into()), message: message.into() }
    }

    /// This error, found at a line of `file`: a [`Location::File`] (other locations unchanged).
    pub fn in_file(self, file: &str) -> Self {
        match self.location {
            Location::Line { line, .. } => {
                InputError { location: Location::File { file: file.to_string(), line }, ..self }
            }
            _ => self,
        }
    }

    /// A JSON syntax or shape error, with serde's line and column.
    pub fn at_json(what: &str, error: &serde_json::Error) -> Self {
        InputError {
            location: Location::Line { line: error.line(), column: Some(error.column()) },
            // serde_json's Display ends with " at line L column C", which `Location` already says.
            message: format!("invalid {what}: {}", strip_position(&error.to_string())),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Location::Line { line, column: Some(column) } => {
                write!(f, "line {line}, column {column}: {}", self.message)
            }
            Location::Line { line, column: None } => write!(f, "line {line}: {}", self.message),
            Location::Field(field) => write!(f, "field `{field}`: {}", self.message),
            Location::File { file, line } => write!(f, "`{file}`, line {line}: {}", self.message),
        }
    }
}

fn strip_position(message: &str) -> &str {
    message.rsplit_once(" at line ").map_or(message, |(head, _)| head)
}
