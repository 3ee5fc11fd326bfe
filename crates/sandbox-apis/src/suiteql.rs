//! The subset of SuiteQL the NetSuite stand-in understands (see the README for the forms), parsed into a [`Query`].
//!
//! ```text
//! SELECT * | t.* | col | TO_CHAR(col, 'fmt') [AS] name [, ...]
//! FROM <record type> [alias]
//! [WHERE cond [AND cond ...]]        cond: col (= | > | >= | < | <=) (number | 'text' | TO_DATE('value', 'fmt'))
//! [ORDER BY col [ASC | DESC] [, ...]]
//! ```
//! Date formats: `YYYY-MM-DD"T"HH24:MI:SS` and `YYYY-MM-DD HH24:MI:SS`. Anything else is refused.

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    /// Lower-case record type.
    pub from: String,
    pub conditions: Vec<Condition>,
    pub order: Vec<(String, bool)>,
}

/// One entry of the select list.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*` or `alias.*`.
    All,
    /// A column, output under `name`.
    Column { column: String, name: String },
    /// `TO_CHAR(column, format)`, output under `name`.
    ToChar {
        column: String,
        format: DateFormat,
        name: String,
    },
}

/// A supported date format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFormat {
    /// `YYYY-MM-DD"T"HH24:MI:SS`
    IsoT,
    /// `YYYY-MM-DD HH24:MI:SS`
    IsoSpace,
}

impl DateFormat {
    fn parse(s: &str) -> Option<DateFormat> {
        match s.to_ascii_uppercase().as_str() {
            r#"YYYY-MM-DD"T"HH24:MI:SS"# => Some(DateFormat::IsoT),
            "YYYY-MM-DD HH24:MI:SS" => Some(DateFormat::IsoSpace),
            _ => None,
        }
    }

    /// The chrono pattern.
    pub fn chrono(self) -> &'static str {
        match self {
            DateFormat::IsoT => "%Y-%m-%dT%H:%M:%S",
            DateFormat::IsoSpace => "%Y-%m-%d %H:%M:%S",
        }
    }
}

/// `column op value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub column: String,
    pub op: Op,
    pub value: Literal,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    /// Applies the operator to an ordering of (row value, literal).
    pub fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Op::Eq => ord == Equal,
            Op::Gt => ord == Greater,
            Op::Ge => ord != Less,
            Op::Lt => ord == Less,
            Op::Le => ord != Greater,
        }
    }
}

/// A literal on the right of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Number(i64),
    Text(String),
    /// `TO_DATE(value, format)`: account-local naive date-time, as seconds since the epoch read as if UTC.
    Date(i64),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Number(i64),
    Text(String),
    Sym(&'static str),
}

fn tokenize(q: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Word(
                chars[start..i]
                    .iter()
                    .collect::<String>()
                    .to_ascii_lowercase(),
            ));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            out.push(Tok::Number(
                text.parse()
                    .map_err(|_| format!("number too large: {text}"))?,
            ));
        } else if c == '\'' {
            let mut text = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("unterminated string literal".into()),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        text.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        text.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Text(text));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let sym = match (two.as_str(), c) {
                (">=", _) => ">=",
                ("<=", _) => "<=",
                (_, '>') => ">",
                (_, '<') => "<",
                (_, '=') => "=",
                (_, '(') => "(",
                (_, ')') => ")",
                (_, ',') => ",",
                (_, '*') => "*",
                (_, '.') => ".",
                _ => return Err(format!("unexpected character {c:?}")),
            };
            i += sym.len();
            out.push(Tok::Sym(sym));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    alias: Option<String>,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(x)) if *x == s)
    }

    fn expect_word(&mut self, w: &str) -> Result<(), String> {
        if self.is_word(w) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected {}", w.to_ascii_uppercase()))
        }
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), String> {
        if self.is_sym(s) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected {s:?}"))
        }
    }

    fn word(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Tok::Word(w)) => Ok(w),
            other => Err(format!("expected a name, found {other:?}")),
        }
    }

    fn text(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Tok::Text(t)) => Ok(t),
            other => Err(format!("expected a string literal, found {other:?}")),
        }
    }

    /// `col` or `qualifier.col` (the qualifier is checked against the alias later).
    fn column(&mut self) -> Result<(Option<String>, String), String> {
        let first = self.word()?;
        if self.is_sym(".") {
            self.pos += 1;
            Ok((Some(first), self.word()?))
        } else {
            Ok((None, first))
        }
    }

    fn format(&mut self) -> Result<DateFormat, String> {
        let f = self.text()?;
        DateFormat::parse(&f).ok_or_else(|| format!("unsupported date format '{f}'"))
    }
}

const KEYWORDS: &[&str] = &[
    "from", "where", "order", "and", "as", "by", "asc", "desc", "select",
];

/// Parses a query, or says why it is not supported.
pub fn parse(q: &str) -> Result<Query, String> {
    let mut p = Parser {
        toks: tokenize(q)?,
        pos: 0,
        alias: None,
    };
    p.expect_word("select")?;
    let mut raw_select = Vec::new();
    let mut expr_count = 0;
    loop {
        if p.is_sym("*") {
            p.pos += 1;
            raw_select.push((None, SelectItem::All));
        } else if p.is_word("to_char") {
            p.pos += 1;
            p.expect_sym("(")?;
            let (qualifier, column) = p.column()?;
            p.expect_sym(",")?;
            let format = p.format()?;
            p.expect_sym(")")?;
            expr_count += 1;
            let name = alias_name(&mut p)?.unwrap_or_else(|| format!("expr{expr_count}"));
            raw_select.push((
                qualifier,
                SelectItem::ToChar {
                    column,
                    format,
                    name,
                },
            ));
        } else {
            let first = p.word()?;
            if p.is_sym(".") && matches!(p.toks.get(p.pos + 1), Some(Tok::Sym("*"))) {
                p.pos += 2;
                raw_select.push((Some(first), SelectItem::All));
            } else {
                let (qualifier, column) = if p.is_sym(".") {
                    p.pos += 1;
                    (Some(first), p.word()?)
                } else {
                    (None, first)
                };
                let name = alias_name(&mut p)?.unwrap_or_else(|| column.clone());
                raw_select.push((qualifier, SelectItem::Column { column, name }));
            }
        }
        if p.is_sym(",") {
            p.pos += 1;
        } else {
            break;
        }
    }
    p.expect_word("from")?;
    let from = p.word()?;
    if let Some(Tok::Word(w)) = p.peek()
        && !KEYWORDS.contains(&w.as_str())
    {
        p.alias = Some(w.clone());
        p.pos += 1;
    }
    let check = |p: &Parser, qualifier: &Option<String>| match qualifier {
        None => Ok(()),
        Some(q) if Some(q) == p.alias.as_ref() || *q == from => Ok(()),
        Some(q) => Err(format!("unknown table alias {q}")),
    };
    let mut select = Vec::new();
    for (qualifier, item) in raw_select {
        check(&p, &qualifier)?;
        select.push(item);
    }
    let mut conditions = Vec::new();
    if p.is_word("where") {
        p.pos += 1;
        loop {
            let (qualifier, column) = p.column()?;
            check(&p, &qualifier)?;
            let op = match p.next() {
                Some(Tok::Sym("=")) => Op::Eq,
                Some(Tok::Sym(">")) => Op::Gt,
                Some(Tok::Sym(">=")) => Op::Ge,
                Some(Tok::Sym("<")) => Op::Lt,
                Some(Tok::Sym("<=")) => Op::Le,
                other => return Err(format!("unsupported operator {other:?}")),
            };
            let value = match p.next() {
                Some(Tok::Number(n)) => Literal::Number(n),
                Some(Tok::Text(t)) => Literal::Text(t),
                Some(Tok::Word(w)) if w == "to_date" => {
                    p.expect_sym("(")?;
                    let value = p.text()?;
                    p.expect_sym(",")?;
                    let format = p.format()?;
                    p.expect_sym(")")?;
                    let t = chrono::NaiveDateTime::parse_from_str(&value, format.chrono())
                        .map_err(|_| format!("'{value}' does not match its date format"))?;
                    Literal::Date(t.and_utc().timestamp())
                }
                other => return Err(format!("unsupported value {other:?}")),
            };
            conditions.push(Condition { column, op, value });
            if p.is_word("and") {
                p.pos += 1;
            } else {
                break;
            }
        }
    }
    let mut order = Vec::new();
    if p.is_word("order") {
        p.pos += 1;
        p.expect_word("by")?;
        loop {
            let (qualifier, column) = p.column()?;
            check(&p, &qualifier)?;
            let descending = if p.is_word("desc") {
                p.pos += 1;
                true
            } else {
                if p.is_word("asc") {
                    p.pos += 1;
                }
                false
            };
            order.push((column, descending));
            if p.is_sym(",") {
                p.pos += 1;
            } else {
                break;
            }
        }
    }
    if let Some(t) = p.peek() {
        return Err(format!("unexpected {t:?} after the query"));
    }
    Ok(Query {
        select,
        from,
        conditions,
        order,
    })
}

fn alias_name(p: &mut Parser) -> Result<Option<String>, String> {
    if p.is_word("as") {
        p.pos += 1;
        return p.word().map(Some);
    }
    match p.peek() {
        Some(Tok::Word(w)) if !KEYWORDS.contains(&w.as_str()) => {
            let w = w.clone();
            p.pos += 1;
            Ok(Some(w))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyset_form() {
        let q = parse("SELECT * FROM customer WHERE id > 100 AND lastmodifieddate >= TO_DATE('2026-01-02 03:04:05', 'YYYY-MM-DD HH24:MI:SS') ORDER BY id").unwrap();
        assert_eq!(q.from, "customer");
        assert_eq!(q.select, vec![SelectItem::All]);
        assert_eq!(
            q.conditions[0],
            Condition {
                column: "id".into(),
                op: Op::Gt,
                value: Literal::Number(100)
            }
        );
        assert_eq!(q.conditions[1].value, Literal::Date(1_767_323_045));
        assert_eq!(q.order, vec![("id".to_owned(), false)]);
    }

    #[test]
    fn to_char_form_with_alias() {
        let q = parse(r#"select c.*, TO_CHAR(c.lastModifiedDate, 'YYYY-MM-DD"T"HH24:MI:SS') as lastmodified_iso from Customer c where c.id > 0 order by c.id asc"#).unwrap();
        assert_eq!(q.select[0], SelectItem::All);
        assert_eq!(
            q.select[1],
            SelectItem::ToChar {
                column: "lastmodifieddate".into(),
                format: DateFormat::IsoT,
                name: "lastmodified_iso".into()
            }
        );
        let q =
            parse(r#"SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD"T"HH24:MI:SS') FROM item"#)
                .unwrap();
        assert!(matches!(&q.select[1], SelectItem::ToChar { name, .. } if name == "expr1"));
    }

    #[test]
    fn unsupported_forms_are_refused() {
        for q in [
            "DELETE FROM customer",
            "SELECT * FROM customer WHERE id IN (1, 2)",
            "SELECT * FROM customer c JOIN item i ON c.id = i.id",
            "SELECT * FROM customer WHERE lastmodifieddate > TO_DATE('1/2/2026', 'MM/DD/YYYY')",
            "SELECT * FROM customer WHERE x.id > 1",
            "SELECT * FROM customer WHERE name = 'unterminated",
            "SELECT COUNT(*) FROM customer",
        ] {
            assert!(parse(q).is_err(), "{q}");
        }
    }
}
