//! Response bodies in one shape, JSON's, whichever format the webservice answered in.
//!
//! The webservice writes XML unless asked for JSON (`output_format=JSON`), and some answers
//! are XML whatever was asked (errors raised before the request's format is read, older
//! shops, proxies that drop the query). So the format is read from the body itself, and XML
//! is turned into exactly what `WebserviceOutputJSON` writes for the same data:
//!
//! | XML | JSON |
//! |---|---|
//! | `<prestashop><order><id>5</id>…</order></prestashop>` | `{"order":{"id":"5",…}}` |
//! | `<orders><order id="5" xlink:href="…"/></orders>` | `{"orders":[{"id":"5"}]}` |
//! | `<orders><order><id>5</id>…</order>…</orders>` (`display=full`) | `{"orders":[{…},…]}` |
//! | `<orders></orders>` | `{"orders":[]}` (JSON itself writes a bare `[]`) |
//! | `<name><language id="1">Paid</language></name>` | `"name":[{"id":"1","value":"Paid"}]` |
//! | `<associations><taxes><tax><id>2</id></tax></taxes></associations>` | `"associations":{"taxes":[{"id":"2"}]}` |
//! | `<errors><error><code>87</code><message>…</message></error></errors>` | `{"errors":[{"code":"87","message":"…"}]}` |
//!
//! Every XML value stays a string; JSON writes ids as numbers. Readers of these values accept
//! both (see [`text`]).

use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::{Map, Value};

/// Reads a body as JSON or XML, by its first character.
pub fn parse(body: &str) -> Result<Value, String> {
    let trimmed = body.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('<') {
        xml_to_json(trimmed)
    } else {
        serde_json::from_str(trimmed).map_err(|e| format!("not JSON: {e}"))
    }
}

/// The entity of a single-resource answer, e.g. `order` in `{"order":{…}}`.
pub fn entity(document: &Value, node: &str) -> Result<Value, String> {
    match document.get(node) {
        Some(value @ Value::Object(_)) => Ok(value.clone()),
        _ => Err(format!("the answer has no `{node}`")),
    }
}

/// The rows of a list answer, e.g. `orders` in `{"orders":[…]}`; JSON's bare `[]` is an
/// empty list.
pub fn list(document: &Value, node: &str) -> Result<Vec<Value>, String> {
    match document {
        Value::Array(items) if items.is_empty() => Ok(Vec::new()),
        Value::Object(map) => match map.get(node) {
            Some(Value::Array(items)) => Ok(items.clone()),
            _ => Err(format!("the answer has no list `{node}`")),
        },
        _ => Err(format!("the answer is not a list of `{node}`")),
    }
}

/// One entry of the webservice's `errors` list.
#[derive(Debug, PartialEq, Eq)]
pub struct WsError {
    pub code: String,
    pub message: String,
}

/// The webservice's errors (`errors[]`, each a code and a message) if the body has any.
pub fn errors(body: &str) -> Vec<WsError> {
    let Ok(document) = parse(body) else {
        return Vec::new();
    };
    let Some(errors) = document.get("errors").and_then(Value::as_array) else {
        return Vec::new();
    };
    errors
        .iter()
        .map(|error| WsError {
            code: error
                .get("code")
                .map(text)
                .unwrap_or_default()
                .trim()
                .to_string(),
            message: error
                .get("message")
                .map(text)
                .unwrap_or_default()
                .trim()
                .to_string(),
        })
        .filter(|error| !error.message.is_empty())
        .collect()
}

/// A scalar as text: strings as they are, numbers in their own digits, null as empty.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => if *b { "1" } else { "0" }.to_string(),
        _ => String::new(),
    }
}

/// A multilingual field: a plain string (JSON for a one-language shop, or with `language=N`)
/// or one `{"id","value"}` per language, of which the lowest language id is taken so that
/// the same shop always gives the same text.
pub fn language_text(value: &Value) -> String {
    match value {
        Value::Array(languages) => languages
            .iter()
            .filter_map(|l| {
                let id = text(l.get("id")?).parse::<u64>().unwrap_or(u64::MAX);
                Some((id, text(l.get("value")?)))
            })
            .min_by_key(|(id, _)| *id)
            .map(|(_, value)| value)
            .unwrap_or_default(),
        other => text(other),
    }
}

/// An XML element as read, before it is given JSON's shape.
#[derive(Default)]
struct Element {
    name: String,
    /// The `id` attribute (list entries, languages).
    id: Option<String>,
    text: String,
    children: Vec<Element>,
}

fn xml_to_json(body: &str) -> Result<Value, String> {
    let root = read_tree(body)?;
    if root.name != "prestashop" {
        return Err(format!(
            "the XML root is `<{}>`, not `<prestashop>`",
            root.name
        ));
    }
    let mut object = Map::new();
    for child in root.children {
        let value = if is_list(&child) {
            Value::Array(child.children.into_iter().map(list_entry).collect())
        } else {
            entity_object(child.children)
        };
        object.insert(child.name, value);
    }
    Ok(Value::Object(object))
}

/// A list holds entries of one name (`<orders><order/>…`), or nothing at all; an entity
/// holds fields of many names, starting with `<id>`.
fn is_list(element: &Element) -> bool {
    match element.children.first() {
        None => true,
        Some(first) => first.name != "id" && element.children.iter().all(|c| c.name == first.name),
    }
}

/// An entry of a list: a link (`<order id="5" xlink:href="…"/>` → `{"id":"5"}`) or, with
/// `display`, the entity itself.
fn list_entry(element: Element) -> Value {
    if element.children.is_empty() {
        let mut object = Map::new();
        object.insert(
            "id".into(),
            Value::String(element.id.unwrap_or(element.text)),
        );
        Value::Object(object)
    } else {
        entity_object(element.children)
    }
}

fn entity_object(fields: Vec<Element>) -> Value {
    let mut object = Map::new();
    for field in fields {
        let value = if field.name == "associations" {
            let mut associations = Map::new();
            for association in field.children {
                associations.insert(
                    association.name,
                    Value::Array(association.children.into_iter().map(list_entry).collect()),
                );
            }
            Value::Object(associations)
        } else if field.children.is_empty() {
            Value::String(field.text)
        } else if field.children.iter().all(|c| c.name == "language") {
            Value::Array(
                field
                    .children
                    .into_iter()
                    .map(|language| {
                        let mut entry = Map::new();
                        entry.insert("id".into(), Value::String(language.id.unwrap_or_default()));
                        entry.insert("value".into(), Value::String(language.text));
                        Value::Object(entry)
                    })
                    .collect(),
            )
        } else {
            entity_object(field.children)
        };
        object.insert(field.name, value);
    }
    Value::Object(object)
}

/// The webservice nests a handful of levels; deeper is refused before reading it into a tree
/// would overflow the stack (the same limit as serde_json's).
const MAX_DEPTH: usize = 128;

fn read_tree(body: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(body);
    let mut stack: Vec<Element> = Vec::new();
    let broken = |e: &dyn std::fmt::Display| format!("not well-formed XML: {e}");
    loop {
        let event = reader.read_event().map_err(|e| broken(&e))?;
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let is_empty = matches!(event, Event::Empty(_));
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                let id = start
                    .try_get_attribute("id")
                    .map_err(|e| broken(&e))?
                    .map(|a| {
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .map(|v| v.into_owned())
                    })
                    .transpose()
                    .map_err(|e| broken(&e))?;
                let element = Element {
                    name,
                    id,
                    ..Element::default()
                };
                if is_empty {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => return Ok(element),
                    }
                } else if stack.len() == MAX_DEPTH {
                    return Err(broken(&format!(
                        "elements nested more than {MAX_DEPTH} deep"
                    )));
                } else {
                    stack.push(element);
                }
            }
            Event::End(_) => {
                let element = stack.pop().ok_or_else(|| broken(&"an unopened end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => return Ok(element),
                }
            }
            Event::Text(text) => {
                if let Some(current) = stack.last_mut() {
                    current
                        .text
                        .push_str(&text.xml10_content().map_err(|e| broken(&e))?);
                }
            }
            Event::CData(data) => {
                if let Some(current) = stack.last_mut() {
                    current
                        .text
                        .push_str(&data.xml10_content().map_err(|e| broken(&e))?);
                }
            }
            Event::GeneralRef(reference) => {
                if let Some(current) = stack.last_mut() {
                    let name = reference.decode().map_err(|e| broken(&e))?;
                    let reference = format!("&{name};");
                    let resolved =
                        quick_xml::escape::unescape(&reference).map_err(|e| broken(&e))?;
                    current.text.push_str(&resolved);
                }
            }
            Event::Eof => return Err(broken(&"it ends before the root element closes")),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_entities_and_cdata_become_text() {
        let document = parse(
            "<?xml version=\"1.0\"?><prestashop><address><id><![CDATA[1]]></id>\
             <company>Smit &amp; Zn &#8364;</company><other></other></address></prestashop>",
        )
        .unwrap();
        let address = entity(&document, "address").unwrap();
        assert_eq!(address["id"], "1");
        assert_eq!(address["company"], "Smit & Zn €");
        assert_eq!(address["other"], "");
    }

    #[test]
    fn empty_lists_in_both_formats() {
        assert!(list(&parse("[]").unwrap(), "orders").unwrap().is_empty());
        let xml = "<prestashop xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n<orders>\n</orders>\n</prestashop>";
        assert!(list(&parse(xml).unwrap(), "orders").unwrap().is_empty());
        assert!(list(&parse("{\"order\":{}}").unwrap(), "orders").is_err());
    }

    #[test]
    fn languages_pick_the_lowest_id() {
        let json: Value =
            serde_json::json!([{"id": "2", "value": "Payé"}, {"id": "1", "value": "Paid"}]);
        assert_eq!(language_text(&json), "Paid");
        assert_eq!(language_text(&Value::String("Paid".into())), "Paid");
    }

    #[test]
    fn errors_in_both_formats() {
        let json = r#"{"errors":[{"code":87,"message":"Id(s) not exists: 9"}]}"#;
        assert_eq!(
            errors(json),
            vec![WsError {
                code: "87".into(),
                message: "Id(s) not exists: 9".into()
            }]
        );
        let xml = "<prestashop><errors><error><code><![CDATA[16]]></code>\
                   <message><![CDATA[Please enter the key]]></message></error></errors></prestashop>";
        assert_eq!(errors(xml)[0].message, "Please enter the key");
        assert!(errors("").is_empty());
        assert!(errors("<html>Bad gateway</html>").is_empty());
    }

    /// Found by fuzzing: 100,000 nested elements overflowed the stack.
    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!(
            "<prestashop>{}{}</prestashop>",
            "<a>".repeat(100_000),
            "</a>".repeat(100_000)
        );
        assert!(parse(&deep)
            .unwrap_err()
            .contains("nested more than 128 deep"));
        let shallow = format!(
            "<prestashop><order>{}{}</order></prestashop>",
            "<a>".repeat(100),
            "</a>".repeat(100)
        );
        assert!(parse(&shallow).is_ok());
    }

    #[test]
    fn broken_xml_is_an_error() {
        assert!(parse("<prestashop><order>").is_err());
        assert!(parse("<prestashop><order></prestashop>").is_err());
    }
}
