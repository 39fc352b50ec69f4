//! The two output formats, byte for byte as `WebserviceOutputXML` and `WebserviceOutputJSON`
//! write them.
//!
//! XML: the `<prestashop xmlns:xlink=...>` envelope, every node header on its own line, fields
//! indented by one tab, values in CDATA (an empty value has none), `xlink:href` on fields that
//! link to another resource unless the value is 0 or empty, `notFilterable="true"` on fields
//! with a getter. JSON: `json_encode()` without flags; `id` is a number, every other value a
//! string; an empty list is `[]`.

use super::query::{Display, PsError};
use super::resources::RESOURCES;
use super::schema::{FieldDef, Record, Schema};
use super::seed::SHOP_NAME;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Xml,
    Json,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xml => "text/xml;charset=utf-8",
            Format::Json => "application/json;charset=utf-8",
        }
    }
}

/// A JSON value in PHP's key order.
enum Json {
    Int(u64),
    Str(String),
    List(Vec<Json>),
    Object(Vec<(String, Json)>),
}

fn write_json(out: &mut String, value: &Json) {
    match value {
        Json::Int(n) => out.push_str(&n.to_string()),
        Json::Str(s) => crate::php::write_json_str(out, s),
        Json::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Json::Object(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                crate::php::write_json_str(out, key);
                out.push(':');
                write_json(out, item);
            }
            out.push('}');
        }
    }
}

fn json(value: &Json) -> String {
    let mut out = String::new();
    write_json(&mut out, value);
    out
}

const XML_HEAD: &str =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<prestashop xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n";
const XML_TAIL: &str = "</prestashop>\n";

fn cdata(value: &str) -> String {
    format!("<![CDATA[{}]]>", value.replace("]]>", "]]]]><![CDATA[>"))
}

fn attr(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders documents for one request: the webservice URL (`http://host/api/`) and the format.
pub(crate) struct Renderer<'a> {
    pub ws: &'a str,
    pub format: Format,
}

impl Renderer<'_> {
    fn xml_field(&self, out: &mut String, def: &FieldDef, value: &str) {
        out.push_str("\t<");
        out.push_str(def.name);
        if def.i18n {
            out.push_str(&format!(
                "><language id=\"1\" xlink:href=\"{}languages/1\">{}</language></{}>\n",
                self.ws,
                cdata(value),
                def.name
            ));
            return;
        }
        if let Some(resource) = def.link.filter(|_| !value.is_empty() && value != "0") {
            out.push_str(&format!(
                " xlink:href=\"{}{resource}/{}\"",
                self.ws,
                attr(value)
            ));
        }
        if def.dynamic {
            out.push_str(" notFilterable=\"true\"");
        }
        out.push('>');
        if !value.is_empty() {
            out.push_str(&cdata(value));
        }
        out.push_str(&format!("</{}>\n", def.name));
    }

    fn xml_entity(&self, out: &mut String, schema: &Schema, record: &Record, display: &Display) {
        out.push_str(&format!("<{}>\n", schema.node));
        for (index, def) in schema.fields.iter().enumerate() {
            if shown(display, index) {
                self.xml_field(out, def, &record.values[index]);
            }
        }
        if matches!(display, Display::Full) && !schema.assocs.is_empty() {
            out.push_str("<associations>\n");
            for (assoc, items) in schema.assocs.iter().zip(&record.assocs) {
                let kind = match assoc.api {
                    Some(api) => format!(" nodeType=\"{}\" api=\"{api}\"", assoc.node),
                    None => format!(" nodeType=\"{}\" virtualEntity=\"true\"", assoc.node),
                };
                if items.is_empty() {
                    out.push_str(&format!("<{}{kind}/>\n", assoc.name));
                    continue;
                }
                out.push_str(&format!("<{}{kind}>\n", assoc.name));
                for item in items {
                    match assoc.api {
                        Some(api) => out.push_str(&format!(
                            "\t<{} xlink:href=\"{}{api}/{}\">\n",
                            assoc.node,
                            self.ws,
                            attr(&item[0])
                        )),
                        None => out.push_str(&format!("\t<{}>\n", assoc.node)),
                    }
                    for (def, value) in assoc.fields.iter().zip(item) {
                        self.xml_field(out, def, value);
                    }
                    out.push_str(&format!("\t</{}>\n", assoc.node));
                }
                out.push_str(&format!("</{}>\n", assoc.name));
            }
            out.push_str("</associations>\n");
        }
        out.push_str(&format!("</{}>\n", schema.node));
    }

    fn json_entity(schema: &Schema, record: &Record, display: &Display) -> Json {
        let mut entries = Vec::new();
        for (index, def) in schema.fields.iter().enumerate() {
            if !shown(display, index) {
                continue;
            }
            let value = if index == 0 {
                Json::Int(record.id)
            } else {
                Json::Str(record.values[index].clone())
            };
            entries.push((def.name.to_string(), value));
        }
        if matches!(display, Display::Full) {
            let assocs: Vec<(String, Json)> = schema
                .assocs
                .iter()
                .zip(&record.assocs)
                .filter(|(_, items)| !items.is_empty())
                .map(|(assoc, items)| {
                    let list = items
                        .iter()
                        .map(|item| {
                            Json::Object(
                                assoc
                                    .fields
                                    .iter()
                                    .zip(item)
                                    .map(|(def, value)| {
                                        (def.name.to_string(), Json::Str(value.clone()))
                                    })
                                    .collect(),
                            )
                        })
                        .collect();
                    (assoc.name.to_string(), Json::List(list))
                })
                .collect();
            if !assocs.is_empty() {
                entries.push(("associations".to_string(), Json::Object(assocs)));
            }
        }
        Json::Object(entries)
    }

    /// A list (`GET /api/<resource>`).
    pub fn list(&self, schema: &Schema, records: &[Record], display: &Display) -> String {
        match self.format {
            Format::Xml => {
                let mut out = String::from(XML_HEAD);
                out.push_str(&format!("<{}>\n", schema.list_node));
                for record in records {
                    if matches!(display, Display::Minimum) {
                        out.push_str(&format!(
                            "<{} id=\"{}\" xlink:href=\"{}{}/{}\"/>\n",
                            schema.node, record.id, self.ws, schema.resource, record.id
                        ));
                    } else {
                        self.xml_entity(&mut out, schema, record, display);
                    }
                }
                out.push_str(&format!("</{}>\n", schema.list_node));
                out.push_str(XML_TAIL);
                out
            }
            Format::Json if records.is_empty() => "[]".to_string(),
            Format::Json => {
                let items = records
                    .iter()
                    .map(|record| match display {
                        Display::Minimum => {
                            Json::Object(vec![("id".to_string(), Json::Int(record.id))])
                        }
                        _ => Self::json_entity(schema, record, display),
                    })
                    .collect();
                json(&Json::Object(vec![(
                    schema.list_node.to_string(),
                    Json::List(items),
                )]))
            }
        }
    }

    /// One entity (`GET /api/<resource>/<id>`). With a `display` parameter the JSON output
    /// takes the list's shape, as `WebserviceOutputJSON::renderNodeFooter()` does.
    pub fn detail(&self, schema: &Schema, record: &Record, display: &Display) -> String {
        match self.format {
            Format::Xml => {
                let mut out = String::from(XML_HEAD);
                self.xml_entity(&mut out, schema, record, display);
                out.push_str(XML_TAIL);
                out
            }
            Format::Json => {
                let entity = Self::json_entity(schema, record, display);
                let body = match display {
                    Display::Fields(_) => Json::Object(vec![(
                        schema.list_node.to_string(),
                        Json::List(vec![entity]),
                    )]),
                    _ => Json::Object(vec![(schema.node.to_string(), entity)]),
                };
                json(&body)
            }
        }
    }

    /// `GET /api/`: the resources this key may use and its permissions on each.
    pub fn resources(&self) -> String {
        match self.format {
            Format::Xml => {
                let mut out = String::from(XML_HEAD);
                out.push_str(&format!("<api shopName=\"{}\">\n", attr(SHOP_NAME)));
                let rights =
                    "get=\"true\" put=\"false\" post=\"false\" patch=\"false\" delete=\"false\" head=\"true\"";
                for resource in &RESOURCES {
                    let name = resource.schema.resource;
                    let href = format!("{}{name}", self.ws);
                    out.push_str(&format!("<{name} xlink:href=\"{href}\" {rights}>\n"));
                    out.push_str(&format!(
                        "<description xlink:href=\"{href}\" {rights}>\n{}</description>\n",
                        resource.schema.description
                    ));
                    for kind in ["blank", "synopsis"] {
                        out.push_str(&format!(
                            "<schema xlink:href=\"{href}?schema={kind}\" type=\"{kind}\"/>\n"
                        ));
                    }
                    out.push_str(&format!("</{name}>\n"));
                }
                out.push_str("</api>\n");
                out.push_str(XML_TAIL);
                out
            }
            Format::Json => json(&Json::List(
                RESOURCES
                    .iter()
                    .map(|r| Json::Str(r.schema.resource.to_string()))
                    .collect(),
            )),
        }
    }

    pub fn errors(&self, errors: &[PsError]) -> String {
        match self.format {
            Format::Xml => {
                let mut out = String::from(XML_HEAD);
                out.push_str("<errors>\n");
                for error in errors {
                    out.push_str(&format!(
                        "<error>\n<code>{}</code>\n<message>{}</message>\n</error>\n",
                        cdata(&error.code.to_string()),
                        cdata(&error.message)
                    ));
                }
                out.push_str("</errors>\n");
                out.push_str(XML_TAIL);
                out
            }
            Format::Json => json(&Json::Object(vec![(
                "errors".to_string(),
                Json::List(
                    errors
                        .iter()
                        .map(|e| {
                            Json::Object(vec![
                                ("code".to_string(), Json::Int(u64::from(e.code))),
                                ("message".to_string(), Json::Str(e.message.clone())),
                            ])
                        })
                        .collect(),
                ),
            )])),
        }
    }
}

fn shown(display: &Display, index: usize) -> bool {
    match display {
        Display::Minimum => index == 0,
        Display::Full => true,
        Display::Fields(fields) => fields.contains(&index),
    }
}
