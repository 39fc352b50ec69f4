//! The OData v3 (JSON verbose) subset Exact Online speaks: typed property values, `$filter`,
//! `$select`, `$orderby`, `$top`, `$skip`, `$skiptoken`, `$expand`, `$inlinecount`, server paging
//! (60 per page) with an absolute `__next` link, and the `{"d": …}` envelope.
//!
//! String comparison follows the SQL Server collation behind Exact: case-insensitive and blind to
//! trailing spaces, but leading spaces count — so `Code eq '1024'` does not match the padded
//! account code `'              1024'`.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// Server page size of the normal (non-bulk, non-sync) endpoints.
pub const PAGE_SIZE: usize = 60;

/// The message Exact answers for any malformed query option.
pub const SYNTAX_ERROR: &str = "Error in query syntax.";

/// Edm type of a property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Guid,
    Str,
    Int,
    Double,
    Bool,
    DateTime,
    /// Navigation property (a collection of child entities), rendered `__deferred` unless expanded.
    Collection,
    /// Complex type the sandbox never fills (always `null`).
    Complex,
}

impl Kind {
    fn edm(self) -> &'static str {
        match self {
            Kind::Guid => "Edm.Guid",
            Kind::Str => "Edm.String",
            Kind::Int => "Edm.Int32",
            Kind::Double => "Edm.Double",
            Kind::Bool => "Edm.Boolean",
            Kind::DateTime => "Edm.DateTime",
            Kind::Collection | Kind::Complex => "Edm.ComplexType",
        }
    }
}

/// A property value. Amounts are kept as exact decimals; dates as epoch milliseconds (UTC).
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Null,
    Str(String),
    Guid(Uuid),
    Int(i64),
    Num(Decimal),
    Bool(bool),
    Date(i64),
}

impl Val {
    pub fn str(s: impl Into<String>) -> Val {
        Val::Str(s.into())
    }

    pub fn opt_str(s: Option<&str>) -> Val {
        s.map_or(Val::Null, Val::str)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_guid(&self) -> Option<Uuid> {
        match self {
            Val::Guid(g) => Some(*g),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_num(&self) -> Option<Decimal> {
        match self {
            Val::Num(n) => Some(*n),
            Val::Int(i) => Some(Decimal::from(*i)),
            _ => None,
        }
    }

    pub fn as_date(&self) -> Option<i64> {
        match self {
            Val::Date(ms) => Some(*ms),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    /// JSON verbose rendering: guids as strings, dates as `/Date(ms)/`, Edm.Double as numbers.
    pub fn to_json(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Str(s) => Value::String(s.clone()),
            Val::Guid(g) => Value::String(g.to_string()),
            Val::Int(i) => json!(i),
            Val::Num(d) => d
                .to_f64()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
            Val::Bool(b) => Value::Bool(*b),
            Val::Date(ms) => Value::String(format!("/Date({ms})/")),
        }
    }

    /// Converts a request value for a property of `kind`; `Err` names the expected Edm type.
    pub fn from_json(kind: Kind, value: &Value) -> Result<Val, &'static str> {
        let bad = || kind.edm();
        if value.is_null() {
            return Ok(Val::Null);
        }
        match kind {
            Kind::Str => value.as_str().map(Val::str).ok_or_else(bad),
            Kind::Guid => value
                .as_str()
                .and_then(|s| Uuid::parse_str(s.trim()).ok())
                .map(Val::Guid)
                .ok_or_else(bad),
            Kind::Int => value.as_i64().map(Val::Int).ok_or_else(bad),
            Kind::Double => match value {
                Value::Number(n) => parse_decimal(&n.to_string()).map(Val::Num).ok_or_else(bad),
                Value::String(s) => parse_decimal(s.trim()).map(Val::Num).ok_or_else(bad),
                _ => Err(bad()),
            },
            Kind::Bool => value.as_bool().map(Val::Bool).ok_or_else(bad),
            Kind::DateTime => value
                .as_str()
                .and_then(parse_request_date)
                .map(Val::Date)
                .ok_or_else(bad),
            Kind::Collection | Kind::Complex => Err(bad()),
        }
    }
}

/// Parses a JSON number's text (or a numeric string) into a decimal without going through f64.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .ok()
}

/// Rounds half away from zero to `dp` decimals, as Exact rounds amounts.
pub fn round(value: Decimal, dp: u32) -> Decimal {
    value.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

/// Dates in requests: `/Date(ms)/`, ISO date, or ISO date-time with or without zone (a missing zone
/// is taken as UTC, as Exact echoes it back).
pub fn parse_request_date(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Some(ms) = text
        .strip_prefix("/Date(")
        .and_then(|rest| rest.strip_suffix(")/"))
    {
        let digits = ms.split(['+', '-']).next().filter(|d| !d.is_empty());
        let negative = ms.starts_with('-');
        return match digits {
            Some(d) => d.parse::<i64>().ok().map(|v| if negative { -v } else { v }),
            None => ms.parse().ok(),
        };
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(text, format) {
            return Some(dt.and_utc().timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc().timestamp_millis())
}

/// One entity instance: property name (from the schema) → value. Absent means null (false for
/// booleans).
pub type Row = HashMap<&'static str, Val>;

/// Reads a property with Exact's defaults for absent values.
pub fn get(row: &Row, name: &str, kind: Kind) -> Val {
    match row.get(name) {
        Some(v) => v.clone(),
        None if kind == Kind::Bool => Val::Bool(false),
        None => Val::Null,
    }
}

/// An entity set: its Edm type name, key property and property list.
pub struct EntitySet {
    pub type_name: &'static str,
    pub key: &'static str,
    pub fields: &'static [(&'static str, Kind)],
}

impl EntitySet {
    pub fn field(&self, name: &str) -> Option<(&'static str, Kind)> {
        self.fields.iter().copied().find(|(n, _)| *n == name)
    }

    pub fn key_kind(&self) -> Kind {
        self.field(self.key).map_or(Kind::Guid, |(_, k)| k)
    }

    pub fn no_property(&self, name: &str) -> String {
        format!("No property '{name}' exists in type '{}'.", self.type_name)
    }

    /// `guid'…'` (or a plain number for integer keys) — the form used in URLs and skiptokens.
    pub fn key_literal(&self, key: &Val) -> String {
        match key {
            Val::Guid(g) => format!("guid'{g}'"),
            Val::Int(i) => i.to_string(),
            Val::Str(s) => format!("'{}'", s.replace('\'', "''")),
            other => other.to_json().to_string(),
        }
    }

    /// Parses a key literal as it appears in `Entity(…)` or `$skiptoken`.
    pub fn parse_key(&self, text: &str) -> Option<Val> {
        let mut lexer = Lexer::new(text);
        let token = lexer.next_token().ok()??;
        if lexer.next_token().ok()?.is_some() {
            return None;
        }
        match (self.key_kind(), token) {
            (Kind::Guid, Tok::Lit(Val::Guid(g))) => Some(Val::Guid(g)),
            (Kind::Int, Tok::Lit(Val::Int(i))) => Some(Val::Int(i)),
            (Kind::Str, Tok::Lit(Val::Str(s))) => Some(Val::Str(s)),
            _ => None,
        }
    }

    /// Renders a row as Exact does: `__metadata` first, then every property in reference order
    /// (or only the `$select`ed ones). Navigation collections are `__deferred` unless `expand`
    /// supplies their rendered results.
    pub fn render(
        &self,
        row: &Row,
        uri: &str,
        select: Option<&[&'static str]>,
        expand: &dyn Fn(&'static str) -> Option<Value>,
    ) -> Value {
        let mut object = Map::new();
        object.insert(
            "__metadata".into(),
            json!({ "uri": uri, "type": self.type_name }),
        );
        for &(name, kind) in self.fields {
            if select.is_some_and(|s| !s.contains(&name)) {
                continue;
            }
            let value = match kind {
                Kind::Collection => expand(name)
                    .unwrap_or_else(|| json!({ "__deferred": { "uri": format!("{uri}/{name}") } })),
                Kind::Complex => Value::Null,
                _ => get(row, name, kind).to_json(),
            };
            object.insert(name.into(), value);
        }
        Value::Object(object)
    }
}

/// Normalises a string the way Exact's SQL Server collation compares it.
fn collate(s: &str) -> String {
    s.trim_end_matches(' ').to_lowercase()
}

/// Orders two values of the same Edm type; nulls sort first.
pub fn compare(a: &Val, b: &Val) -> Ordering {
    match (a, b) {
        (Val::Null, Val::Null) => Ordering::Equal,
        (Val::Null, _) => Ordering::Less,
        (_, Val::Null) => Ordering::Greater,
        (Val::Str(x), Val::Str(y)) => collate(x).cmp(&collate(y)),
        (Val::Guid(x), Val::Guid(y)) => x.cmp(y),
        (Val::Bool(x), Val::Bool(y)) => x.cmp(y),
        (Val::Date(x), Val::Date(y)) => x.cmp(y),
        (x, y) => match (x.as_num(), y.as_num()) {
            (Some(p), Some(q)) => p.cmp(&q),
            _ => Ordering::Equal,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// $filter
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Lit(Val),
    Open,
    Close,
    Comma,
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    text: &'a str,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Lexer {
            chars: text.char_indices().peekable(),
            text,
        }
    }

    fn quoted(&mut self) -> Result<String, ()> {
        let mut out = String::new();
        loop {
            match self.chars.next() {
                Some((_, '\'')) => {
                    if matches!(self.chars.peek(), Some((_, '\''))) {
                        self.chars.next();
                        out.push('\'');
                    } else {
                        return Ok(out);
                    }
                }
                Some((_, c)) => out.push(c),
                None => return Err(()),
            }
        }
    }

    fn next_token(&mut self) -> Result<Option<Tok>, ()> {
        while matches!(self.chars.peek(), Some((_, c)) if c.is_whitespace()) {
            self.chars.next();
        }
        let Some(&(start, c)) = self.chars.peek() else {
            return Ok(None);
        };
        match c {
            '(' | ')' | ',' => {
                self.chars.next();
                Ok(Some(match c {
                    '(' => Tok::Open,
                    ')' => Tok::Close,
                    _ => Tok::Comma,
                }))
            }
            '\'' => {
                self.chars.next();
                Ok(Some(Tok::Lit(Val::Str(self.quoted()?))))
            }
            c if c.is_ascii_digit() || c == '-' => self.number(start).map(Some),
            c if c.is_alphabetic() || c == '_' => {
                let mut end = start;
                while let Some(&(i, c)) = self.chars.peek() {
                    if c.is_alphanumeric() || c == '_' || c == '/' || c == '.' {
                        end = i + c.len_utf8();
                        self.chars.next();
                    } else {
                        break;
                    }
                }
                let word = &self.text[start..end];
                if matches!(self.chars.peek(), Some((_, '\''))) {
                    self.chars.next();
                    let body = self.quoted()?;
                    return typed_literal(word, &body).map(|v| Some(Tok::Lit(v)));
                }
                Ok(Some(match word {
                    "true" => Tok::Lit(Val::Bool(true)),
                    "false" => Tok::Lit(Val::Bool(false)),
                    "null" => Tok::Lit(Val::Null),
                    _ => Tok::Ident(word.to_string()),
                }))
            }
            _ => Err(()),
        }
    }

    fn number(&mut self, start: usize) -> Result<Tok, ()> {
        let mut end = start;
        let mut previous = ' ';
        while let Some(&(i, c)) = self.chars.peek() {
            let sign_ok = (c == '-' || c == '+') && (i == start || matches!(previous, 'e' | 'E'));
            if c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E' || sign_ok {
                end = i + 1;
                previous = c;
                self.chars.next();
            } else {
                break;
            }
        }
        let text = &self.text[start..end];
        let suffix = match self.chars.peek() {
            Some(&(_, c)) if "LlMmDdFf".contains(c) => {
                self.chars.next();
                Some(c.to_ascii_uppercase())
            }
            _ => None,
        };
        let integral = !text.contains(['.', 'e', 'E']) && matches!(suffix, None | Some('L'));
        if integral {
            text.parse().map(|i| Tok::Lit(Val::Int(i))).map_err(|_| ())
        } else {
            parse_decimal(text).map(|d| Tok::Lit(Val::Num(d))).ok_or(())
        }
    }
}

fn typed_literal(prefix: &str, body: &str) -> Result<Val, ()> {
    match prefix {
        "guid" => Uuid::parse_str(body).map(Val::Guid).map_err(|_| ()),
        "datetime" => ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(body, f).ok())
            .or_else(|| {
                NaiveDate::parse_from_str(body, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            })
            .map(|dt| Val::Date(dt.and_utc().timestamp_millis()))
            .ok_or(()),
        "datetimeoffset" => DateTime::parse_from_rfc3339(body)
            .map(|dt| Val::Date(dt.timestamp_millis()))
            .map_err(|_| ()),
        _ => Err(()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    fn parse(word: &str) -> Option<CmpOp> {
        Some(match word {
            "eq" => CmpOp::Eq,
            "ne" => CmpOp::Ne,
            "gt" => CmpOp::Gt,
            "ge" => CmpOp::Ge,
            "lt" => CmpOp::Lt,
            "le" => CmpOp::Le,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Func {
    SubstringOf,
    StartsWith,
    EndsWith,
    ToLower,
    ToUpper,
    Trim,
    Length,
}

impl Func {
    fn parse(name: &str) -> Option<Func> {
        Some(match name {
            "substringof" => Func::SubstringOf,
            "startswith" => Func::StartsWith,
            "endswith" => Func::EndsWith,
            "tolower" => Func::ToLower,
            "toupper" => Func::ToUpper,
            "trim" => Func::Trim,
            "length" => Func::Length,
            _ => return None,
        })
    }
}

/// A parsed and type-checked `$filter` expression.
#[derive(Clone, Debug)]
pub struct Filter(Expr);

#[derive(Clone, Debug)]
enum Expr {
    Lit(Val),
    Prop(&'static str, Kind),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Call(Func, Vec<Expr>),
}

/// Static type of an expression, for Exact's operand checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Null,
    Str,
    Guid,
    Num,
    Bool,
    Date,
}

impl Ty {
    fn of_kind(kind: Kind) -> Ty {
        match kind {
            Kind::Guid => Ty::Guid,
            Kind::Int | Kind::Double => Ty::Num,
            Kind::Bool => Ty::Bool,
            Kind::DateTime => Ty::Date,
            Kind::Str | Kind::Collection | Kind::Complex => Ty::Str,
        }
    }

    fn of_val(v: &Val) -> Ty {
        match v {
            Val::Null => Ty::Null,
            Val::Str(_) => Ty::Str,
            Val::Guid(_) => Ty::Guid,
            Val::Int(_) | Val::Num(_) => Ty::Num,
            Val::Bool(_) => Ty::Bool,
            Val::Date(_) => Ty::Date,
        }
    }

    fn edm(self) -> &'static str {
        match self {
            Ty::Null => "null",
            Ty::Str => "Edm.String",
            Ty::Guid => "Edm.Guid",
            Ty::Num => "Edm.Decimal",
            Ty::Bool => "Edm.Boolean",
            Ty::Date => "Edm.DateTime",
        }
    }
}

struct Parser<'s> {
    tokens: Vec<Tok>,
    pos: usize,
    set: &'s EntitySet,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn peek_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w == word)
    }

    fn bump(&mut self) -> Option<Tok> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn expect(&mut self, token: Tok) -> Result<(), String> {
        if self.bump() == Some(token) {
            Ok(())
        } else {
            Err(SYNTAX_ERROR.into())
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.bump();
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.not()?;
        while self.peek_word("and") {
            self.bump();
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.peek_word("not") {
            self.bump();
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, String> {
        let left = self.primary()?;
        if let Some(Tok::Ident(word)) = self.peek() {
            if let Some(op) = CmpOp::parse(word) {
                self.bump();
                let right = self.primary()?;
                return Ok(Expr::Cmp(op, Box::new(left), Box::new(right)));
            }
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.bump() {
            Some(Tok::Open) => {
                let inner = self.or()?;
                self.expect(Tok::Close)?;
                Ok(inner)
            }
            Some(Tok::Lit(v)) => Ok(Expr::Lit(v)),
            Some(Tok::Ident(name)) => {
                if self.peek() == Some(&Tok::Open) {
                    let func = Func::parse(&name).ok_or_else(|| {
                        format!("Unknown function '{name}' in $filter. {SYNTAX_ERROR}")
                    })?;
                    self.bump();
                    let mut args = vec![self.or()?];
                    while self.peek() == Some(&Tok::Comma) {
                        self.bump();
                        args.push(self.or()?);
                    }
                    self.expect(Tok::Close)?;
                    return Ok(Expr::Call(func, args));
                }
                if CmpOp::parse(&name).is_some() || ["and", "or", "not"].contains(&name.as_str()) {
                    return Err(SYNTAX_ERROR.into());
                }
                match self.set.field(&name) {
                    Some((_, Kind::Collection | Kind::Complex)) => Err(format!(
                        "Property '{name}' of type '{}' cannot be used in $filter.",
                        self.set.type_name
                    )),
                    Some((field, kind)) => Ok(Expr::Prop(field, kind)),
                    None => Err(self.set.no_property(&name)),
                }
            }
            _ => Err(SYNTAX_ERROR.into()),
        }
    }
}

fn type_of(expr: &Expr) -> Result<Ty, String> {
    match expr {
        Expr::Lit(v) => Ok(Ty::of_val(v)),
        Expr::Prop(_, kind) => Ok(Ty::of_kind(*kind)),
        Expr::Cmp(op, a, b) => {
            let (ta, tb) = (type_of(a)?, type_of(b)?);
            let comparable = ta == tb || ta == Ty::Null || tb == Ty::Null;
            if !comparable {
                return Err(format!(
                    "Operator '{}' incompatible with operand types '{}' and '{}'.",
                    op.name(),
                    ta.edm(),
                    tb.edm()
                ));
            }
            Ok(Ty::Bool)
        }
        Expr::And(a, b) | Expr::Or(a, b) => {
            for side in [a, b] {
                let t = type_of(side)?;
                if t != Ty::Bool {
                    return Err(format!(
                        "Operand of type '{}' where 'Edm.Boolean' is expected.",
                        t.edm()
                    ));
                }
            }
            Ok(Ty::Bool)
        }
        Expr::Not(a) => match type_of(a)? {
            Ty::Bool => Ok(Ty::Bool),
            t => Err(format!(
                "Operand of type '{}' where 'Edm.Boolean' is expected.",
                t.edm()
            )),
        },
        Expr::Call(func, args) => {
            let types = args.iter().map(type_of).collect::<Result<Vec<_>, _>>()?;
            let (arity, result) = match func {
                Func::SubstringOf | Func::StartsWith | Func::EndsWith => (2, Ty::Bool),
                Func::ToLower | Func::ToUpper | Func::Trim => (1, Ty::Str),
                Func::Length => (1, Ty::Num),
            };
            if types.len() != arity || types.iter().any(|t| !matches!(t, Ty::Str | Ty::Null)) {
                return Err(
                    "No function signature for the function matches the specified arguments."
                        .into(),
                );
            }
            Ok(result)
        }
    }
}

impl Filter {
    pub fn parse(set: &EntitySet, text: &str) -> Result<Filter, String> {
        let mut lexer = Lexer::new(text);
        let mut tokens = Vec::new();
        while let Some(token) = lexer.next_token().map_err(|_| SYNTAX_ERROR.to_string())? {
            tokens.push(token);
        }
        let mut parser = Parser {
            tokens,
            pos: 0,
            set,
        };
        let expr = parser.or()?;
        if parser.pos != parser.tokens.len() {
            return Err(SYNTAX_ERROR.into());
        }
        match type_of(&expr)? {
            Ty::Bool => Ok(Filter(expr)),
            t => Err(format!(
                "Expression of type '{}' expected to be 'Edm.Boolean'.",
                t.edm()
            )),
        }
    }

    pub fn matches(&self, row: &Row) -> bool {
        eval(&self.0, row) == Val::Bool(true)
    }
}

fn eval(expr: &Expr, row: &Row) -> Val {
    match expr {
        Expr::Lit(v) => v.clone(),
        Expr::Prop(name, kind) => get(row, name, *kind),
        Expr::Cmp(op, a, b) => {
            let (x, y) = (eval(a, row), eval(b, row));
            let result = match (x.is_null(), y.is_null()) {
                (true, true) => matches!(op, CmpOp::Eq | CmpOp::Ge | CmpOp::Le),
                (true, false) | (false, true) => *op == CmpOp::Ne,
                (false, false) => {
                    let ordering = compare(&x, &y);
                    match op {
                        CmpOp::Eq => ordering == Ordering::Equal,
                        CmpOp::Ne => ordering != Ordering::Equal,
                        CmpOp::Gt => ordering == Ordering::Greater,
                        CmpOp::Ge => ordering != Ordering::Less,
                        CmpOp::Lt => ordering == Ordering::Less,
                        CmpOp::Le => ordering != Ordering::Greater,
                    }
                }
            };
            Val::Bool(result)
        }
        Expr::And(a, b) => {
            Val::Bool(eval(a, row) == Val::Bool(true) && eval(b, row) == Val::Bool(true))
        }
        Expr::Or(a, b) => {
            Val::Bool(eval(a, row) == Val::Bool(true) || eval(b, row) == Val::Bool(true))
        }
        Expr::Not(a) => match eval(a, row) {
            Val::Bool(b) => Val::Bool(!b),
            _ => Val::Null,
        },
        Expr::Call(func, args) => {
            let values: Vec<Val> = args.iter().map(|a| eval(a, row)).collect();
            let text = |i: usize| values[i].as_str().map(str::to_lowercase);
            match func {
                Func::SubstringOf => match (text(0), text(1)) {
                    (Some(needle), Some(hay)) => Val::Bool(hay.contains(&needle)),
                    _ => Val::Bool(false),
                },
                Func::StartsWith => match (text(0), text(1)) {
                    (Some(hay), Some(prefix)) => Val::Bool(hay.starts_with(&prefix)),
                    _ => Val::Bool(false),
                },
                Func::EndsWith => match (text(0), text(1)) {
                    (Some(hay), Some(suffix)) => Val::Bool(
                        hay.trim_end_matches(' ')
                            .ends_with(suffix.trim_end_matches(' ')),
                    ),
                    _ => Val::Bool(false),
                },
                Func::ToLower => values[0]
                    .as_str()
                    .map_or(Val::Null, |s| Val::str(s.to_lowercase())),
                Func::ToUpper => values[0]
                    .as_str()
                    .map_or(Val::Null, |s| Val::str(s.to_uppercase())),
                Func::Trim => values[0].as_str().map_or(Val::Null, |s| Val::str(s.trim())),
                Func::Length => values[0]
                    .as_str()
                    .map_or(Val::Null, |s| Val::Int(s.chars().count() as i64)),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Query options and paging
// ---------------------------------------------------------------------------------------------

/// The system query options of one request.
pub struct Query {
    pub filter: Option<Filter>,
    pub select: Option<Vec<&'static str>>,
    pub expand: Vec<&'static str>,
    orderby: Vec<(&'static str, Kind, bool)>,
    top: Option<usize>,
    skip: usize,
    skiptoken: Option<Val>,
    inlinecount: bool,
    /// Every option except `$top`, `$skip` and `$skiptoken`, in order, for the `__next` link.
    carried: Vec<(String, String)>,
}

impl Query {
    pub fn parse(set: &EntitySet, raw: Option<&str>) -> Result<Query, String> {
        let mut query = Query {
            filter: None,
            select: None,
            expand: Vec::new(),
            orderby: Vec::new(),
            top: None,
            skip: 0,
            skiptoken: None,
            inlinecount: false,
            carried: Vec::new(),
        };
        for (name, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            let (name, value) = (name.into_owned(), value.into_owned());
            match name.as_str() {
                "$filter" => query.filter = Some(Filter::parse(set, &value)?),
                "$select" => query.select = parse_select(set, &value)?,
                "$expand" => query.expand = parse_expand(set, &value)?,
                "$orderby" => query.orderby = parse_orderby(set, &value)?,
                "$top" => {
                    query.top =
                        Some(value.trim().parse().map_err(|_| {
                            format!("Incorrect format for $top argument '{value}'.")
                        })?)
                }
                "$skip" => {
                    query.skip = value
                        .trim()
                        .parse()
                        .map_err(|_| format!("Incorrect format for $skip argument '{value}'."))?
                }
                "$skiptoken" => {
                    query.skiptoken =
                        Some(set.parse_key(&value).ok_or_else(|| {
                            format!("Invalid $skiptoken '{value}'. {SYNTAX_ERROR}")
                        })?)
                }
                "$inlinecount" => match value.as_str() {
                    "allpages" => query.inlinecount = true,
                    "none" => query.inlinecount = false,
                    _ => return Err(format!("Invalid $inlinecount value '{value}'.")),
                },
                "$format" if value == "json" => {}
                other if other.starts_with('$') => {
                    return Err(format!(
                        "The query parameter '{other}' begins with a system-reserved '$' \
                         character but is not recognized."
                    ))
                }
                _ => {}
            }
            if !matches!(name.as_str(), "$top" | "$skip" | "$skiptoken") {
                query.carried.push((name, value));
            }
        }
        Ok(query)
    }

    /// Filters, orders and pages `rows` (the whole, unfiltered set: a skiptoken's anchor may no
    /// longer match the filter).
    pub fn apply(&self, set: &EntitySet, rows: Vec<Row>) -> Result<Paged, String> {
        let key_kind = set.key_kind();
        let sort_key = |row: &Row| -> Vec<Val> {
            self.orderby
                .iter()
                .map(|(name, kind, _)| get(row, name, *kind))
                .chain(std::iter::once(get(row, set.key, key_kind)))
                .collect()
        };
        let order = |a: &[Val], b: &[Val]| -> Ordering {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                let descending = self.orderby.get(i).is_some_and(|o| o.2);
                let ordering = compare(x, y);
                let ordering = if descending {
                    ordering.reverse()
                } else {
                    ordering
                };
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
            Ordering::Equal
        };
        let anchor = match &self.skiptoken {
            None => None,
            Some(token) if self.orderby.is_empty() => Some(vec![token.clone()]),
            Some(token) => Some(
                rows.iter()
                    .find(|r| get(r, set.key, key_kind) == *token)
                    .map(sort_key)
                    .ok_or_else(|| format!("Invalid $skiptoken. {SYNTAX_ERROR}"))?,
            ),
        };
        let mut matching: Vec<(Vec<Val>, Row)> = rows
            .into_iter()
            .filter(|r| self.filter.as_ref().is_none_or(|f| f.matches(r)))
            .map(|r| (sort_key(&r), r))
            .collect();
        matching.sort_by(|a, b| order(&a.0, &b.0));
        let count = self.inlinecount.then_some(matching.len());
        let remaining: Vec<Row> = matching
            .into_iter()
            .filter(|(k, _)| {
                anchor
                    .as_ref()
                    .is_none_or(|a| order(k, a) == Ordering::Greater)
            })
            .skip(self.skip)
            .map(|(_, r)| r)
            .collect();
        let wanted = self.top.unwrap_or(usize::MAX).min(remaining.len());
        let take = wanted.min(PAGE_SIZE);
        let more = take < wanted;
        let rows: Vec<Row> = remaining.into_iter().take(take).collect();
        let next = if more {
            rows.last().map(|last| {
                let mut options: Vec<(String, String)> = self.carried.clone();
                if let Some(top) = self.top {
                    options.push(("$top".into(), (top - take).to_string()));
                }
                options.push((
                    "$skiptoken".into(),
                    set.key_literal(&get(last, set.key, key_kind)),
                ));
                encode_query(&options)
            })
        } else {
            None
        };
        Ok(Paged { rows, next, count })
    }
}

/// One page of results.
pub struct Paged {
    pub rows: Vec<Row>,
    /// Query string (without `?`) of the next page, when there is one.
    pub next: Option<String>,
    pub count: Option<usize>,
}

fn parse_select(set: &EntitySet, value: &str) -> Result<Option<Vec<&'static str>>, String> {
    let mut fields = Vec::new();
    for part in value.split(',').map(str::trim) {
        if part == "*" {
            return Ok(None);
        }
        if part.is_empty() {
            return Err(SYNTAX_ERROR.into());
        }
        fields.push(set.field(part).ok_or_else(|| set.no_property(part))?.0);
    }
    Ok(Some(fields))
}

fn parse_expand(set: &EntitySet, value: &str) -> Result<Vec<&'static str>, String> {
    value
        .split(',')
        .map(str::trim)
        .map(|part| match set.field(part) {
            Some((name, Kind::Collection)) => Ok(name),
            Some(_) => Err(format!(
                "Property '{part}' on type '{}' is not a navigation property.",
                set.type_name
            )),
            None => Err(set.no_property(part)),
        })
        .collect()
}

fn parse_orderby(set: &EntitySet, value: &str) -> Result<Vec<(&'static str, Kind, bool)>, String> {
    value
        .split(',')
        .map(|part| {
            let mut words = part.split_whitespace();
            let name = words.next().ok_or_else(|| SYNTAX_ERROR.to_string())?;
            let descending = match words.next() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(_) => return Err(SYNTAX_ERROR.to_string()),
            };
            if words.next().is_some() {
                return Err(SYNTAX_ERROR.into());
            }
            match set.field(name) {
                Some((_, Kind::Collection | Kind::Complex)) | None => Err(set.no_property(name)),
                Some((field, kind)) => Ok((field, kind, descending)),
            }
        })
        .collect()
}

/// Query-string encoding as Exact writes its `__next` links: `$` and OData punctuation stay
/// readable, spaces become `%20`.
pub fn encode_query(options: &[(String, String)]) -> String {
    options
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'$'
            | b'\''
            | b'('
            | b')'
            | b','
            | b':'
            | b'/' => out.push(byte as char),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}
