//! The PrestaShop webservice emulator over real HTTP, judged against the vendor reference.

use std::str::FromStr;
use std::time::Duration;

use ledgerlink_sandbox::faults::{ArmedFault, Fault, FaultMatch};
use ledgerlink_sandbox::prestashop::{
    fixtures, AddressSpec, CarrierSpec, CustomerSpec, LineSpec, OrderSpec, PrestaConfig,
    PrestaSandbox, SlipLine, SlipSpec, StateFlags,
};
use ledgerlink_sandbox::Running;
use quick_xml::events::Event;
use quick_xml::{Reader, XmlVersion};
use reqwest::header::HeaderMap;
use reqwest::Method;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};

const ENVELOPE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<prestashop xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n";
const REALM: &str = "Basic realm=\"Welcome to PrestaShop Webservice, please enter the authentication key as the login. No password required.\"";

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|_| panic!("not a decimal: {s:?}"))
}

fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn round6(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero)
}

// ----- a small XML tree -----------------------------------------------------------------------

#[derive(Clone, Debug, Default)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&Node> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    fn child(&self, name: &str) -> &Node {
        self.children
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("<{}> has no <{name}>", self.name))
    }

    fn value(&self, name: &str) -> &str {
        &self.child(name).text
    }

    fn names(&self) -> Vec<&str> {
        self.children.iter().map(|c| c.name.as_str()).collect()
    }
}

/// Parses a document (strictly: mismatched tags fail) into its root element.
fn parse(xml: &str) -> Node {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Node> = vec![Node::default()];
    let element = |e: &quick_xml::events::BytesStart<'_>| Node {
        name: String::from_utf8(e.name().as_ref().to_vec()).unwrap(),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.expect("well-formed attribute");
                (
                    String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                    a.normalized_value(XmlVersion::Explicit1_0)
                        .unwrap()
                        .into_owned(),
                )
            })
            .collect(),
        ..Node::default()
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => stack.push(element(&e)),
            Event::Empty(e) => stack.last_mut().unwrap().children.push(element(&e)),
            Event::End(_) => {
                let done = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(done);
            }
            Event::Text(t) => stack.last_mut().unwrap().text += &t.decode().unwrap(),
            Event::CData(c) => stack.last_mut().unwrap().text += &c.decode().unwrap(),
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements");
    let mut document = stack.pop().unwrap();
    assert_eq!(document.children.len(), 1, "one root element");
    document.children.remove(0)
}

// ----- the shop over HTTP ---------------------------------------------------------------------

struct Shop {
    _running: Running,
    shop: PrestaSandbox,
    base: String,
    http: reqwest::Client,
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn xml(&self) -> Node {
        assert!(
            self.body.starts_with(ENVELOPE),
            "PrestaShop envelope: {}",
            self.body
        );
        assert!(self.body.ends_with("</prestashop>\n"));
        let root = parse(&self.body);
        assert_eq!(root.name, "prestashop");
        root
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |v| v.to_str().unwrap_or(""))
    }

    /// The first `<error>` as (code, message).
    fn error(&self) -> (String, String) {
        let root = self.xml();
        let error = root.child("errors").child("error");
        (
            error.value("code").to_string(),
            error.value("message").to_string(),
        )
    }
}

impl Shop {
    async fn start() -> Shop {
        let (running, shop) = PrestaSandbox::start(PrestaConfig::default(), 0)
            .await
            .unwrap();
        let base = running.base_url();
        Shop {
            _running: running,
            shop,
            base,
            http: reqwest::Client::new(),
        }
    }

    fn key(&self) -> String {
        self.shop.config().api_key.clone()
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/{path}", self.base)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// GET with the key as HTTP Basic user and an empty password.
    async fn get(&self, path: &str) -> Answer {
        self.send(
            self.http
                .get(self.url(path))
                .basic_auth(self.key(), Some("")),
        )
        .await
    }

    async fn ok_xml(&self, path: &str) -> Node {
        let answer = self.get(path).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        answer.xml()
    }

    async fn ok_json(&self, path: &str) -> Value {
        let separator = if path.contains('?') { '&' } else { '?' };
        let answer = self
            .get(&format!("{path}{separator}output_format=JSON"))
            .await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        assert_eq!(
            answer.header("content-type"),
            "application/json;charset=utf-8"
        );
        answer.json()
    }

    /// Every order of the shop, in full, as JSON objects.
    async fn orders(&self) -> Vec<Value> {
        self.ok_json("orders?display=full")
            .await
            .get("orders")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    async fn order(&self, id: u64) -> Value {
        self.ok_json(&format!("orders/{id}")).await["order"].clone()
    }
}

fn ids_of(list: &Node) -> Vec<u64> {
    list.children
        .iter()
        .map(|c| {
            c.attr("id")
                .map_or_else(|| c.value("id").to_string(), str::to_string)
                .parse()
                .unwrap()
        })
        .collect()
}

fn nl_order(lastname: &str, state_id: u64) -> OrderSpec {
    OrderSpec {
        state_id,
        customer: CustomerSpec {
            firstname: "Test".into(),
            lastname: lastname.into(),
            email: format!("{}@example.nl", lastname.to_lowercase()),
            ..CustomerSpec::default()
        },
        delivery: AddressSpec {
            address1: "Damrak 1".into(),
            postcode: "1012 LG".into(),
            city: "Amsterdam".into(),
            country: "NL".into(),
            ..AddressSpec::default()
        },
        lines: vec![
            LineSpec {
                product_id: 1,
                quantity: 2,
                ..LineSpec::default()
            },
            LineSpec {
                product_id: 6,
                quantity: 3,
                ..LineSpec::default()
            },
        ],
        carrier: Some(CarrierSpec {
            carrier_id: 2,
            price_tax_excl: dec("4.95"),
            tax_rate: None,
        }),
        ..OrderSpec::default()
    }
}

fn money(v: &Value) -> Decimal {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    let (_, decimals) = s
        .split_once('.')
        .unwrap_or_else(|| panic!("no decimals: {s}"));
    assert_eq!(decimals.len(), 6, "six decimals: {s}");
    dec(s)
}

// ----- authentication -------------------------------------------------------------------------

#[tokio::test]
async fn authentication_failures_answer_401_with_the_challenge() {
    let t = Shop::start().await;

    // HEAD without a key, as recorded in examples/auth_failure: 401, empty body, the headers.
    let head = t.send(t.http.head(t.url(""))).await;
    assert_eq!(head.status, 401);
    assert!(head.body.is_empty());
    assert_eq!(head.header("www-authenticate"), REALM);
    assert_eq!(head.header("content-type"), "text/xml;charset=utf-8");
    assert_eq!(head.header("x-powered-by"), "PrestaShop Webservice");
    assert!(!head.header("psws-version").is_empty());
    assert!(!head.header("execution-time").is_empty());

    let cases = [
        (t.http.get(t.url("orders")), "16"),
        (t.http.get(t.url("orders")).basic_auth("", Some("")), "17"),
        (
            t.http.get(t.url("orders")).basic_auth("TOOSHORT", Some("")),
            "18",
        ),
        (
            t.http
                .get(t.url("orders"))
                .basic_auth("ABCDEFGHIJKLMNOPQRSTUVWXYZ123456", None::<&str>),
            "19",
        ),
        (
            t.http
                .get(t.url("orders?ws_key=ABCDEFGHIJKLMNOPQRSTUVWXYZ123456")),
            "19",
        ),
        (t.http.get(t.url("orders?ws_key=")), "17"),
        // ws_key is read before the Authorization header.
        (
            t.http
                .get(t.url("orders?ws_key=ABCDEFGHIJKLMNOPQRSTUVWXYZ123456"))
                .basic_auth(t.key(), Some("")),
            "19",
        ),
    ];
    for (request, code) in cases {
        let answer = t.send(request).await;
        assert_eq!(answer.status, 401, "{}", answer.body);
        assert_eq!(answer.header("www-authenticate"), REALM);
        assert_eq!(answer.error().0, code, "{}", answer.body);
    }
    let answer = t.send(t.http.get(t.url("orders"))).await;
    assert_eq!(
        answer.error().1,
        "Please enter the authentication key as the login. No password required"
    );

    // The key works as Basic user (any password) and as ws_key.
    for request in [
        t.http.get(t.url("orders")).basic_auth(t.key(), Some("")),
        t.http
            .get(t.url("orders"))
            .basic_auth(t.key(), Some("ignored")),
        t.http.get(t.url(&format!("orders?ws_key={}", t.key()))),
    ] {
        let answer = t.send(request).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert!(answer.headers.get("www-authenticate").is_none());
        assert_eq!(answer.xml().child("orders").children.len(), 0);
    }

    // Errors follow the requested format.
    let answer = t.send(t.http.get(t.url("orders?output_format=JSON"))).await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.json(),
        json!({"errors": [{"code": 16, "message": "Please enter the authentication key as the login. No password required"}]})
    );
}

#[tokio::test]
async fn resources_and_methods_outside_the_key_are_refused() {
    let t = Shop::start().await;

    let carts = t.get("carts").await;
    assert_eq!(carts.status, 401);
    assert!(carts.headers.get("www-authenticate").is_none());
    assert_eq!(
        carts.error(),
        (
            "26".to_string(),
            "Resource of type \"carts\" is not allowed with this authentication key".to_string()
        )
    );

    let slips = t.get("order_slips").await;
    assert_eq!(slips.status, 400);
    let (code, message) = slips.error();
    assert_eq!(code, "27");
    assert!(
        message.starts_with(
            "Resource of type \"order_slips\" does not exists. Did you mean: \"order_slip\"?"
        ),
        "{message}"
    );

    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let answer = t
            .send(
                t.http
                    .request(method.clone(), t.url("orders/1"))
                    .basic_auth(t.key(), Some(""))
                    .body("<prestashop/>"),
            )
            .await;
        assert_eq!(answer.status, 405, "{method}");
        assert_eq!(
            answer.error(),
            (
                "25".to_string(),
                format!(
                    "Method {method} is not allowed for the resource orders with this authentication key"
                )
            )
        );
    }
    // ps_method overrides the HTTP method.
    let answer = t.get("orders?ps_method=DELETE").await;
    assert_eq!(answer.status, 405);
    let answer = t.get("orders?ps_method=FETCH").await;
    assert_eq!((answer.status, answer.error().0), (405, "23".to_string()));

    let missing = t.get("orders/4242").await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.error(),
        ("87".to_string(), "Id(s) not exists: 4242".to_string())
    );

    assert_eq!(t.get("orders?language=1").await.status, 200);
    let answer = t.get("orders?language=2").await;
    assert_eq!(
        (answer.status, answer.error().1),
        (400, "language is not available".to_string())
    );
}

// ----- formats --------------------------------------------------------------------------------

#[tokio::test]
async fn xml_by_default_and_json_on_request() {
    let t = Shop::start().await;
    let id = t.shop.create_order(nl_order("Format", 2));

    let answer = t.get(&format!("orders/{id}")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), "text/xml;charset=utf-8");
    assert_eq!(answer.header("x-powered-by"), "PrestaShop Webservice");
    assert_eq!(
        answer.body,
        t.shop.order_xml(id),
        "order_xml is the API body"
    );
    let root = answer.xml();
    let order = root.child("order");
    assert_eq!(
        order.names()[..4],
        ["id", "id_address_delivery", "id_address_invoice", "id_cart"]
    );
    assert_eq!(order.value("id"), id.to_string());
    let customer = order.child("id_customer");
    assert_eq!(
        customer.attr("xlink:href"),
        Some(format!("{}/api/customers/{}", t.base, customer.text).as_str())
    );
    assert_eq!(
        order.child("current_state").attr("xlink:href"),
        Some(format!("{}/api/order_states/2", t.base).as_str())
    );
    assert_eq!(
        order.child("shipping_number").attr("notFilterable"),
        Some("true")
    );
    assert_eq!(
        order
            .value("total_paid_tax_incl")
            .split('.')
            .nth(1)
            .unwrap()
            .len(),
        6
    );
    assert_eq!(order.value("carrier_tax_rate"), "21.000");
    assert_eq!(order.value("round_mode"), "2");
    assert_eq!(order.value("round_type"), "1");
    let reference = order.value("reference");
    assert!(reference.len() == 9 && reference.chars().all(|c| c.is_ascii_uppercase()));
    assert!(answer.body.contains("\t<id><![CDATA[1]]></id>\n"));
    assert!(
        answer.body.contains("\t<gift_message></gift_message>\n"),
        "empty values have no CDATA"
    );
    let rows = order.child("associations").child("order_rows");
    assert_eq!(rows.attr("nodeType"), Some("order_row"));
    assert_eq!(rows.attr("virtualEntity"), Some("true"));
    let row = rows.all("order_row")[0];
    assert_eq!(
        row.names(),
        [
            "id",
            "product_id",
            "product_attribute_id",
            "product_quantity",
            "product_name",
            "product_reference",
            "product_ean13",
            "product_isbn",
            "product_upc",
            "product_price",
            "id_customization",
            "unit_price_tax_incl",
            "unit_price_tax_excl"
        ]
    );
    assert_eq!(row.value("product_name"), "Espresso Beans 1 kg");
    assert_eq!(row.value("unit_price_tax_excl"), "18.500000");
    assert_eq!(row.value("unit_price_tax_incl"), "20.165000");
    assert_eq!(
        row.child("product_id").attr("xlink:href"),
        Some(format!("{}/api/products/1", t.base).as_str())
    );
    assert_eq!(
        row.child("id_customization").attr("xlink:href"),
        None,
        "no link for 0"
    );

    // The content hash and conditional GET.
    let sha1 = answer.header("content-sha1").to_string();
    assert_eq!(sha1.len(), 40);
    let expected = std::process::Command::new("sha1sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(answer.body.as_bytes())?;
            child.wait_with_output()
        })
        .map(|out| String::from_utf8_lossy(&out.stdout)[..40].to_string());
    if let Ok(expected) = expected {
        assert_eq!(sha1, expected);
    }
    let cached = t
        .send(
            t.http
                .get(t.url(&format!("orders/{id}")))
                .basic_auth(t.key(), Some(""))
                .header("Local-Content-Sha1", &sha1),
        )
        .await;
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());

    // JSON: by parameter (output_format, io_format) or header; id is a number, the rest strings.
    let json = t.ok_json(&format!("orders/{id}")).await;
    let order = &json["order"];
    assert_eq!(order["id"], json!(id));
    assert!(order["id_customer"].is_string());
    assert!(order["total_paid_tax_incl"].is_string());
    assert_eq!(order["associations"]["order_rows"][0]["product_id"], "1");
    for request in [
        t.http
            .get(t.url(&format!("orders/{id}?io_format=JSON")))
            .basic_auth(t.key(), Some("")),
        t.http
            .get(t.url(&format!("orders/{id}")))
            .basic_auth(t.key(), Some(""))
            .header("Output-Format", "JSON"),
        t.http
            .get(t.url(&format!("orders/{id}")))
            .basic_auth(t.key(), Some(""))
            .header("Io-Format", "JSON"),
    ] {
        assert_eq!(t.send(request).await.json(), json);
    }
    // PHP's json_encode(): `\/` and `\uXXXX`.
    let raw = t
        .get("addresses?display=full&output_format=JSON")
        .await
        .body;
    assert!(raw.contains("\"city\":\"Amsterdam\""), "{raw}");
    let raw = t.get("carriers/2?output_format=JSON").await.body;
    assert!(raw.contains("https:\\/\\/jouw.postnl.nl"), "{raw}");
    let raw = t.get("currencies/1?output_format=JSON").await.body;
    assert!(raw.contains("\"symbol\":\"\\u20ac\""), "{raw}");

    // Lists: ids with links (XML), `{"orders":[{"id":N}]}` (JSON), `[]` when empty.
    let list = t.ok_xml("orders").await;
    let orders = list.child("orders");
    let item = &orders.children[0];
    assert_eq!(item.name, "order");
    assert_eq!(item.attr("id"), Some(id.to_string().as_str()));
    assert_eq!(
        item.attr("xlink:href"),
        Some(format!("{}/api/orders/{id}", t.base).as_str())
    );
    assert!(item.children.is_empty());
    assert_eq!(t.ok_json("orders").await, json!({"orders": [{"id": id}]}));
    assert_eq!(t.ok_json("orders?filter[id]=[999]").await, json!([]));
    assert_eq!(
        t.ok_xml("orders?filter[id]=[999]")
            .await
            .child("orders")
            .children
            .len(),
        0
    );

    // The resource list.
    let api = t.ok_xml("").await;
    let api = api.child("api");
    assert_eq!(api.attr("shopName"), Some("De Gouden Boon"));
    let orders = api.child("orders");
    assert_eq!(orders.attr("get"), Some("true"));
    assert_eq!(orders.attr("post"), Some("false"));
    assert_eq!(orders.attr("head"), Some("true"));
    assert!(api.names().contains(&"order_slip"));
}

#[tokio::test]
async fn every_resource_lists_and_shows_its_entities() {
    let t = Shop::start().await;
    fixtures::demo_mix(&t.shop);
    let api = t.ok_xml("").await;
    let names: Vec<String> = api
        .child("api")
        .names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(names.len() >= 20, "{names:?}");
    for name in names {
        let list = t.ok_xml(&name).await;
        let wrapper = &list.children[0];
        let ids = ids_of(wrapper);
        assert!(!ids.is_empty(), "{name} has entities");
        let full = t.ok_xml(&format!("{name}?display=full")).await;
        assert_eq!(full.children[0].children.len(), ids.len(), "{name}");
        let json = t.ok_json(&format!("{name}?display=full")).await;
        let key = &wrapper.name;
        assert_eq!(
            json[key].as_array().map(Vec::len),
            Some(ids.len()),
            "{name}"
        );
        let one = t.ok_xml(&format!("{name}/{}", ids[0])).await;
        assert_eq!(one.children[0].value("id"), ids[0].to_string());
    }

    // Single-language fields: one <language> in XML, a plain string in JSON.
    let tax = t.ok_xml("taxes/1").await;
    let name = tax.child("tax").child("name").child("language");
    assert_eq!(name.attr("id"), Some("1"));
    assert_eq!(name.text, "BTW NL 21%");
    assert_eq!(tax.child("tax").value("rate"), "21.000");
    let json = t.ok_json("taxes/1").await;
    assert_eq!(json["tax"]["name"], "BTW NL 21%");
    // Fields with a getter are marked.
    let currency = t.ok_xml("currencies/1").await;
    assert_eq!(
        currency
            .child("currency")
            .child("name")
            .attr("notFilterable"),
        Some("true")
    );
    assert_eq!(
        currency.child("currency").value("conversion_rate"),
        "1.000000"
    );
}

// ----- list parameters ------------------------------------------------------------------------

#[tokio::test]
async fn display_filter_sort_and_limit_work_like_the_webservice() {
    let t = Shop::start().await;
    let ids = fixtures::demo_mix(&t.shop);
    assert_eq!(ids.len(), 12);

    // display=[...]: only these fields, in the resource's order, no associations.
    let list = t
        .ok_xml("orders?display=[reference,id,current_state]")
        .await;
    let orders = list.child("orders");
    assert_eq!(orders.children.len(), 12);
    assert_eq!(orders.children[0].name, "order");
    assert_eq!(
        orders.children[0].names(),
        ["id", "current_state", "reference"]
    );
    let json = t.ok_json("orders?display=[id,total_paid]").await;
    assert_eq!(json["orders"][0].as_object().unwrap().len(), 2);
    assert_eq!(json["orders"][0]["id"], json!(ids[0]));
    let bad = t.get("orders?display=[id,bogus]").await;
    assert_eq!(bad.status, 400);
    let (code, message) = bad.error();
    assert_eq!(code, "35");
    assert!(message.starts_with("Unable to display this field \"bogus\". However, these are available: id, id_address_delivery"));
    assert_eq!(t.get("orders?display=id").await.status, 400);

    // Filters: OR, interval (inclusive, bounds in any order), LIKE, NOT, comparisons.
    let by = |q: &str| format!("orders?display=[id,current_state,total_paid_tax_incl]&{q}");
    let list = t.ok_xml(&by("filter[id]=[3,5]")).await;
    assert_eq!(ids_of(list.child("orders")), vec![3, 4, 5]);
    let list = t.ok_xml(&by("filter[id]=[5,3]")).await;
    assert_eq!(ids_of(list.child("orders")), vec![3, 4, 5]);
    let list = t.ok_xml(&by("filter[id]=[2|7|11]")).await;
    assert_eq!(ids_of(list.child("orders")), vec![2, 7, 11]);
    let list = t
        .ok_xml(&by("filter[id]=![2|7]&filter[current_state]=[10]"))
        .await;
    assert_eq!(ids_of(list.child("orders")), vec![9]);
    let list = t.ok_xml(&by("filter[id]=>[10]")).await;
    assert_eq!(ids_of(list.child("orders")), vec![11, 12]);
    let list = t.ok_xml(&by("filter[id]=<[3]")).await;
    assert_eq!(ids_of(list.child("orders")), vec![1, 2]);
    let list = t.ok_xml(&by("filter[id]=6")).await;
    assert_eq!(ids_of(list.child("orders")), vec![6]);
    let list = t
        .ok_xml("customers?display=[id,lastname]&filter[lastname]=[DE]%")
        .await;
    let names: Vec<&str> = list
        .child("customers")
        .children
        .iter()
        .map(|c| c.value("lastname"))
        .collect();
    assert_eq!(names, ["de Vries"], "LIKE is case-insensitive");
    let list = t
        .ok_xml("customers?display=[id,email]&filter[email]=%[.nl]")
        .await;
    assert_eq!(
        list.child("customers").children.len(),
        7,
        "the Dutch customers"
    );
    let list = t
        .ok_xml("customers?display=[lastname]&filter[lastname]=%[an]%")
        .await;
    assert_eq!(list.child("customers").children.len(), 2, "Jansen, Hansen");
    let list = t.ok_xml("order_states?filter[name]=[shipped]").await;
    assert_eq!(ids_of(list.child("order_states")), vec![4], "i18n filter");

    let (code, message) = t.get("orders?filter[state]=[2]").await.error();
    assert_eq!(code, "32");
    assert!(
        message.starts_with("This filter does not exist. Did you mean: \"date_add\"?")
            || message.starts_with("This filter does not exist. Did you mean:"),
        "{message}"
    );
    assert!(message.contains("The full list is: \"id\", \"id_address_delivery\""));
    let answer = t.get("orders?filter[shipping_number]=[x]").await;
    assert_eq!((answer.status, answer.error().0), (400, "34".to_string()));
    let answer = t.get("orders?filter[id]=").await;
    assert_eq!(
        answer.error(),
        (
            "33".to_string(),
            "The filter \"id\" is malformed.".to_string()
        )
    );

    // Sort, numerically for numbers.
    let list = t
        .ok_xml("orders?display=[id,total_paid_tax_incl]&sort=[total_paid_tax_incl_DESC]")
        .await;
    let totals: Vec<Decimal> = list
        .child("orders")
        .children
        .iter()
        .map(|o| dec(o.value("total_paid_tax_incl")))
        .collect();
    assert!(totals.windows(2).all(|w| w[0] >= w[1]), "{totals:?}");
    let list = t
        .ok_xml("orders?display=[id,current_state]&sort=[current_state_ASC,id_DESC]")
        .await;
    let keys: Vec<(u64, u64)> = list
        .child("orders")
        .children
        .iter()
        .map(|o| {
            (
                o.value("current_state").parse().unwrap(),
                o.value("id").parse().unwrap(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    assert_eq!(keys, sorted);
    assert_eq!(t.get("orders?sort=[id]").await.error().0, "37");
    assert_eq!(t.get("orders?sort=[bogus_ASC]").await.error().0, "38");

    // Paging: limit=offset,count until a short page; no total anywhere.
    let mut seen: Vec<u64> = Vec::new();
    let mut offset = 0;
    loop {
        let answer = t.get(&format!("orders?limit={offset},5")).await;
        assert_eq!(answer.status, 200);
        for (name, _) in &answer.headers {
            let name = name.as_str();
            assert!(
                !name.contains("total") && !name.contains("count"),
                "no total header: {name}"
            );
        }
        let page = ids_of(answer.xml().child("orders"));
        seen.extend(&page);
        if page.len() < 5 {
            break;
        }
        offset += 5;
    }
    assert_eq!(seen, ids);
    assert_eq!(
        ids_of(t.ok_xml("orders?limit=3").await.child("orders")),
        vec![1, 2, 3]
    );
    assert_eq!(
        ids_of(
            t.ok_xml("orders?sort=[id_DESC]&limit=2,2")
                .await
                .child("orders")
        ),
        vec![10, 9]
    );
    assert!(t
        .ok_xml("orders?limit=abc")
        .await
        .child("orders")
        .children
        .is_empty());
    assert_eq!(t.get("orders?limit=1,2,3").await.error().0, "39");
}

#[tokio::test]
async fn date_upd_filters_need_date_1_and_follow_every_change() {
    let t = Shop::start().await;
    let first = t.shop.create_order(nl_order("First", 10));
    let second = t.shop.create_order(nl_order("Second", 2));
    let first_upd = t.order(first).await["date_upd"]
        .as_str()
        .unwrap()
        .to_string();
    let second_upd = t.order(second).await["date_upd"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(second_upd > first_upd, "{second_upd} > {first_upd}");

    // Without date=1 the date fields are no filters (nor sort keys).
    let answer = t
        .get(&format!("orders?filter[date_upd]=>[{first_upd}]"))
        .await;
    assert_eq!(answer.status, 400);
    let (code, message) = answer.error();
    assert_eq!(code, "32");
    assert!(
        !message.contains("\"date_upd\","),
        "date fields are not listed: {message}"
    );
    assert_eq!(t.get("orders?sort=[date_upd_DESC]").await.status, 400);

    let since = |cursor: &str| format!("orders?date=1&filter[date_upd]=>[{cursor}]&limit=0,100");
    assert_eq!(
        ids_of(t.ok_xml(&since(&first_upd)).await.child("orders")),
        vec![second]
    );
    assert!(ids_of(t.ok_xml(&since(&second_upd)).await.child("orders")).is_empty());

    // A state change moves date_upd past every earlier one.
    t.shop.set_order_state(first, 2).unwrap();
    let moved = t.order(first).await["date_upd"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(moved > second_upd);
    assert_eq!(
        ids_of(t.ok_xml(&since(&second_upd)).await.child("orders")),
        vec![first]
    );

    // An interval is inclusive at both ends (SQL BETWEEN); a bare date means midnight.
    let range = format!("orders?date=1&filter[date_upd]=[{second_upd},{moved}]");
    assert_eq!(
        ids_of(t.ok_xml(&range).await.child("orders")),
        vec![first, second]
    );
    let day = &second_upd[..10];
    let list = t
        .ok_xml(&format!(
            "orders?date=1&filter[date_add]=>[{day}]&sort=[date_add_DESC]"
        ))
        .await;
    assert_eq!(ids_of(list.child("orders")), vec![second, first]);
    let list = t
        .ok_xml("orders?date=1&filter[date_add]=<[2000-01-01 00:00:00]")
        .await;
    assert!(list.child("orders").children.is_empty());
}

// ----- money ----------------------------------------------------------------------------------

#[tokio::test]
async fn every_demo_order_adds_up_to_the_cent() {
    let t = Shop::start().await;
    let ids = fixtures::demo_mix(&t.shop);
    let orders = t.orders().await;
    assert_eq!(orders.len(), ids.len());
    let details = t.ok_json("order_details?display=full").await["order_details"].clone();
    let taxes = t.ok_json("taxes?display=full").await["taxes"].clone();
    let tax_rate = |id: &str| {
        taxes
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"].as_u64() == id.parse().ok())
            .map(|t| dec(t["rate"].as_str().unwrap()))
            .unwrap()
    };

    for order in &orders {
        let id = order["id"].as_u64().unwrap();
        let f = |name: &str| money(&order[name]);
        let rows = order["associations"]["order_rows"].as_array().unwrap();
        let (mut excl, mut incl) = (Decimal::ZERO, Decimal::ZERO);
        for row in rows {
            let quantity = Decimal::from(
                row["product_quantity"]
                    .as_str()
                    .unwrap()
                    .parse::<u32>()
                    .unwrap(),
            );
            let unit_excl = money(&row["unit_price_tax_excl"]);
            let unit_incl = money(&row["unit_price_tax_incl"]);
            excl += round2(unit_excl) * quantity;
            incl += round2(unit_incl) * quantity;
            // The line's tax, through order_details → taxes.
            let detail = details
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["id"].as_u64() == row["id"].as_str().and_then(|i| i.parse().ok()))
                .unwrap();
            let rate = detail["associations"]["taxes"][0]["id"]
                .as_str()
                .map_or(Decimal::ZERO, tax_rate);
            assert_eq!(
                unit_incl,
                round6(unit_excl * (Decimal::ONE_HUNDRED + rate) / Decimal::ONE_HUNDRED),
                "order {id}"
            );
            assert_eq!(
                money(&detail["total_price_tax_excl"]),
                round2(unit_excl) * quantity
            );
            assert_eq!(
                money(&detail["total_price_tax_incl"]),
                round2(unit_incl) * quantity
            );
        }
        assert_eq!(f("total_products"), excl, "order {id}");
        assert_eq!(f("total_products_wt"), incl, "order {id}");
        let shipping_rate = dec(order["carrier_tax_rate"].as_str().unwrap());
        assert_eq!(
            f("total_shipping_tax_incl"),
            round2(
                f("total_shipping_tax_excl") * (Decimal::ONE_HUNDRED + shipping_rate)
                    / Decimal::ONE_HUNDRED
            ),
            "order {id}"
        );
        assert_eq!(
            f("total_paid_tax_excl"),
            f("total_products") + f("total_shipping_tax_excl") + f("total_wrapping_tax_excl")
                - f("total_discounts_tax_excl"),
            "order {id}"
        );
        assert_eq!(
            f("total_paid_tax_incl"),
            f("total_products_wt") + f("total_shipping_tax_incl") + f("total_wrapping_tax_incl")
                - f("total_discounts_tax_incl"),
            "order {id}"
        );
        assert_eq!(f("total_paid"), f("total_paid_tax_incl"));
        assert_eq!(f("total_shipping"), f("total_shipping_tax_incl"));
        assert_eq!(f("total_discounts"), f("total_discounts_tax_incl"));
        assert_eq!(f("total_wrapping"), f("total_wrapping_tax_incl"));
        assert!(f("total_paid_tax_excl") <= f("total_paid_tax_incl"));
        for name in ["total_paid_real", "conversion_rate"] {
            money(&order[name]);
        }
    }

    let by_id = |id: u64| orders.iter().find(|o| o["id"] == json!(id)).unwrap();
    let f = |id: u64, name: &str| money(&by_id(id)[name]);

    // 1: NL, 2 × 18.50 at 9 % and 2 × 7.95 at 21 %, PostNL 4.95 at 21 %.
    assert_eq!(f(1, "total_products"), dec("52.90"));
    assert_eq!(
        f(1, "total_products_wt"),
        dec("59.58"),
        "20.165 rounds half up"
    );
    assert_eq!(f(1, "total_shipping_tax_incl"), dec("5.99"));
    assert_eq!(f(1, "total_paid_tax_incl"), dec("65.57"));
    // 2: a 5.00 voucher at 21 %.
    assert_eq!(f(2, "total_discounts_tax_incl"), dec("5.00"));
    assert_eq!(f(2, "total_discounts_tax_excl"), dec("4.13"));
    let rules = t.ok_json("order_cart_rules?display=full").await;
    assert_eq!(rules["order_cart_rules"][0]["value"], "5.00");
    assert_eq!(rules["order_cart_rules"][0]["value_tax_excl"], "4.13");
    // 3: BE B2B with a VAT number: no VAT at all, delivery and invoice addresses differ.
    let be = by_id(3);
    assert_eq!(f(3, "total_products"), f(3, "total_products_wt"));
    assert_eq!(f(3, "total_paid_tax_excl"), f(3, "total_paid_tax_incl"));
    assert_eq!(be["carrier_tax_rate"], "0.000");
    assert_ne!(be["id_address_delivery"], be["id_address_invoice"]);
    let delivery = t
        .ok_xml(&format!(
            "addresses/{}",
            be["id_address_delivery"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        delivery.child("address").value("vat_number"),
        "BE0123456749"
    );
    assert_eq!(delivery.child("address").value("id_country"), "3");
    let invoice = t
        .ok_xml(&format!(
            "addresses/{}",
            be["id_address_invoice"].as_str().unwrap()
        ))
        .await;
    assert_eq!(invoice.child("address").value("city"), "Antwerpen");
    // 4, 5: DE and FR B2C at their own rates (OSS).
    let rates_of = |id: u64| -> Vec<String> {
        let mut rates: Vec<String> = by_id(id)["associations"]["order_rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                let d = details
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|d| d["id"].as_u64() == row["id"].as_str().and_then(|i| i.parse().ok()))
                    .unwrap();
                d["associations"]["taxes"][0]["id"]
                    .as_str()
                    .map_or(Decimal::ZERO, tax_rate)
                    .normalize()
                    .to_string()
            })
            .collect();
        rates.sort();
        rates
    };
    assert_eq!(rates_of(1), ["21", "9"]);
    assert_eq!(rates_of(4), ["19", "7"]);
    assert_eq!(rates_of(5), ["20", "5.5"]);
    assert_eq!(by_id(4)["carrier_tax_rate"], "19.000");
    assert_eq!(by_id(5)["gift"], "1");
    assert_eq!(f(5, "total_wrapping_tax_incl"), dec("3.00"));
    // 6, 7: exports without VAT; 7 in USD.
    for id in [6, 7] {
        assert_eq!(rates_of(id).iter().filter(|r| *r != "0").count(), 0);
        assert_eq!(f(id, "total_paid_tax_excl"), f(id, "total_paid_tax_incl"));
    }
    assert_eq!(by_id(7)["id_currency"], "2");
    assert_eq!(by_id(7)["conversion_rate"], "1.085000");
    // 11: six-decimal prices are rounded per item.
    let row = by_id(11)["associations"]["order_rows"][0].clone();
    assert_eq!(row["unit_price_tax_excl"], "3.333333");
    assert_eq!(row["unit_price_tax_incl"], "4.033333");
    assert_eq!(
        f(11, "total_products"),
        dec("9.99") + dec("13.00") + dec("49.00")
    );
    assert_eq!(
        f(11, "total_products_wt"),
        dec("12.09") + dec("15.72") + dec("59.29")
    );
    // 12: a Dutch VAT number on a Dutch address does not exempt.
    assert_eq!(rates_of(12), ["21", "21", "9"]);

    // Paid orders: invoice, payment, total_paid_real; unpaid ones: none of that, not valid.
    let payments = t.ok_json("order_payments?display=full").await["order_payments"].clone();
    for order in &orders {
        let id = order["id"].as_u64().unwrap();
        let paid: Decimal = payments
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["order_reference"] == order["reference"])
            .map(|p| money(&p["amount"]))
            .sum();
        if [9, 10].contains(&id) {
            assert_eq!(order["valid"], "0", "order {id}");
            assert_eq!(f(id, "total_paid_real"), Decimal::ZERO);
            assert_eq!(order["invoice_number"], "0");
            assert_eq!(order["invoice_date"], "0000-00-00 00:00:00");
            assert_eq!(paid, Decimal::ZERO);
        } else {
            assert_eq!(order["valid"], "1", "order {id}");
            assert_eq!(f(id, "total_paid_real"), f(id, "total_paid"), "order {id}");
            assert_eq!(paid, f(id, "total_paid"), "order {id}");
            assert_ne!(order["invoice_number"], "0", "order {id}");
        }
    }
    let invoices = t.ok_json("order_invoices?display=full").await["order_invoices"].clone();
    let invoice = invoices
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id_order"] == "1")
        .unwrap();
    assert_eq!(
        invoice["total_paid_tax_incl"],
        by_id(1)["total_paid_tax_incl"]
    );
    assert_eq!(invoice["number"], by_id(1)["invoice_number"]);
    assert_ne!(
        by_id(1)["delivery_number"],
        "0",
        "shipped orders have a delivery slip"
    );
}

// ----- states, histories, credit slips --------------------------------------------------------

#[tokio::test]
async fn module_states_carry_their_flags() {
    let t = Shop::start().await;
    fixtures::demo_mix(&t.shop);
    let state = t.ok_xml("order_states/14").await;
    let state = state.child("order_state");
    assert_eq!(
        state.names(),
        [
            "id",
            "unremovable",
            "delivery",
            "hidden",
            "send_email",
            "module_name",
            "invoice",
            "color",
            "logable",
            "shipped",
            "paid",
            "pdf_delivery",
            "pdf_invoice",
            "deleted",
            "name",
            "template"
        ]
    );
    assert_eq!(state.value("module_name"), "mollie");
    assert_eq!(
        state.child("name").child("language").text,
        "Partially refunded (Mollie)"
    );
    for (flag, value) in [
        ("paid", "1"),
        ("invoice", "1"),
        ("logable", "1"),
        ("shipped", "0"),
        ("delivery", "0"),
        ("unremovable", "0"),
    ] {
        assert_eq!(state.value(flag), value, "{flag}");
    }
    let order = t.order(8).await;
    assert_eq!(order["current_state"], "14");
    assert_eq!(order["valid"], "1");

    let paid = t.ok_xml("order_states?filter[paid]=1").await;
    assert_eq!(
        ids_of(paid.child("order_states")),
        vec![2, 3, 4, 5, 9, 11, 14]
    );

    // A module state that ships: delivery slip, still unpaid, not valid.
    let shipped = t.shop.add_order_state(
        "Sent with DHL (module)",
        StateFlags {
            module_name: "dhlexpress".into(),
            shipped: true,
            delivery: true,
            ..StateFlags::default()
        },
    );
    assert_eq!(shipped, 15);
    let id = t.shop.create_order(nl_order("Module", 10));
    t.shop.set_order_state(id, shipped).unwrap();
    let order = t.order(id).await;
    assert_eq!(order["current_state"], json!(shipped.to_string()));
    assert_eq!(order["valid"], "0");
    assert_ne!(order["delivery_number"], "0");
    assert_eq!(order["total_paid_real"], "0.000000");
    let state = t.ok_json(&format!("order_states/{shipped}")).await;
    assert_eq!(state["order_state"]["shipped"], "1");
    assert_eq!(state["order_state"]["module_name"], "dhlexpress");
}

#[tokio::test]
async fn state_changes_add_order_histories() {
    let t = Shop::start().await;
    let id = t.shop.create_order(nl_order("History", 10));
    let before = t.order(id).await;
    assert_eq!(before["current_state"], "10");

    let path = format!("order_histories?display=full&filter[id_order]=[{id}]");
    let list = t.ok_xml(&path).await;
    let entries = list.child("order_histories").all("order_history");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].value("id_order_state"), "10");
    assert_eq!(entries[0].value("id_employee"), "0");
    assert_eq!(entries[0].child("id_employee").attr("xlink:href"), None);
    assert_eq!(
        entries[0].child("id_order").attr("xlink:href"),
        Some(format!("{}/api/orders/{id}", t.base).as_str())
    );

    let history_id = t.shop.set_order_state(id, 2).unwrap();
    let after = t.order(id).await;
    assert_eq!(after["current_state"], "2");
    assert!(after["date_upd"].as_str() > before["date_upd"].as_str());
    assert_eq!(after["total_paid_real"], after["total_paid"]);
    let list = t.ok_json(&path).await;
    let entries = list["order_histories"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["id"], json!(history_id));
    assert_eq!(entries[1]["id_order_state"], "2");
    assert_eq!(entries[1]["date_add"], after["date_upd"]);
    assert!(entries[1]["date_add"].as_str() > entries[0]["date_add"].as_str());

    // The back office refuses the state the order is in, and unknown orders.
    assert_eq!(t.shop.set_order_state(id, 2).unwrap_err().status, 400);
    assert_eq!(t.shop.set_order_state(999, 2).unwrap_err().status, 404);
    assert_eq!(t.shop.set_order_state(id, 99).unwrap_err().status, 400);
}

#[tokio::test]
async fn credit_slips_have_the_order_slip_shape() {
    let t = Shop::start().await;
    fixtures::demo_mix(&t.shop);

    let list = t.ok_xml("order_slip").await;
    let slips = list.child("order_slips");
    assert_eq!(slips.children.len(), 1);
    assert_eq!(slips.children[0].name, "order_slip");
    assert_eq!(
        slips.children[0].attr("xlink:href"),
        Some(format!("{}/api/order_slip/1", t.base).as_str())
    );

    let slip = t.ok_xml("order_slip/1").await;
    let slip = slip.child("order_slip");
    assert_eq!(
        slip.names(),
        [
            "id",
            "id_customer",
            "id_order",
            "conversion_rate",
            "total_products_tax_excl",
            "total_products_tax_incl",
            "total_shipping_tax_excl",
            "total_shipping_tax_incl",
            "amount",
            "shipping_cost",
            "shipping_cost_amount",
            "partial",
            "date_add",
            "date_upd",
            "order_slip_type",
            "associations"
        ]
    );
    assert_eq!(slip.value("id_order"), "8");
    assert_eq!(slip.value("total_products_tax_excl"), "7.950000");
    assert_eq!(slip.value("total_products_tax_incl"), "9.620000");
    assert_eq!(slip.value("amount"), "9.620000");
    assert_eq!(slip.value("total_shipping_tax_incl"), "0.000000");
    assert_eq!(slip.value("shipping_cost"), "0");
    assert_eq!(slip.value("partial"), "1");
    assert_eq!(slip.value("order_slip_type"), "0");
    let details = slip.child("associations").child("order_slip_details");
    assert_eq!(details.attr("nodeType"), Some("order_slip_detail"));
    assert_eq!(details.attr("virtualEntity"), Some("true"));
    let detail = details.child("order_slip_detail");
    assert_eq!(
        detail.names(),
        [
            "id",
            "id_order_detail",
            "product_quantity",
            "amount_tax_excl",
            "amount_tax_incl"
        ]
    );
    assert_eq!(
        detail.value("id"),
        "1",
        "the slip's id, as getWsOrderSlipDetails selects it"
    );
    assert_eq!(detail.value("product_quantity"), "1");
    assert_eq!(detail.value("amount_tax_incl"), "9.620000");
    let order_detail = t
        .ok_xml(&format!(
            "order_details/{}",
            detail.value("id_order_detail")
        ))
        .await;
    let order_detail = order_detail.child("order_detail");
    assert_eq!(order_detail.value("id_order"), "8");
    assert_eq!(order_detail.value("product_id"), "6");
    assert_eq!(order_detail.value("product_quantity_refunded"), "1");
    assert_eq!(order_detail.value("total_refunded_tax_incl"), "9.620000");

    // Shipping and an amount of one's choice.
    let id = t.shop.create_order(nl_order("Refund", 2));
    let slip_id = t.shop.create_order_slip(
        id,
        SlipSpec {
            lines: vec![SlipLine {
                product_id: 1,
                quantity: 1,
            }],
            refund_shipping: true,
            amount: Some(dec("15.00")),
        },
    );
    let slip = t.ok_json(&format!("order_slip/{slip_id}")).await["order_slip"].clone();
    assert_eq!(slip["shipping_cost"], "1");
    assert_eq!(slip["total_shipping_tax_excl"], "4.950000");
    assert_eq!(slip["total_shipping_tax_incl"], "5.990000");
    assert_eq!(slip["shipping_cost_amount"], "5.990000");
    assert_eq!(slip["amount"], "15.000000");
    assert_eq!(slip["order_slip_type"], "2");
    assert_eq!(slip["total_products_tax_incl"], "20.170000");
    assert_eq!(
        slip["associations"]["order_slip_details"][0]["product_quantity"],
        "1"
    );
    let date = slip["date_upd"].as_str().unwrap();
    let list = t
        .ok_xml(&format!("order_slip?date=1&filter[date_upd]=[{date}]"))
        .await;
    assert_eq!(ids_of(list.child("order_slips")), vec![slip_id]);

    // Refunding more than is left is refused.
    let refused = t
        .http
        .post(format!("{}/__sandbox/orders/{id}/slips", t.base))
        .json(&json!({"lines": [{"product_id": 1, "quantity": 2}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
}

// ----- faults and admin -----------------------------------------------------------------------

fn arm(shop: &PrestaSandbox, method: &str, path: &str, fault: Fault) {
    shop.faults().arm(ArmedFault {
        on: FaultMatch {
            method: Some(method.to_string()),
            path_contains: Some(path.to_string()),
        },
        fault,
        times: 1,
    });
}

#[tokio::test]
async fn faults_break_requests_as_configured() {
    let t = Shop::start().await;
    let id = t.shop.create_order(nl_order("Faulty", 2));
    let path = format!("orders/{id}");

    arm(&t.shop, "GET", "/api/orders", Fault::ServerError);
    let answer = t.get(&path).await;
    assert_eq!(answer.status, 500);
    assert!(answer.error().1.starts_with("[PHP Warning #2]"));

    arm(&t.shop, "GET", "/api/orders", Fault::TooManyRequests);
    let answer = t.get(&path).await;
    assert_eq!(answer.status, 429);
    assert_eq!(answer.header("retry-after"), "1");

    arm(&t.shop, "GET", "/api/orders", Fault::ServerErrorAfterApply);
    assert_eq!(t.get(&path).await.status, 503);

    arm(&t.shop, "GET", "/api/orders", Fault::Slow { millis: 400 });
    let timed_out = t
        .http
        .get(t.url(&path))
        .basic_auth(t.key(), Some(""))
        .timeout(Duration::from_millis(100))
        .send()
        .await;
    assert!(timed_out.unwrap_err().is_timeout());

    arm(&t.shop, "GET", "/api/orders", Fault::LoseResponse);
    let lost = t
        .http
        .get(t.url(&path))
        .basic_auth(t.key(), Some(""))
        .send()
        .await;
    let outcome = match lost {
        Ok(response) => response.text().await.map(|_| ()),
        Err(error) => Err(error),
    };
    assert!(outcome.is_err(), "the caller cannot read the answer");

    // After the faults, the same request works again.
    assert_eq!(t.get(&path).await.status, 200);

    let recorded: Vec<(String, u16)> = t
        .shop
        .recorder()
        .all()
        .into_iter()
        .map(|r| (r.method, r.status))
        .collect();
    let expected: Vec<(String, u16)> = [500, 429, 503, 200, 200, 200]
        .iter()
        .map(|s| ("GET".to_string(), *s))
        .collect();
    assert_eq!(recorded, expected);
    assert!(t.shop.recorder().all().iter().all(|r| r.tenant.is_none()));
    assert_eq!(t.shop.faults().injected().len(), 5);
}

#[tokio::test]
async fn admin_endpoints_drive_the_shop_without_auth() {
    let t = Shop::start().await;
    let admin = |path: &str| format!("{}/__sandbox/{path}", t.base);
    let response = t
        .http
        .post(admin("orders"))
        .json(&json!({
            "state_id": 10,
            "customer": {"firstname": "Ad", "lastname": "Min", "email": "ad@example.fr"},
            "delivery": {"address1": "1 Rue X", "city": "Paris", "postcode": "75001", "country": "FR"},
            "lines": [{"name": "Tea", "quantity": 1, "unit_price_tax_excl": "10.00", "tax_rate": "5.5"}],
            "discounts": [{"name": "TEN", "amount_tax_incl": "1.00", "tax_rate": "5.5"}],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_u64()
        .unwrap();
    let order = t.order(id).await;
    assert_eq!(order["total_products_wt"], "10.550000");
    assert_eq!(order["total_paid_tax_incl"], "9.550000");
    assert_eq!(order["total_paid_tax_excl"], "9.050000");
    assert_eq!(order["id_carrier"], "0");

    let state: Value = t
        .http
        .post(admin("order-states"))
        .json(&json!({"name": "Awaiting Klarna", "module_name": "klarna", "paid": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let state_id = state["id"].as_u64().unwrap();
    let changed = t
        .http
        .post(admin(&format!("orders/{id}/state")))
        .json(&json!({"state_id": state_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_eq!(
        t.order(id).await["current_state"],
        json!(state_id.to_string())
    );
    let missing = t
        .http
        .post(admin("orders/9999/state"))
        .json(&json!({"state_id": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let bad = t
        .http
        .post(admin("orders"))
        .json(&json!({"state_id": 99, "lines": [{"quantity": 1, "unit_price_tax_excl": "1"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let slip = t
        .http
        .post(admin(&format!("orders/{id}/slips")))
        .json(&json!({"amount": "2.00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(slip.status(), 201);

    let armed = t
        .http
        .post(admin("faults"))
        .json(&json!({"match": {"method": "GET"}, "fault": {"kind": "server_error"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(armed.status(), 201);
    assert_eq!(t.get("orders").await.status, 500);
    let requests: Value = t
        .http
        .get(admin("requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let last = requests.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["status"], 500);
    assert_eq!(last["path"], "/api/orders");

    let mix: Value = t
        .http
        .post(admin("demo-mix"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mix.as_array().unwrap().len(), 12);
}

#[tokio::test]
async fn demo_mix_is_deterministic() {
    let one = PrestaSandbox::new(PrestaConfig::default());
    let two = PrestaSandbox::new(PrestaConfig::default());
    assert_eq!(fixtures::demo_mix(&one), fixtures::demo_mix(&two));
    let strip = |xml: String| {
        xml.lines()
            .filter(|l| !l.contains("date_") && !l.contains("_date"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for id in 1..=12 {
        assert_eq!(
            strip(one.order_xml(id)),
            strip(two.order_xml(id)),
            "order {id}"
        );
    }
}
