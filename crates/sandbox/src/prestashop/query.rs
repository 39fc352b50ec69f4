//! The list parameters as `WebserviceRequest` reads them: `display`, `filter[field]`, `sort`,
//! `limit`, `date` and `language`, with its error messages. Filters follow
//! `getSQLRetrieveFilter()` and compare like MySQL does for the column's type.

use std::cmp::Ordering;

use rust_decimal::Decimal;

use super::schema::{FieldDef, Kind, Record, Schema};

/// One webservice error (`<error><code/><message/></error>`) and the HTTP status it sets.
#[derive(Clone, Debug)]
pub(crate) struct PsError {
    pub status: u16,
    pub code: u32,
    pub message: String,
}

impl PsError {
    pub fn new(status: u16, code: u32, message: impl Into<String>) -> Self {
        PsError {
            status,
            code,
            message: message.into(),
        }
    }
}

/// Query parameters as PHP's `$_GET` sees them (a repeated key keeps its last value).
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub fn parse(query: Option<&str>) -> Self {
        let pairs = query
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Params { pairs }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `filter[field]=value` pairs, in the order the fields first appear, last value winning.
    fn filters(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (key, value) in &self.pairs {
            let Some(field) = key
                .strip_prefix("filter[")
                .and_then(|rest| rest.strip_suffix(']'))
                .filter(|f| !f.contains(['[', ']']))
            else {
                continue;
            };
            match out.iter_mut().find(|(f, _)| f == field) {
                Some(entry) => entry.1 = value.clone(),
                None => out.push((field.to_string(), value.clone())),
            }
        }
        out
    }

    /// PHP's `!empty($x)`.
    fn truthy(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| !v.is_empty() && v != "0")
    }
}

/// PHP's `(int) $string`: optional whitespace and sign, then leading digits; 0 without any.
pub(crate) fn php_int(raw: &str) -> i64 {
    let trimmed = raw.trim_start();
    let (sign, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (-1, &trimmed[1..]),
        Some(b'+') => (1, &trimmed[1..]),
        _ => (1, trimmed),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse::<i64>().map_or(0, |n| sign * n)
}

/// Which fields to render.
#[derive(Clone, Debug)]
pub(crate) enum Display {
    /// Lists without `display`: ids with links.
    Minimum,
    Full,
    /// Indices into the schema's fields, in schema order.
    Fields(Vec<usize>),
}

fn field_names(schema: &Schema) -> String {
    schema
        .fields
        .iter()
        .map(|f| f.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `setFieldsToDisplay()`: `full` or `[field,...]`; every unknown field is an error.
pub(crate) fn display(schema: &Schema, params: &Params) -> Result<Option<Display>, Vec<PsError>> {
    let Some(raw) = params.get("display") else {
        return Ok(None);
    };
    if raw == "full" {
        return Ok(Some(Display::Full));
    }
    let Some(inner) = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
        return Err(vec![PsError::new(
            400,
            36,
            format!(
                "The \"display\" syntax is incorrect. You can use \"full\" or \"[field_1,field_2,field_3,...]\". These are available: {}",
                field_names(schema)
            ),
        )]);
    };
    let mut wanted = Vec::new();
    let mut errors = Vec::new();
    for name in inner.split(',').map(str::trim) {
        match schema.field(name) {
            Some((index, _)) => wanted.push(index),
            None => errors.push(PsError::new(
                400,
                35,
                format!(
                    "Unable to display this field \"{name}\". However, these are available: {}",
                    field_names(schema)
                ),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    wanted.sort_unstable();
    wanted.dedup();
    Ok(Some(Display::Fields(wanted)))
}

/// `filterLanguage()`: the `language` parameter must name the shop's language (id 1).
pub(crate) fn check_language(params: &Params) -> Result<(), PsError> {
    let Some(raw) = params.get("language") else {
        return Ok(());
    };
    let wanted: Vec<String> = if !raw.is_empty() && raw.trim().parse::<f64>().is_ok() {
        vec![php_int(raw).to_string()]
    } else if raw.starts_with('[') && raw.ends_with(']') && raw.len() >= 2 {
        let inner = &raw[1..raw.len() - 1];
        if inner.contains('|') != inner.contains(',') {
            if inner.contains('|') {
                inner.split('|').map(str::to_string).collect()
            } else {
                let bounds: Vec<&str> = inner.split(',').collect();
                if bounds.len() != 2 {
                    return Err(PsError::new(
                        400,
                        78,
                        "A range value for a language must contains only 2 values",
                    ));
                }
                (php_int(bounds[0])..=php_int(bounds[1]))
                    .map(|n| n.to_string())
                    .collect()
            }
        } else if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) {
            vec![inner.to_string()]
        } else {
            Vec::new()
        }
    } else {
        return Err(PsError::new(400, 79, "language value is wrong"));
    };
    if wanted.iter().any(|v| v.trim().parse::<f64>().is_err()) {
        return Err(PsError::new(400, 80, "Language ID must be numeric"));
    }
    if wanted.iter().any(|v| php_int(v) == 1) {
        Ok(())
    } else {
        Err(PsError::new(400, 81, "language is not available"))
    }
}

/// A filter as `getSQLRetrieveFilter()` turns it into SQL.
#[derive(Debug)]
enum Condition {
    Equal(String),
    Like(String),
    AnyOf(Vec<String>),
    Between(String, String),
    Greater(String),
    Lower(String),
    NoneOf(Vec<String>),
    /// A bracketed value with another prefix adds no SQL at all.
    Ignored,
}

/// `preg_match('/^(.*)\[(.*)\](.*)$/')` with both stars greedy.
fn brackets(value: &str) -> Option<(&str, &str, &str)> {
    if value.contains('\n') {
        return None;
    }
    let close = value.rfind(']')?;
    let open = value[..close].rfind('[')?;
    Some((&value[..open], &value[open + 1..close], &value[close + 1..]))
}

fn is_numeric(value: &str) -> bool {
    value.trim().parse::<f64>().is_ok()
}

fn condition(value: &str) -> Condition {
    let Some((before, inner, after)) = brackets(value) else {
        return Condition::Equal(value.to_string());
    };
    if before == "%" || after == "%" {
        return Condition::Like(format!("{before}{inner}{after}"));
    }
    match (before, after) {
        ("", "") => {
            if inner.find('|').is_some_and(|p| p > 0) {
                return Condition::AnyOf(inner.split('|').map(str::to_string).collect());
            }
            let range_char =
                |c: char| c.is_ascii_digit() || matches!(c, '.' | ':' | '-') || c.is_whitespace();
            let parts: Vec<&str> = inner.split(',').collect();
            if parts.len() == 2
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(range_char))
            {
                // PHP's sort(): numerically when both are numeric strings, else as strings.
                let (a, b) = (parts[0].to_string(), parts[1].to_string());
                let swap = if is_numeric(&a) && is_numeric(&b) {
                    a.trim().parse::<f64>().unwrap_or(0.0) > b.trim().parse::<f64>().unwrap_or(0.0)
                } else {
                    a > b
                };
                return if swap {
                    Condition::Between(b, a)
                } else {
                    Condition::Between(a, b)
                };
            }
            Condition::Equal(inner.to_string())
        }
        (">", _) => Condition::Greater(inner.to_string()),
        ("<", _) => Condition::Lower(inner.to_string()),
        ("!", _) => Condition::NoneOf(inner.split('|').map(str::to_string).collect()),
        _ => Condition::Ignored,
    }
}

/// MySQL's string-to-number conversion: the longest numeric prefix, 0 without one.
fn mysql_number(raw: &str) -> Decimal {
    let s = raw.trim_start();
    let bytes = s.as_bytes();
    let mut end = 0;
    if matches!(bytes.first(), Some(b'-' | b'+')) {
        end = 1;
    }
    let digits_start = end;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    if end < bytes.len() && bytes[end] == b'.' {
        let mut fraction = end + 1;
        while fraction < bytes.len() && bytes[fraction].is_ascii_digit() {
            fraction += 1;
        }
        if fraction > end + 1 || end > digits_start {
            end = fraction;
        }
    }
    s[..end]
        .trim_end_matches('.')
        .parse::<Decimal>()
        .unwrap_or(Decimal::ZERO)
}

/// A `DATETIME` operand: a bare date means midnight.
fn date_operand(raw: &str) -> String {
    let raw = raw.trim();
    if raw.len() == 10 {
        format!("{raw} 00:00:00")
    } else {
        raw.to_string()
    }
}

/// Compares a column value with an operand the way MySQL does for the column type
/// (`utf8mb4_general_ci` text: case-insensitive, trailing spaces ignored).
fn compare(kind: Kind, value: &str, operand: &str) -> Ordering {
    match kind {
        Kind::Int | Kind::Num => mysql_number(value).cmp(&mysql_number(operand)),
        Kind::Date => value.cmp(&date_operand(operand)),
        Kind::Text => value
            .trim_end()
            .to_lowercase()
            .cmp(&operand.trim_end().to_lowercase()),
    }
}

/// SQL `LIKE`: `%` any run, `_` one character, `\` escapes; case-insensitive.
fn like(value: &str, pattern: &str) -> bool {
    fn go(v: &[char], p: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('%', rest)) => (0..=v.len()).any(|skip| go(&v[skip..], rest)),
            Some(('_', rest)) => !v.is_empty() && go(&v[1..], rest),
            Some(('\\', rest)) if !rest.is_empty() => {
                v.first() == Some(&rest[0]) && go(&v[1..], &rest[1..])
            }
            Some((c, rest)) => v.first() == Some(c) && go(&v[1..], rest),
        }
    }
    let v: Vec<char> = value.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    go(&v, &p)
}

fn matches(kind: Kind, value: &str, condition: &Condition) -> bool {
    let eq = |operand: &String| compare(kind, value, operand) == Ordering::Equal;
    match condition {
        Condition::Equal(operand) => eq(operand),
        Condition::Like(pattern) => like(value, pattern),
        Condition::AnyOf(operands) => operands.iter().any(eq),
        Condition::Between(low, high) => {
            compare(kind, value, low) != Ordering::Less
                && compare(kind, value, high) != Ordering::Greater
        }
        Condition::Greater(operand) => compare(kind, value, operand) == Ordering::Greater,
        Condition::Lower(operand) => compare(kind, value, operand) == Ordering::Less,
        Condition::NoneOf(operands) => !operands.iter().any(eq),
        Condition::Ignored => true,
    }
}

/// `levenshtein()` as PHP computes it (bytes).
fn levenshtein(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// `setErrorDidYouMean()`: the closest word (the last of equally close ones) and the list.
pub(crate) fn did_you_mean(
    status: u16,
    label: &str,
    value: &str,
    words: &[&str],
    code: u32,
) -> PsError {
    let mut closest = "";
    let mut shortest: Option<usize> = None;
    for word in words {
        let distance = levenshtein(value, word);
        if distance == 0 {
            closest = word;
            break;
        }
        if shortest.is_none_or(|s| distance <= s) {
            closest = word;
            shortest = Some(distance);
        }
    }
    let list = if words.len() > 1 {
        format!(" The full list is: \"{}\"", words.join("\", \""))
    } else {
        String::new()
    };
    PsError::new(
        status,
        code,
        format!("{label}. Did you mean: \"{closest}\"?{list}"),
    )
}

/// The fields `manageFilters()` accepts: every plain field, `date_add`/`date_upd` only with
/// `date=1`; translatable fields separately.
fn available(
    schema: &Schema,
    with_dates: bool,
) -> (Vec<&'static FieldDef>, Vec<&'static FieldDef>) {
    let plain = schema
        .fields
        .iter()
        .filter(|f| !f.i18n)
        .filter(|f| with_dates || !matches!(f.name, "date_add" | "date_upd"))
        .collect();
    let i18n = schema.fields.iter().filter(|f| f.i18n).collect();
    (plain, i18n)
}

fn names(fields: &[&FieldDef]) -> Vec<&'static str> {
    fields.iter().map(|f| f.name).collect()
}

/// Applies `filter[...]`, `sort` and `limit` to a list, as the SQL the webservice builds.
pub(crate) fn select(
    schema: &'static Schema,
    mut records: Vec<Record>,
    params: &Params,
) -> Result<Vec<Record>, PsError> {
    let (plain, i18n) = available(schema, params.truthy("date"));
    for (field, raw) in params.filters() {
        let def = match plain.iter().find(|f| f.name == field) {
            Some(def) => *def,
            None => match i18n.iter().find(|f| f.name == field) {
                Some(def) if !raw.is_empty() => *def,
                _ => {
                    return Err(did_you_mean(
                        400,
                        "This filter does not exist",
                        &field,
                        &names(&plain),
                        32,
                    ))
                }
            },
        };
        if raw.is_empty() {
            return Err(PsError::new(
                400,
                33,
                format!("The filter \"{field}\" is malformed."),
            ));
        }
        if def.dynamic {
            return Err(PsError::new(
                400,
                34,
                format!(
                    "The field \"{field}\" is dynamic. It is not possible to filter GET query with this field."
                ),
            ));
        }
        let (index, _) = schema
            .field(&field)
            .expect("available fields are schema fields");
        let condition = condition(&raw);
        records.retain(|r| matches(def.kind, &r.values[index], &condition));
    }

    if let Some(raw) = params.get("sort") {
        let inner = raw
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or(raw);
        let mut keys = Vec::new();
        for sort in inner.split(',') {
            let Some((name, way)) = sort
                .rfind('_')
                .map(|p| (&sort[..p], sort[p + 1..].to_uppercase()))
                .filter(|(_, way)| way == "ASC" || way == "DESC")
            else {
                return Err(PsError::new(
                    400,
                    37,
                    "The \"sort\" value has to be formed as this example: \"field_ASC\" or '[field_1_DESC,field_2_ASC,field_3_ASC,...]' (\"field\" has to be an available field)",
                ));
            };
            let known = plain.iter().chain(i18n.iter()).any(|f| f.name == name);
            let Some((index, def)) = schema.field(name).filter(|_| known) else {
                return Err(PsError::new(
                    400,
                    38,
                    format!(
                        "Unable to filter by this field. However, these are available: {}, for i18n fields:{}",
                        names(&plain).join(", "),
                        names(&i18n).join(", ")
                    ),
                ));
            };
            keys.push((index, def.kind, way == "DESC"));
        }
        records.sort_by(|a, b| {
            keys.iter()
                .map(|&(index, kind, descending)| {
                    let order = compare(kind, &a.values[index], &b.values[index]);
                    if descending {
                        order.reverse()
                    } else {
                        order
                    }
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
    }

    if let Some(raw) = params.get("limit") {
        let parts: Vec<&str> = raw.split(',').collect();
        if parts.len() > 2 {
            return Err(PsError::new(
                400,
                39,
                "The \"limit\" value has to be formed as this example: \"5,25\" or \"10\"",
            ));
        }
        let (offset, count) = match parts.as_slice() {
            [count] => (0, php_int(count)),
            [offset, count] => (php_int(offset), php_int(count)),
            _ => (0, 0),
        };
        // A negative bound is an SQL syntax error, which the shop's Db layer swallows in
        // production mode: the list comes back empty.
        if offset < 0 || count < 0 {
            return Ok(Vec::new());
        }
        records = records
            .into_iter()
            .skip(offset as usize)
            .take(count as usize)
            .collect();
    }
    Ok(records)
}
