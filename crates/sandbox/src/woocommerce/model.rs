//! What the shop stores, and how the REST API renders it (field set and order follow the
//! reference's recorded responses).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use super::json::{gmt, gmt_opt, local, local_opt, money, number, unrounded};

/// WooCommerce version the emulated shop reports in `version`.
pub(crate) const WC_VERSION: &str = "8.6.1";

/// Core order statuses (slugs without `wc-`), in `wc_get_order_statuses()` order.
pub(crate) const CORE_STATUSES: [&str; 7] = [
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
];

#[derive(Clone, Debug)]
pub(crate) struct Meta {
    pub id: u64,
    pub key: String,
    pub value: String,
}

impl Meta {
    fn json(&self) -> Value {
        json!({"id": self.id, "key": self.key, "value": self.value})
    }
}

fn metas(list: &[Meta]) -> Value {
    Value::Array(list.iter().map(Meta::json).collect())
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Address {
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub address_1: String,
    pub address_2: String,
    pub city: String,
    pub state: String,
    pub postcode: String,
    pub country: String,
    pub email: String,
    pub phone: String,
}

impl Address {
    pub fn billing_json(&self) -> Value {
        json!({
            "first_name": self.first_name, "last_name": self.last_name, "company": self.company,
            "address_1": self.address_1, "address_2": self.address_2, "city": self.city,
            "state": self.state, "postcode": self.postcode, "country": self.country,
            "email": self.email, "phone": self.phone,
        })
    }

    pub fn shipping_json(&self) -> Value {
        json!({
            "first_name": self.first_name, "last_name": self.last_name, "company": self.company,
            "address_1": self.address_1, "address_2": self.address_2, "city": self.city,
            "state": self.state, "postcode": self.postcode, "country": self.country,
        })
    }

    /// Applies a partial address object from a request body (strings only).
    pub fn merge(&mut self, patch: &Map<String, Value>) {
        let fields: [(&str, &mut String); 11] = [
            ("first_name", &mut self.first_name),
            ("last_name", &mut self.last_name),
            ("company", &mut self.company),
            ("address_1", &mut self.address_1),
            ("address_2", &mut self.address_2),
            ("city", &mut self.city),
            ("state", &mut self.state),
            ("postcode", &mut self.postcode),
            ("country", &mut self.country),
            ("email", &mut self.email),
            ("phone", &mut self.phone),
        ];
        for (name, slot) in fields {
            if let Some(value) = patch.get(name).and_then(Value::as_str) {
                *slot = value.to_string();
            }
        }
    }
}

/// One rate's share of an item's tax, unrounded. `subtotal` is `None` on shipping and fee
/// lines, which the API renders as "".
#[derive(Clone, Debug)]
pub(crate) struct TaxShare {
    pub rate_id: u64,
    pub total: Decimal,
    pub subtotal: Option<Decimal>,
}

fn taxes_json(taxes: &[TaxShare]) -> Value {
    Value::Array(
        taxes
            .iter()
            .map(|t| {
                json!({
                    "id": t.rate_id,
                    "total": unrounded(t.total),
                    "subtotal": t.subtotal.map_or_else(String::new, unrounded),
                })
            })
            .collect(),
    )
}

#[derive(Clone, Debug)]
pub(crate) struct LineItem {
    pub id: u64,
    pub name: String,
    pub product_id: u64,
    pub variation_id: u64,
    pub quantity: u32,
    pub tax_class: String,
    pub subtotal: Decimal,
    pub subtotal_tax: Decimal,
    pub total: Decimal,
    pub total_tax: Decimal,
    pub taxes: Vec<TaxShare>,
    pub sku: String,
}

impl LineItem {
    /// Unit price after discounts, excluding tax: `total / quantity`.
    pub fn unit_total(&self) -> Decimal {
        if self.quantity == 0 {
            Decimal::ZERO
        } else {
            self.total / Decimal::from(self.quantity)
        }
    }

    fn json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "product_id": self.product_id,
            "variation_id": self.variation_id,
            "quantity": self.quantity,
            "tax_class": self.tax_class,
            "subtotal": money(self.subtotal),
            "subtotal_tax": money(self.subtotal_tax),
            "total": money(self.total),
            "total_tax": money(self.total_tax),
            "taxes": taxes_json(&self.taxes),
            "meta_data": [],
            "sku": self.sku,
            "price": number(self.unit_total()),
        })
    }
}

#[derive(Clone, Debug)]
pub(crate) struct ShippingItem {
    pub id: u64,
    pub method_title: String,
    pub method_id: String,
    pub total: Decimal,
    pub total_tax: Decimal,
    pub taxes: Vec<TaxShare>,
}

#[derive(Clone, Debug)]
pub(crate) struct FeeItem {
    pub id: u64,
    pub name: String,
    pub tax_class: String,
    pub taxable: bool,
    pub total: Decimal,
    pub total_tax: Decimal,
    pub taxes: Vec<TaxShare>,
}

#[derive(Clone, Debug)]
pub(crate) struct CouponItem {
    pub id: u64,
    pub code: String,
    pub discount: Decimal,
    pub discount_tax: Decimal,
}

#[derive(Clone, Debug)]
pub(crate) struct TaxItem {
    pub id: u64,
    pub rate_id: u64,
    pub rate_code: String,
    pub label: String,
    pub rate_percent: Decimal,
    pub tax_total: Decimal,
    pub shipping_tax_total: Decimal,
}

/// Everything the tax and totals calculation produces for an order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Totals {
    pub lines: Vec<LineItem>,
    pub shipping_lines: Vec<ShippingItem>,
    pub fee_lines: Vec<FeeItem>,
    pub coupon_lines: Vec<CouponItem>,
    pub tax_lines: Vec<TaxItem>,
    pub discount_total: Decimal,
    pub discount_tax: Decimal,
    pub shipping_total: Decimal,
    pub shipping_tax: Decimal,
    pub cart_tax: Decimal,
    pub total_tax: Decimal,
    pub total: Decimal,
}

#[derive(Clone, Debug)]
pub(crate) struct Order {
    pub id: u64,
    pub order_key: String,
    pub created_via: String,
    pub status: String,
    /// Status before the order went to the trash (restored on untrash).
    pub pre_trash_status: Option<String>,
    pub currency: String,
    pub date_created: DateTime<Utc>,
    pub date_modified: DateTime<Utc>,
    pub date_paid: Option<DateTime<Utc>>,
    pub date_completed: Option<DateTime<Utc>>,
    pub prices_include_tax: bool,
    pub customer_id: u64,
    pub customer_ip_address: String,
    pub customer_user_agent: String,
    pub customer_note: String,
    pub billing: Address,
    pub shipping: Address,
    pub payment_method: String,
    pub payment_method_title: String,
    pub transaction_id: String,
    pub meta: Vec<Meta>,
    pub totals: Totals,
    /// Newest first, as `WC_Order::get_refunds()` lists them.
    pub refunds: Vec<u64>,
}

impl Order {
    /// WordPress post title, which `orderby=title` sorts on.
    pub fn post_title(&self) -> String {
        let at = self.date_created + chrono::Duration::seconds(super::json::SITE_UTC_OFFSET_SECS);
        format!("Order &ndash; {}", at.format("%B %d, %Y @ %I:%M %p"))
    }

    /// WordPress post slug, which `orderby=slug` sorts on.
    pub fn post_name(&self) -> String {
        let at = self.date_created + chrono::Duration::seconds(super::json::SITE_UTC_OFFSET_SECS);
        format!("order-{}", at.format("%b-%d-%Y-%I%M-%p")).to_lowercase()
    }

    /// Searched by `?search=`: names, company, e-mail, addresses, item names, id.
    pub fn matches_search(&self, needle: &str) -> bool {
        let needle = needle.to_lowercase();
        let b = &self.billing;
        let s = &self.shipping;
        let fields = [
            &b.first_name,
            &b.last_name,
            &b.company,
            &b.email,
            &b.address_1,
            &b.city,
            &b.postcode,
            &s.first_name,
            &s.last_name,
            &s.company,
            &s.address_1,
            &s.city,
        ];
        self.id.to_string() == needle
            || fields.iter().any(|f| f.to_lowercase().contains(&needle))
            || self
                .totals
                .lines
                .iter()
                .any(|l| l.name.to_lowercase().contains(&needle))
    }

    pub fn json(&self, refunds: &[&Refund], site: &str) -> Value {
        let t = &self.totals;
        let base = format!("{site}/wp-json/wc/v3");
        let mut links = json!({
            "self": [{"href": format!("{base}/orders/{}", self.id)}],
            "collection": [{"href": format!("{base}/orders")}],
        });
        if self.customer_id > 0 {
            links["customer"] = json!([{"href": format!("{base}/customers/{}", self.customer_id)}]);
        }
        let tax_lines: Vec<Value> = t
            .tax_lines
            .iter()
            .map(|x| {
                json!({
                    "id": x.id,
                    "rate_code": x.rate_code,
                    "rate_id": x.rate_id,
                    "label": x.label,
                    "compound": false,
                    "tax_total": money(x.tax_total),
                    "shipping_tax_total": money(x.shipping_tax_total),
                    "rate_percent": number(x.rate_percent),
                    "meta_data": [],
                })
            })
            .collect();
        let shipping_lines: Vec<Value> = t
            .shipping_lines
            .iter()
            .map(|x| {
                json!({
                    "id": x.id,
                    "method_title": x.method_title,
                    "method_id": x.method_id,
                    "total": money(x.total),
                    "total_tax": money(x.total_tax),
                    "taxes": taxes_json(&x.taxes),
                    "meta_data": [],
                })
            })
            .collect();
        let fee_lines: Vec<Value> = t
            .fee_lines
            .iter()
            .map(|x| {
                json!({
                    "id": x.id,
                    "name": x.name,
                    "tax_class": x.tax_class,
                    "tax_status": if x.taxable { "taxable" } else { "none" },
                    "total": money(x.total),
                    "total_tax": money(x.total_tax),
                    "taxes": taxes_json(&x.taxes),
                    "meta_data": [],
                })
            })
            .collect();
        let coupon_lines: Vec<Value> = t
            .coupon_lines
            .iter()
            .map(|x| {
                json!({
                    "id": x.id,
                    "code": x.code,
                    "discount": money(x.discount),
                    "discount_tax": money(x.discount_tax),
                    "meta_data": [],
                })
            })
            .collect();
        let refunds: Vec<Value> = refunds
            .iter()
            .map(|r| json!({"id": r.id, "reason": r.reason, "total": money(-r.amount)}))
            .collect();
        let line_items: Vec<Value> = t.lines.iter().map(LineItem::json).collect();
        let mut order = json!({
            "id": self.id,
            "parent_id": 0,
            "number": self.id.to_string(),
            "order_key": self.order_key,
            "created_via": self.created_via,
            "version": WC_VERSION,
            "status": self.status,
            "currency": self.currency,
            "date_created": local(self.date_created),
            "date_created_gmt": gmt(self.date_created),
            "date_modified": local(self.date_modified),
            "date_modified_gmt": gmt(self.date_modified),
            "discount_total": money(t.discount_total),
            "discount_tax": money(t.discount_tax),
            "shipping_total": money(t.shipping_total),
            "shipping_tax": money(t.shipping_tax),
            "cart_tax": money(t.cart_tax),
            "total": money(t.total),
            "total_tax": money(t.total_tax),
            "prices_include_tax": self.prices_include_tax,
            "customer_id": self.customer_id,
            "customer_ip_address": self.customer_ip_address,
            "customer_user_agent": self.customer_user_agent,
            "customer_note": self.customer_note,
        });
        let tail = json!({
            "billing": self.billing.billing_json(),
            "shipping": self.shipping.shipping_json(),
            "payment_method": self.payment_method,
            "payment_method_title": self.payment_method_title,
            "transaction_id": self.transaction_id,
            "date_paid": local_opt(self.date_paid),
            "date_paid_gmt": gmt_opt(self.date_paid),
            "date_completed": local_opt(self.date_completed),
            "date_completed_gmt": gmt_opt(self.date_completed),
            "cart_hash": "",
            "meta_data": metas(&self.meta),
            "line_items": line_items,
            "tax_lines": tax_lines,
            "shipping_lines": shipping_lines,
            "fee_lines": fee_lines,
            "coupon_lines": coupon_lines,
            "refunds": refunds,
            "_links": links,
        });
        if let (Value::Object(head), Value::Object(tail)) = (&mut order, tail) {
            head.extend(tail);
        }
        order
    }
}

#[derive(Clone, Debug)]
pub(crate) struct RefundLine {
    pub id: u64,
    pub meta_id: u64,
    pub refunded_item_id: u64,
    pub name: String,
    pub product_id: u64,
    pub variation_id: u64,
    /// Refunded quantity (positive; rendered negative).
    pub quantity: u32,
    pub tax_class: String,
    /// Refunded amount excluding tax (positive; rendered negative).
    pub total: Decimal,
    /// (rate id, refunded tax), positive.
    pub taxes: Vec<(u64, Decimal)>,
    pub sku: String,
}

impl RefundLine {
    fn json(&self) -> Value {
        let tax: Decimal = self.taxes.iter().map(|(_, t)| *t).sum();
        let price = if self.quantity == 0 {
            -self.total
        } else {
            -(self.total / Decimal::from(self.quantity))
        };
        json!({
            "id": self.id,
            "name": self.name,
            "product_id": self.product_id,
            "variation_id": self.variation_id,
            "quantity": -i64::from(self.quantity),
            "tax_class": self.tax_class,
            "subtotal": money(-self.total),
            "subtotal_tax": money(-tax),
            "total": money(-self.total),
            "total_tax": money(-tax),
            "taxes": self.taxes.iter().map(|(id, t)| json!({
                "id": id, "total": unrounded(-*t), "subtotal": unrounded(-*t),
            })).collect::<Vec<_>>(),
            "meta_data": [{"id": self.meta_id, "key": "_refunded_item_id", "value": self.refunded_item_id.to_string()}],
            "sku": self.sku,
            "price": number(price),
        })
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Refund {
    pub id: u64,
    pub order_id: u64,
    pub date_created: DateTime<Utc>,
    pub amount: Decimal,
    pub reason: String,
    pub refunded_by: u64,
    pub refunded_payment: bool,
    pub lines: Vec<RefundLine>,
}

impl Refund {
    pub fn json(&self, site: &str) -> Value {
        let base = format!("{site}/wp-json/wc/v3/orders/{}", self.order_id);
        json!({
            "id": self.id,
            "date_created": local(self.date_created),
            "date_created_gmt": gmt(self.date_created),
            "amount": money(self.amount),
            "reason": self.reason,
            "refunded_by": self.refunded_by,
            "refunded_payment": self.refunded_payment,
            "meta_data": [],
            "line_items": self.lines.iter().map(RefundLine::json).collect::<Vec<_>>(),
            "_links": {
                "self": [{"href": format!("{base}/refunds/{}", self.id)}],
                "collection": [{"href": format!("{base}/refunds")}],
                "up": [{"href": base}],
            },
        })
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Customer {
    pub id: u64,
    pub date_created: DateTime<Utc>,
    pub date_modified: DateTime<Utc>,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub username: String,
    pub billing: Address,
    pub shipping: Address,
    pub is_paying_customer: bool,
}

impl Customer {
    pub fn json(&self, site: &str) -> Value {
        let base = format!("{site}/wp-json/wc/v3");
        json!({
            "id": self.id,
            "date_created": local(self.date_created),
            "date_created_gmt": gmt(self.date_created),
            "date_modified": local(self.date_modified),
            "date_modified_gmt": gmt(self.date_modified),
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "role": "customer",
            "username": self.username,
            "billing": self.billing.billing_json(),
            "shipping": self.shipping.shipping_json(),
            "is_paying_customer": self.is_paying_customer,
            "avatar_url": "https://secure.gravatar.com/avatar/?s=96&d=mm&r=g",
            "meta_data": [],
            "_links": {
                "self": [{"href": format!("{base}/customers/{}", self.id)}],
                "collection": [{"href": format!("{base}/customers")}],
            },
        })
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Product {
    pub id: u64,
    pub name: String,
    pub sku: String,
    /// As entered in the shop (excluding tax: the seeded shop enters net prices).
    pub price: Decimal,
    pub tax_class: String,
    pub category: (u64, &'static str, &'static str),
    pub is_virtual: bool,
    pub date_created: DateTime<Utc>,
}

impl Product {
    pub fn slug(&self) -> String {
        self.name
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
            .split('-')
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    }

    pub fn json(&self, site: &str) -> Value {
        // The price as entered: two decimals, or more when the shop entered more (3.333).
        let price = if self.price.scale() <= 2 {
            money(self.price)
        } else {
            self.price.normalize().to_string()
        };
        let slug = self.slug();
        let mut product = json!({
            "id": self.id,
            "name": self.name,
            "slug": slug,
            "permalink": format!("{site}/product/{slug}/"),
            "date_created": local(self.date_created),
            "date_created_gmt": gmt(self.date_created),
            "date_modified": local(self.date_created),
            "date_modified_gmt": gmt(self.date_created),
            "type": "simple",
            "status": "publish",
            "featured": false,
            "catalog_visibility": "visible",
            "description": "",
            "short_description": "",
            "sku": self.sku,
            "price": price,
            "regular_price": price,
            "sale_price": "",
            "date_on_sale_from": null,
            "date_on_sale_from_gmt": null,
            "date_on_sale_to": null,
            "date_on_sale_to_gmt": null,
            "price_html": format!("<span class=\"woocommerce-Price-amount amount\"><span class=\"woocommerce-Price-currencySymbol\">&euro;</span>{price}</span>"),
            "on_sale": false,
            "purchasable": true,
            "total_sales": 0,
            "virtual": self.is_virtual,
            "downloadable": false,
            "downloads": [],
            "download_limit": -1,
            "download_expiry": -1,
            "external_url": "",
            "button_text": "",
        });
        let tail = json!({
            "tax_status": "taxable",
            "tax_class": self.tax_class,
            "manage_stock": false,
            "stock_quantity": null,
            "stock_status": "instock",
            "backorders": "no",
            "backorders_allowed": false,
            "backordered": false,
            "sold_individually": false,
            "weight": "",
            "dimensions": {"length": "", "width": "", "height": ""},
            "shipping_required": !self.is_virtual,
            "shipping_taxable": !self.is_virtual,
            "shipping_class": "",
            "shipping_class_id": 0,
            "reviews_allowed": true,
            "average_rating": "0.00",
            "rating_count": 0,
            "related_ids": [],
            "upsell_ids": [],
            "cross_sell_ids": [],
            "parent_id": 0,
            "purchase_note": "",
            "categories": [{"id": self.category.0, "name": self.category.1, "slug": self.category.2}],
            "tags": [],
            "images": [],
            "attributes": [],
            "default_attributes": [],
            "variations": [],
            "grouped_products": [],
            "menu_order": 0,
            "meta_data": [],
            "_links": {
                "self": [{"href": format!("{site}/wp-json/wc/v3/products/{}", self.id)}],
                "collection": [{"href": format!("{site}/wp-json/wc/v3/products")}],
            },
        });
        if let (Value::Object(head), Value::Object(tail)) = (&mut product, tail) {
            head.extend(tail);
        }
        product
    }
}

#[derive(Clone, Debug)]
pub(crate) struct TaxRate {
    pub id: u64,
    pub country: String,
    pub rate: Decimal,
    pub name: String,
    pub priority: u32,
    pub shipping: bool,
    pub order: u32,
    /// "standard", "reduced-rate", "zero-rate".
    pub class: String,
}

impl TaxRate {
    /// `WC_Tax::get_rate_code()`: COUNTRY-STATE-NAME-PRIORITY, empty parts dropped, upper case.
    pub fn code(&self) -> String {
        let priority = self.priority.to_string();
        let name = if self.name.is_empty() {
            "TAX"
        } else {
            &self.name
        };
        [self.country.as_str(), name, priority.as_str()]
            .into_iter()
            .filter(|part| !part.is_empty() && *part != "0")
            .collect::<Vec<_>>()
            .join("-")
            .to_uppercase()
    }

    /// The line item `tax_class` slug for this rate's class ("" for standard).
    pub fn item_class(&self) -> &str {
        if self.class == "standard" {
            ""
        } else {
            &self.class
        }
    }

    pub fn json(&self, site: &str) -> Value {
        let mut rate = self.rate;
        rate.rescale(4);
        json!({
            "id": self.id,
            "country": self.country,
            "state": "",
            "postcode": "",
            "city": "",
            "postcodes": [],
            "cities": [],
            "rate": rate.to_string(),
            "name": self.name,
            "priority": self.priority,
            "compound": false,
            "shipping": self.shipping,
            "order": self.order,
            "class": self.class,
            "_links": {
                "self": [{"href": format!("{site}/wp-json/wc/v3/taxes/{}", self.id)}],
                "collection": [{"href": format!("{site}/wp-json/wc/v3/taxes")}],
            },
        })
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Webhook {
    pub id: u64,
    pub name: String,
    /// active, paused or disabled.
    pub status: String,
    pub topic: String,
    pub delivery_url: String,
    pub secret: String,
    pub date_created: DateTime<Utc>,
    pub date_modified: DateTime<Utc>,
    /// Consecutive failed deliveries.
    pub failure_count: u32,
}

impl Webhook {
    pub fn resource(&self) -> &str {
        self.topic.split('.').next().unwrap_or_default()
    }

    pub fn event(&self) -> &str {
        self.topic.split_once('.').map_or("", |(_, e)| e)
    }

    fn hooks(&self) -> Vec<String> {
        let fixed: &[&str] = match self.topic.as_str() {
            "order.created" => &["woocommerce_new_order"],
            "order.updated" => &[
                "woocommerce_process_shop_order_meta",
                "woocommerce_api_edit_order",
                "woocommerce_order_edit_status",
                "woocommerce_order_status_changed",
            ],
            "order.deleted" => &["wp_trash_post"],
            "order.restored" => &["untrashed_post"],
            "customer.created" => &[
                "user_register",
                "woocommerce_created_customer",
                "woocommerce_api_create_customer",
            ],
            "customer.updated" => &["profile_update", "woocommerce_update_customer"],
            "customer.deleted" => &["delete_user"],
            "coupon.created" => &[
                "woocommerce_process_shop_coupon_meta",
                "woocommerce_api_create_coupon",
            ],
            "coupon.updated" => &[
                "woocommerce_process_shop_coupon_meta",
                "woocommerce_api_edit_coupon",
            ],
            "coupon.deleted" | "product.deleted" => &["wp_trash_post"],
            "coupon.restored" | "product.restored" => &["untrashed_post"],
            "product.created" => &[
                "woocommerce_process_product_meta",
                "woocommerce_api_create_product",
            ],
            "product.updated" => &[
                "woocommerce_process_product_meta",
                "woocommerce_api_edit_product",
            ],
            _ => &[],
        };
        if fixed.is_empty() {
            if let Some(action) = self.topic.strip_prefix("action.") {
                return vec![action.to_string()];
            }
        }
        fixed.iter().map(|s| s.to_string()).collect()
    }

    pub fn json(&self, site: &str) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "topic": self.topic,
            "resource": self.resource(),
            "event": self.event(),
            "hooks": self.hooks(),
            "delivery_url": self.delivery_url,
            "date_created": local(self.date_created),
            "date_created_gmt": gmt(self.date_created),
            "date_modified": local(self.date_modified),
            "date_modified_gmt": gmt(self.date_modified),
            "_links": {
                "self": [{"href": format!("{site}/wp-json/wc/v3/webhooks/{}", self.id)}],
                "collection": [{"href": format!("{site}/wp-json/wc/v3/webhooks")}],
            },
        })
    }
}

/// `wc_is_webhook_valid_topic()`.
pub(crate) fn valid_topic(topic: &str) -> bool {
    if let Some(action) = topic.strip_prefix("action.") {
        return !action.is_empty();
    }
    match topic.split_once('.') {
        Some((resource, event)) => {
            ["coupon", "customer", "order", "product"].contains(&resource)
                && ["created", "updated", "deleted", "restored"].contains(&event)
        }
        None => false,
    }
}
