//! The protocol's rules, and a violation of one: which call, which table, which rule, what exactly.

use std::fmt;

use serde::Serialize;

/// One protocol rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The body is valid JSON.
    Json,
    /// The body is a JSON object.
    Object,
    /// The body is at most [`super::MAX_RESPONSE_BYTES`] bytes.
    Size,
    /// `state` is present and a JSON object.
    StateObject,
    /// `hasMore` is present and a JSON boolean.
    HasMoreBoolean,
    /// `insert`/`delete` map table names to arrays of objects.
    RowsShape,
    /// `schema` maps table names to `{"primary_key": [column names]}`.
    SchemaShape,
    /// Every table in `insert`/`delete` has a `schema` entry.
    SchemaEntry,
    /// Every inserted and deleted row holds every primary-key column, not null.
    PrimaryKeyPresent,
    /// A table keeps the primary key it was first declared with.
    PrimaryKeyStable,
    /// Deletes need a primary key.
    DeleteWithoutKey,
    /// `softDelete` is an array of table names.
    SoftDeleteShape,
    /// `softDelete` lists only tables known from a `schema` entry (this call's or an earlier one).
    SoftDeleteKnown,
    /// Never `hasMore: true` with no rows and an unchanged state.
    EmptyHasMore,
    /// A top-level key the protocol does not define (a typo such as `has_more` is silently ignored by Fivetran).
    UnknownKey,
    /// A setup test answers with no rows, `hasMore: false` and the request's state.
    SetupTest,
}

impl Rule {
    /// The rule's short name, as reports print it.
    pub fn id(self) -> &'static str {
        match self {
            Rule::Json => "json",
            Rule::Object => "object",
            Rule::Size => "size",
            Rule::StateObject => "state-object",
            Rule::HasMoreBoolean => "has-more-boolean",
            Rule::RowsShape => "rows-shape",
            Rule::SchemaShape => "schema-shape",
            Rule::SchemaEntry => "schema-entry",
            Rule::PrimaryKeyPresent => "primary-key-present",
            Rule::PrimaryKeyStable => "primary-key-stable",
            Rule::DeleteWithoutKey => "delete-without-key",
            Rule::SoftDeleteShape => "soft-delete-shape",
            Rule::SoftDeleteKnown => "soft-delete-known",
            Rule::EmptyHasMore => "empty-has-more",
            Rule::UnknownKey => "unknown-key",
            Rule::SetupTest => "setup-test",
        }
    }

    /// Whether breaking the rule fails the call (all but [`Rule::UnknownKey`], which is a warning).
    pub fn is_fatal(self) -> bool {
        self != Rule::UnknownKey
    }
}

/// One broken rule in one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// 1-based call number within the sync.
    pub call: u64,
    /// The table involved, if any.
    pub table: Option<String>,
    /// The rule.
    pub rule: Rule,
    /// What exactly is wrong.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call {}", self.call)?;
        if let Some(table) = &self.table {
            write!(f, ", table `{table}`")?;
        }
        write!(f, ": [{}] {}", self.rule.id(), self.detail)
    }
}
