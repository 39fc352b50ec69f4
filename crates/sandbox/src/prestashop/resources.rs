//! The resources the emulated webservice key may read, with their fields as PrestaShop 1.7/8
//! lists them (reference `docs/resources/*.md`, recorded `examples/`), and how each entity of
//! the shop becomes a record.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;

use super::calc::{fixed, money, rate};
use super::model::{Order, OrderTotals};
use super::schema::{date, dynamic, int, lang, link, num, text, AssocDef, Build, Record, Schema};
use super::seed::{self, SHOP_ADDRESS, SHOP_NAME};
use super::shop::Shop;

/// Every resource of PrestaShop's webservice (`WebserviceRequest::getResources()`); those the
/// emulated key has no permission for answer 401, unknown names 400.
pub(crate) const ALL_RESOURCES: [&str; 69] = [
    "addresses",
    "attachments",
    "carriers",
    "cart_rules",
    "carts",
    "categories",
    "combinations",
    "configurations",
    "contacts",
    "content_management_system",
    "countries",
    "currencies",
    "customer_messages",
    "customer_threads",
    "customers",
    "customizations",
    "deliveries",
    "employees",
    "groups",
    "guests",
    "image_types",
    "images",
    "languages",
    "manufacturers",
    "messages",
    "order_carriers",
    "order_cart_rules",
    "order_details",
    "order_histories",
    "order_invoices",
    "order_payments",
    "order_slip",
    "order_states",
    "orders",
    "price_ranges",
    "product_customization_fields",
    "product_feature_values",
    "product_features",
    "product_option_values",
    "product_options",
    "product_suppliers",
    "products",
    "search",
    "shop_groups",
    "shop_urls",
    "shops",
    "specific_price_rules",
    "specific_prices",
    "states",
    "stock_availables",
    "stock_movement_reasons",
    "stock_movements",
    "stocks",
    "stores",
    "suppliers",
    "supply_order_details",
    "supply_order_histories",
    "supply_order_receipt_histories",
    "supply_order_states",
    "supply_orders",
    "tags",
    "tax_rule_groups",
    "tax_rules",
    "taxes",
    "translated_configurations",
    "warehouse_product_locations",
    "warehouses",
    "weight_ranges",
    "zones",
];

/// A readable resource: its schema and how to list its records (in id order).
pub(crate) struct Resource {
    pub schema: &'static Schema,
    pub records: fn(&Shop) -> Vec<Record>,
}

/// What the emulated key may read (GET and HEAD), in `/api/` order.
pub(crate) static RESOURCES: [Resource; 22] = [
    Resource {
        schema: &ADDRESSES,
        records: addresses,
    },
    Resource {
        schema: &CARRIERS,
        records: carriers,
    },
    Resource {
        schema: &CATEGORIES,
        records: categories,
    },
    Resource {
        schema: &COUNTRIES,
        records: countries,
    },
    Resource {
        schema: &CURRENCIES,
        records: currencies,
    },
    Resource {
        schema: &CUSTOMERS,
        records: customers,
    },
    Resource {
        schema: &LANGUAGES,
        records: languages,
    },
    Resource {
        schema: &ORDER_CARRIERS,
        records: order_carriers,
    },
    Resource {
        schema: &ORDER_CART_RULES,
        records: order_cart_rules,
    },
    Resource {
        schema: &ORDER_DETAILS,
        records: order_details,
    },
    Resource {
        schema: &ORDER_HISTORIES,
        records: order_histories,
    },
    Resource {
        schema: &ORDER_INVOICES,
        records: order_invoices,
    },
    Resource {
        schema: &ORDER_PAYMENTS,
        records: order_payments,
    },
    Resource {
        schema: &ORDER_SLIP,
        records: order_slips,
    },
    Resource {
        schema: &ORDER_STATES,
        records: order_states,
    },
    Resource {
        schema: &ORDERS,
        records: orders,
    },
    Resource {
        schema: &PRODUCTS,
        records: products,
    },
    Resource {
        schema: &SHOP_GROUPS,
        records: shop_groups,
    },
    Resource {
        schema: &SHOPS,
        records: shops,
    },
    Resource {
        schema: &TAX_RULE_GROUPS,
        records: tax_rule_groups,
    },
    Resource {
        schema: &TAX_RULES,
        records: tax_rules,
    },
    Resource {
        schema: &TAXES,
        records: taxes,
    },
];

pub(crate) fn find(name: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.schema.resource == name)
}

const NO_DATE: &str = "0000-00-00 00:00:00";

fn b(value: bool) -> String {
    if value { "1" } else { "0" }.to_string()
}

fn dt(value: NaiveDateTime) -> String {
    value.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn dt_opt(value: Option<NaiveDateTime>) -> String {
    value.map_or_else(|| NO_DATE.to_string(), dt)
}

fn s(value: impl ToString) -> String {
    value.to_string()
}

// ----- orders and what hangs off them -------------------------------------------------------

pub(crate) static ORDERS: Schema = Schema {
    resource: "orders",
    list_node: "orders",
    node: "order",
    description: "The Customers orders",
    fields: &[
        int("id"),
        link("id_address_delivery", "addresses"),
        link("id_address_invoice", "addresses"),
        link("id_cart", "carts"),
        link("id_currency", "currencies"),
        link("id_lang", "languages"),
        link("id_customer", "customers"),
        link("id_carrier", "carriers"),
        link("current_state", "order_states"),
        text("module"),
        int("invoice_number"),
        date("invoice_date"),
        int("delivery_number"),
        date("delivery_date"),
        int("valid"),
        date("date_add"),
        date("date_upd"),
        dynamic(text("shipping_number")),
        text("note"),
        int("id_shop_group"),
        int("id_shop"),
        text("secure_key"),
        text("payment"),
        int("recyclable"),
        int("gift"),
        text("gift_message"),
        int("mobile_theme"),
        num("total_discounts"),
        num("total_discounts_tax_incl"),
        num("total_discounts_tax_excl"),
        num("total_paid"),
        num("total_paid_tax_incl"),
        num("total_paid_tax_excl"),
        num("total_paid_real"),
        num("total_products"),
        num("total_products_wt"),
        num("total_shipping"),
        num("total_shipping_tax_incl"),
        num("total_shipping_tax_excl"),
        num("carrier_tax_rate"),
        num("total_wrapping"),
        num("total_wrapping_tax_incl"),
        num("total_wrapping_tax_excl"),
        int("round_mode"),
        int("round_type"),
        num("conversion_rate"),
        text("reference"),
    ],
    assocs: &[AssocDef {
        name: "order_rows",
        node: "order_row",
        api: None,
        fields: &[
            int("id"),
            link("product_id", "products"),
            int("product_attribute_id"),
            int("product_quantity"),
            text("product_name"),
            text("product_reference"),
            text("product_ean13"),
            text("product_isbn"),
            text("product_upc"),
            num("product_price"),
            link("id_customization", "customizations"),
            num("unit_price_tax_incl"),
            num("unit_price_tax_excl"),
        ],
    }],
};

/// `PS_PRICE_ROUND_MODE` half up.
const ROUND_MODE: &str = "2";
/// `PS_ROUND_TYPE` round each item (`Order::ROUND_ITEM`).
const ROUND_TYPE: &str = "1";

fn orders(shop: &Shop) -> Vec<Record> {
    shop.orders.values().map(|o| order(shop, o)).collect()
}

pub(crate) fn order(shop: &Shop, o: &Order) -> Record {
    let t = &o.totals;
    let mut build = Build::new(&ORDERS, o.id)
        .set("id_address_delivery", s(o.id_address_delivery))
        .set("id_address_invoice", s(o.id_address_invoice))
        .set("id_cart", s(o.id_cart))
        .set("id_currency", s(o.id_currency))
        .set("id_lang", "1")
        .set("id_customer", s(o.id_customer))
        .set("id_carrier", s(o.id_carrier))
        .set("current_state", s(o.current_state))
        .set("module", o.module.clone())
        .set("invoice_number", s(o.invoice_number))
        .set("invoice_date", dt_opt(o.invoice_date))
        .set("delivery_number", s(o.delivery_number))
        .set("delivery_date", dt_opt(o.delivery_date))
        .set("valid", b(o.valid))
        .set("date_add", dt(o.date_add))
        .set("date_upd", dt(o.date_upd))
        .set("shipping_number", o.shipping_number.clone())
        .set("note", o.note.clone())
        .set("id_shop_group", "1")
        .set("id_shop", "1")
        .set("secure_key", o.secure_key.clone())
        .set("payment", o.payment.clone())
        .set("recyclable", "0")
        .set("gift", b(o.gift))
        .set("gift_message", o.gift_message.clone())
        .set("mobile_theme", "0")
        .set("total_discounts", money(t.discounts_tax_incl))
        .set("total_discounts_tax_incl", money(t.discounts_tax_incl))
        .set("total_discounts_tax_excl", money(t.discounts_tax_excl))
        .set("total_paid", money(t.paid_tax_incl))
        .set("total_paid_tax_incl", money(t.paid_tax_incl))
        .set("total_paid_tax_excl", money(t.paid_tax_excl))
        .set("total_paid_real", money(t.paid_real))
        .set("total_products", money(t.products))
        .set("total_products_wt", money(t.products_wt))
        .set("total_shipping", money(t.shipping_tax_incl))
        .set("total_shipping_tax_incl", money(t.shipping_tax_incl))
        .set("total_shipping_tax_excl", money(t.shipping_tax_excl))
        .set("carrier_tax_rate", rate(t.carrier_tax_rate))
        .set("total_wrapping", money(t.wrapping_tax_incl))
        .set("total_wrapping_tax_incl", money(t.wrapping_tax_incl))
        .set("total_wrapping_tax_excl", money(t.wrapping_tax_excl))
        .set("round_mode", ROUND_MODE)
        .set("round_type", ROUND_TYPE)
        .set("conversion_rate", money(o.conversion_rate))
        .set("reference", o.reference.clone());
    for d in shop.order_details(o.id) {
        build = build.item(
            "order_rows",
            &[
                ("id", s(d.id)),
                ("product_id", s(d.product_id)),
                ("product_attribute_id", s(d.product_attribute_id)),
                ("product_quantity", s(d.quantity)),
                ("product_name", d.product_name.clone()),
                ("product_reference", d.product_reference.clone()),
                ("product_ean13", d.product_ean13.clone()),
                ("product_isbn", String::new()),
                ("product_upc", String::new()),
                ("product_price", money(d.product_price)),
                ("id_customization", "0".to_string()),
                ("unit_price_tax_incl", money(d.unit_price_tax_incl)),
                ("unit_price_tax_excl", money(d.unit_price_tax_excl)),
            ],
        );
    }
    build.done()
}

pub(crate) static ORDER_DETAILS: Schema = Schema {
    resource: "order_details",
    list_node: "order_details",
    node: "order_detail",
    description: "Details of an order",
    fields: &[
        int("id"),
        link("id_order", "orders"),
        link("product_id", "products"),
        link("product_attribute_id", "combinations"),
        int("product_quantity_reinjected"),
        num("group_reduction"),
        int("discount_quantity_applied"),
        text("download_hash"),
        date("download_deadline"),
        int("id_order_invoice"),
        int("id_warehouse"),
        int("id_shop"),
        int("id_customization"),
        text("product_name"),
        int("product_quantity"),
        int("product_quantity_in_stock"),
        int("product_quantity_return"),
        int("product_quantity_refunded"),
        num("product_price"),
        num("reduction_percent"),
        num("reduction_amount"),
        num("reduction_amount_tax_incl"),
        num("reduction_amount_tax_excl"),
        num("product_quantity_discount"),
        text("product_ean13"),
        text("product_isbn"),
        text("product_upc"),
        text("product_mpn"),
        text("product_reference"),
        text("product_supplier_reference"),
        num("product_weight"),
        int("tax_computation_method"),
        int("id_tax_rules_group"),
        num("ecotax"),
        num("ecotax_tax_rate"),
        int("download_nb"),
        num("unit_price_tax_incl"),
        num("unit_price_tax_excl"),
        num("total_price_tax_incl"),
        num("total_price_tax_excl"),
        num("total_shipping_price_tax_excl"),
        num("total_shipping_price_tax_incl"),
        num("purchase_supplier_price"),
        num("original_product_price"),
        num("original_wholesale_price"),
        num("total_refunded_tax_excl"),
        num("total_refunded_tax_incl"),
    ],
    assocs: &[AssocDef {
        name: "taxes",
        node: "tax",
        api: Some("taxes"),
        fields: &[int("id")],
    }],
};

fn order_details(shop: &Shop) -> Vec<Record> {
    let zero = money(Decimal::ZERO);
    shop.details
        .values()
        .map(|d| {
            let build = Build::new(&ORDER_DETAILS, d.id)
                .set("id_order", s(d.id_order))
                .set("product_id", s(d.product_id))
                .set("product_attribute_id", s(d.product_attribute_id))
                .set("product_quantity_reinjected", "0")
                .set("group_reduction", "0.00")
                .set("discount_quantity_applied", "0")
                .set("download_hash", "")
                .set("download_deadline", NO_DATE)
                .set("id_order_invoice", s(d.id_order_invoice))
                .set("id_warehouse", "0")
                .set("id_shop", "1")
                .set("id_customization", "0")
                .set("product_name", d.product_name.clone())
                .set("product_quantity", s(d.quantity))
                .set("product_quantity_in_stock", s(d.quantity))
                .set("product_quantity_return", "0")
                .set("product_quantity_refunded", s(d.quantity_refunded))
                .set("product_price", money(d.product_price))
                .set("reduction_percent", "0.00")
                .set("reduction_amount", zero.clone())
                .set("reduction_amount_tax_incl", zero.clone())
                .set("reduction_amount_tax_excl", zero.clone())
                .set("product_quantity_discount", zero.clone())
                .set("product_ean13", d.product_ean13.clone())
                .set("product_reference", d.product_reference.clone())
                .set("product_weight", money(d.product_weight))
                .set("tax_computation_method", "0")
                .set("id_tax_rules_group", s(d.id_tax_rules_group))
                .set("ecotax", zero.clone())
                .set("ecotax_tax_rate", rate(Decimal::ZERO))
                .set("download_nb", "0")
                .set("unit_price_tax_incl", money(d.unit_price_tax_incl))
                .set("unit_price_tax_excl", money(d.unit_price_tax_excl))
                .set("total_price_tax_incl", money(d.total_price_tax_incl))
                .set("total_price_tax_excl", money(d.total_price_tax_excl))
                .set("total_shipping_price_tax_excl", zero.clone())
                .set("total_shipping_price_tax_incl", zero.clone())
                .set("purchase_supplier_price", money(d.original_wholesale_price))
                .set("original_product_price", money(d.original_product_price))
                .set(
                    "original_wholesale_price",
                    money(d.original_wholesale_price),
                )
                .set("total_refunded_tax_excl", money(d.total_refunded_tax_excl))
                .set("total_refunded_tax_incl", money(d.total_refunded_tax_incl));
            match d.id_tax {
                Some(tax) => build.item("taxes", &[("id", s(tax))]),
                None => build,
            }
            .done()
        })
        .collect()
}

pub(crate) static ORDER_HISTORIES: Schema = Schema {
    resource: "order_histories",
    list_node: "order_histories",
    node: "order_history",
    description: "The Order histories",
    fields: &[
        int("id"),
        link("id_employee", "employees"),
        link("id_order_state", "order_states"),
        link("id_order", "orders"),
        date("date_add"),
    ],
    assocs: &[],
};

fn order_histories(shop: &Shop) -> Vec<Record> {
    shop.histories
        .values()
        .map(|h| {
            Build::new(&ORDER_HISTORIES, h.id)
                .set("id_employee", s(h.id_employee))
                .set("id_order_state", s(h.id_order_state))
                .set("id_order", s(h.id_order))
                .set("date_add", dt(h.date_add))
                .done()
        })
        .collect()
}

pub(crate) static ORDER_STATES: Schema = Schema {
    resource: "order_states",
    list_node: "order_states",
    node: "order_state",
    description: "The Order statuses",
    fields: &[
        int("id"),
        int("unremovable"),
        int("delivery"),
        int("hidden"),
        int("send_email"),
        text("module_name"),
        int("invoice"),
        text("color"),
        int("logable"),
        int("shipped"),
        int("paid"),
        int("pdf_delivery"),
        int("pdf_invoice"),
        int("deleted"),
        lang("name"),
        lang("template"),
    ],
    assocs: &[],
};

fn order_states(shop: &Shop) -> Vec<Record> {
    shop.states
        .values()
        .map(|st| {
            Build::new(&ORDER_STATES, st.id)
                .set("unremovable", b(st.unremovable))
                .set("delivery", b(st.delivery))
                .set("hidden", b(st.hidden))
                .set("send_email", b(st.send_email))
                .set("module_name", st.module_name.clone())
                .set("invoice", b(st.invoice))
                .set("color", st.color.clone())
                .set("logable", b(st.logable))
                .set("shipped", b(st.shipped))
                .set("paid", b(st.paid))
                .set("pdf_delivery", b(st.pdf_delivery))
                .set("pdf_invoice", b(st.pdf_invoice))
                .set("deleted", "0")
                .set("name", st.name.clone())
                .set("template", st.template.clone())
                .done()
        })
        .collect()
}

pub(crate) static ORDER_SLIP: Schema = Schema {
    resource: "order_slip",
    list_node: "order_slips",
    node: "order_slip",
    description: "The Order slips (used for refund)",
    fields: &[
        int("id"),
        link("id_customer", "customers"),
        link("id_order", "orders"),
        num("conversion_rate"),
        num("total_products_tax_excl"),
        num("total_products_tax_incl"),
        num("total_shipping_tax_excl"),
        num("total_shipping_tax_incl"),
        num("amount"),
        int("shipping_cost"),
        num("shipping_cost_amount"),
        int("partial"),
        date("date_add"),
        date("date_upd"),
        int("order_slip_type"),
    ],
    assocs: &[AssocDef {
        name: "order_slip_details",
        node: "order_slip_detail",
        api: None,
        fields: &[
            int("id"),
            int("id_order_detail"),
            int("product_quantity"),
            num("amount_tax_excl"),
            num("amount_tax_incl"),
        ],
    }],
};

fn order_slips(shop: &Shop) -> Vec<Record> {
    shop.slips
        .values()
        .map(|slip| {
            let mut build = Build::new(&ORDER_SLIP, slip.id)
                .set("id_customer", s(slip.id_customer))
                .set("id_order", s(slip.id_order))
                .set("conversion_rate", money(slip.conversion_rate))
                .set(
                    "total_products_tax_excl",
                    money(slip.total_products_tax_excl),
                )
                .set(
                    "total_products_tax_incl",
                    money(slip.total_products_tax_incl),
                )
                .set(
                    "total_shipping_tax_excl",
                    money(slip.total_shipping_tax_excl),
                )
                .set(
                    "total_shipping_tax_incl",
                    money(slip.total_shipping_tax_incl),
                )
                .set("amount", money(slip.amount))
                .set("shipping_cost", b(slip.shipping_cost))
                .set("shipping_cost_amount", money(slip.total_shipping_tax_incl))
                .set("partial", b(slip.partial))
                .set("date_add", dt(slip.date_add))
                .set("date_upd", dt(slip.date_upd))
                .set("order_slip_type", s(slip.order_slip_type));
            for d in &slip.details {
                // `getWsOrderSlipDetails()` selects `id_order_slip AS id`.
                build = build.item(
                    "order_slip_details",
                    &[
                        ("id", s(slip.id)),
                        ("id_order_detail", s(d.id_order_detail)),
                        ("product_quantity", s(d.quantity)),
                        ("amount_tax_excl", money(d.amount_tax_excl)),
                        ("amount_tax_incl", money(d.amount_tax_incl)),
                    ],
                );
            }
            build.done()
        })
        .collect()
}

pub(crate) static ORDER_INVOICES: Schema = Schema {
    resource: "order_invoices",
    list_node: "order_invoices",
    node: "order_invoice",
    description: "The Order invoices",
    fields: &[
        int("id"),
        link("id_order", "orders"),
        int("number"),
        int("delivery_number"),
        date("delivery_date"),
        num("total_discount_tax_excl"),
        num("total_discount_tax_incl"),
        num("total_paid_tax_excl"),
        num("total_paid_tax_incl"),
        num("total_products"),
        num("total_products_wt"),
        num("total_shipping_tax_excl"),
        num("total_shipping_tax_incl"),
        int("shipping_tax_computation_method"),
        num("total_wrapping_tax_excl"),
        num("total_wrapping_tax_incl"),
        text("shop_address"),
        text("note"),
        date("date_add"),
    ],
    assocs: &[],
};

fn order_invoices(shop: &Shop) -> Vec<Record> {
    shop.invoices
        .values()
        .map(|i| {
            let t: &OrderTotals = &i.totals;
            Build::new(&ORDER_INVOICES, i.id)
                .set("id_order", s(i.id_order))
                .set("number", s(i.number))
                .set("delivery_number", s(i.delivery_number))
                .set("delivery_date", dt_opt(i.delivery_date))
                .set("total_discount_tax_excl", money(t.discounts_tax_excl))
                .set("total_discount_tax_incl", money(t.discounts_tax_incl))
                .set("total_paid_tax_excl", money(t.paid_tax_excl))
                .set("total_paid_tax_incl", money(t.paid_tax_incl))
                .set("total_products", money(t.products))
                .set("total_products_wt", money(t.products_wt))
                .set("total_shipping_tax_excl", money(t.shipping_tax_excl))
                .set("total_shipping_tax_incl", money(t.shipping_tax_incl))
                .set("shipping_tax_computation_method", "0")
                .set("total_wrapping_tax_excl", money(t.wrapping_tax_excl))
                .set("total_wrapping_tax_incl", money(t.wrapping_tax_incl))
                .set("shop_address", SHOP_ADDRESS)
                .set("note", "")
                .set("date_add", dt(i.date_add))
                .done()
        })
        .collect()
}

pub(crate) static ORDER_PAYMENTS: Schema = Schema {
    resource: "order_payments",
    list_node: "order_payments",
    node: "order_payment",
    description: "The Order payments",
    fields: &[
        int("id"),
        text("order_reference"),
        link("id_currency", "currencies"),
        num("amount"),
        text("payment_method"),
        num("conversion_rate"),
        text("transaction_id"),
        text("card_number"),
        text("card_brand"),
        text("card_expiration"),
        text("card_holder"),
        date("date_add"),
    ],
    assocs: &[],
};

fn order_payments(shop: &Shop) -> Vec<Record> {
    shop.payments
        .values()
        .map(|p| {
            Build::new(&ORDER_PAYMENTS, p.id)
                .set("order_reference", p.order_reference.clone())
                .set("id_currency", s(p.id_currency))
                .set("amount", money(p.amount))
                .set("payment_method", p.payment_method.clone())
                .set("conversion_rate", money(p.conversion_rate))
                .set("transaction_id", p.transaction_id.clone())
                .set("date_add", dt(p.date_add))
                .done()
        })
        .collect()
}

pub(crate) static ORDER_CARRIERS: Schema = Schema {
    resource: "order_carriers",
    list_node: "order_carriers",
    node: "order_carrier",
    description: "The Order carriers",
    fields: &[
        int("id"),
        link("id_order", "orders"),
        link("id_carrier", "carriers"),
        link("id_order_invoice", "order_invoices"),
        num("weight"),
        num("shipping_cost_tax_excl"),
        num("shipping_cost_tax_incl"),
        text("tracking_number"),
        date("date_add"),
    ],
    assocs: &[],
};

fn order_carriers(shop: &Shop) -> Vec<Record> {
    shop.order_carriers
        .values()
        .map(|c| {
            Build::new(&ORDER_CARRIERS, c.id)
                .set("id_order", s(c.id_order))
                .set("id_carrier", s(c.id_carrier))
                .set("id_order_invoice", s(c.id_order_invoice))
                .set("weight", money(c.weight))
                .set("shipping_cost_tax_excl", money(c.shipping_cost_tax_excl))
                .set("shipping_cost_tax_incl", money(c.shipping_cost_tax_incl))
                .set("tracking_number", c.tracking_number.clone())
                .set("date_add", dt(c.date_add))
                .done()
        })
        .collect()
}

pub(crate) static ORDER_CART_RULES: Schema = Schema {
    resource: "order_cart_rules",
    list_node: "order_cart_rules",
    node: "order_cart_rule",
    description: "The Order cart rules",
    fields: &[
        int("id"),
        link("id_order", "orders"),
        link("id_cart_rule", "cart_rules"),
        link("id_order_invoice", "order_invoices"),
        text("name"),
        num("value"),
        num("value_tax_excl"),
        int("free_shipping"),
        int("deleted"),
    ],
    assocs: &[],
};

fn order_cart_rules(shop: &Shop) -> Vec<Record> {
    shop.cart_rules
        .values()
        .map(|r| {
            // `order_cart_rule.value` and `value_tax_excl` are `decimal(17,2)`.
            Build::new(&ORDER_CART_RULES, r.id)
                .set("id_order", s(r.id_order))
                .set("id_cart_rule", s(r.id_cart_rule))
                .set("id_order_invoice", s(r.id_order_invoice))
                .set("name", r.name.clone())
                .set("value", fixed(r.value, 2))
                .set("value_tax_excl", fixed(r.value_tax_excl, 2))
                .set("free_shipping", "0")
                .set("deleted", "0")
                .done()
        })
        .collect()
}

// ----- customers and addresses ------------------------------------------------------------

pub(crate) static CUSTOMERS: Schema = Schema {
    resource: "customers",
    list_node: "customers",
    node: "customer",
    description: "The e-shop's customers",
    fields: &[
        int("id"),
        link("id_default_group", "groups"),
        link("id_lang", "languages"),
        date("newsletter_date_add"),
        text("ip_registration_newsletter"),
        date("last_passwd_gen"),
        text("secure_key"),
        int("deleted"),
        text("passwd"),
        text("lastname"),
        text("firstname"),
        text("email"),
        int("id_gender"),
        date("birthday"),
        int("newsletter"),
        int("optin"),
        text("website"),
        text("company"),
        text("siret"),
        text("ape"),
        num("outstanding_allow_amount"),
        int("show_public_prices"),
        int("id_risk"),
        int("max_payment_days"),
        int("active"),
        text("note"),
        int("is_guest"),
        int("id_shop"),
        int("id_shop_group"),
        date("date_add"),
        date("date_upd"),
        text("reset_password_token"),
        date("reset_password_validity"),
    ],
    assocs: &[AssocDef {
        name: "groups",
        node: "group",
        api: Some("groups"),
        fields: &[int("id")],
    }],
};

fn customers(shop: &Shop) -> Vec<Record> {
    shop.customers
        .values()
        .map(|c| {
            // Group 2 is "Guest", 3 "Customer".
            let group = if c.is_guest { "2" } else { "3" };
            Build::new(&CUSTOMERS, c.id)
                .set("id_default_group", group)
                .set("id_lang", "1")
                .set("newsletter_date_add", NO_DATE)
                .set("ip_registration_newsletter", "")
                .set("last_passwd_gen", dt(c.date_add))
                .set("secure_key", c.secure_key.clone())
                .set("deleted", "0")
                .set("passwd", c.passwd.clone())
                .set("lastname", c.lastname.clone())
                .set("firstname", c.firstname.clone())
                .set("email", c.email.clone())
                .set("id_gender", "0")
                .set("birthday", "0000-00-00")
                .set("newsletter", "0")
                .set("optin", "0")
                .set("company", c.company.clone())
                .set("outstanding_allow_amount", money(Decimal::ZERO))
                .set("show_public_prices", "0")
                .set("id_risk", "0")
                .set("max_payment_days", "0")
                .set("active", "1")
                .set("is_guest", b(c.is_guest))
                .set("id_shop", "1")
                .set("id_shop_group", "1")
                .set("date_add", dt(c.date_add))
                .set("date_upd", dt(c.date_upd))
                .set("reset_password_validity", NO_DATE)
                .item("groups", &[("id", group.to_string())])
                .done()
        })
        .collect()
}

pub(crate) static ADDRESSES: Schema = Schema {
    resource: "addresses",
    list_node: "addresses",
    node: "address",
    description: "The Customer, Brand and Customer addresses",
    fields: &[
        int("id"),
        link("id_customer", "customers"),
        link("id_manufacturer", "manufacturers"),
        link("id_supplier", "suppliers"),
        link("id_warehouse", "warehouses"),
        link("id_country", "countries"),
        link("id_state", "states"),
        text("alias"),
        text("company"),
        text("lastname"),
        text("firstname"),
        text("vat_number"),
        text("address1"),
        text("address2"),
        text("postcode"),
        text("city"),
        text("other"),
        text("phone"),
        text("phone_mobile"),
        text("dni"),
        int("deleted"),
        date("date_add"),
        date("date_upd"),
    ],
    assocs: &[],
};

fn addresses(shop: &Shop) -> Vec<Record> {
    shop.addresses
        .values()
        .map(|a| {
            Build::new(&ADDRESSES, a.id)
                .set("id_customer", s(a.id_customer))
                .set("id_manufacturer", "0")
                .set("id_supplier", "0")
                .set("id_warehouse", "0")
                .set("id_country", s(a.id_country))
                .set("id_state", "0")
                .set("alias", a.alias.clone())
                .set("company", a.company.clone())
                .set("lastname", a.lastname.clone())
                .set("firstname", a.firstname.clone())
                .set("vat_number", a.vat_number.clone())
                .set("address1", a.address1.clone())
                .set("address2", a.address2.clone())
                .set("postcode", a.postcode.clone())
                .set("city", a.city.clone())
                .set("phone", a.phone.clone())
                .set("phone_mobile", a.phone_mobile.clone())
                .set("deleted", "0")
                .set("date_add", dt(a.date_add))
                .set("date_upd", dt(a.date_upd))
                .done()
        })
        .collect()
}

// ----- base data ----------------------------------------------------------------------------

pub(crate) static COUNTRIES: Schema = Schema {
    resource: "countries",
    list_node: "countries",
    node: "country",
    description: "The countries available on the shop",
    fields: &[
        int("id"),
        link("id_zone", "zones"),
        link("id_currency", "currencies"),
        int("call_prefix"),
        text("iso_code"),
        int("active"),
        int("contains_states"),
        int("need_identification_number"),
        int("need_zip_code"),
        text("zip_code_format"),
        int("display_tax_label"),
        lang("name"),
    ],
    assocs: &[],
};

fn countries(shop: &Shop) -> Vec<Record> {
    let mut list: Vec<_> = shop.countries.iter().collect();
    list.sort_by_key(|c| c.id);
    list.into_iter()
        .map(|c| {
            Build::new(&COUNTRIES, c.id)
                .set("id_zone", s(c.id_zone))
                .set("id_currency", "0")
                .set("call_prefix", s(c.call_prefix))
                .set("iso_code", c.iso_code.clone())
                .set("active", "1")
                .set("contains_states", b(c.contains_states))
                .set("need_identification_number", "0")
                .set("need_zip_code", b(!c.zip_code_format.is_empty()))
                .set("zip_code_format", c.zip_code_format.clone())
                .set("display_tax_label", "1")
                .set("name", c.name.clone())
                .done()
        })
        .collect()
}

pub(crate) static CURRENCIES: Schema = Schema {
    resource: "currencies",
    list_node: "currencies",
    node: "currency",
    description: "The currencies installed on the shop",
    fields: &[
        int("id"),
        lang("names"),
        dynamic(text("name")),
        lang("symbol"),
        text("iso_code"),
        text("numeric_iso_code"),
        int("precision"),
        num("conversion_rate"),
        int("deleted"),
        int("active"),
        int("unofficial"),
        int("modified"),
        lang("pattern"),
    ],
    assocs: &[],
};

fn currencies(shop: &Shop) -> Vec<Record> {
    shop.currencies
        .iter()
        .map(|c| {
            Build::new(&CURRENCIES, c.id)
                .set("names", c.name.clone())
                .set("name", c.name.clone())
                .set("symbol", c.symbol.clone())
                .set("iso_code", c.iso_code.clone())
                .set("numeric_iso_code", c.numeric_iso_code.clone())
                .set("precision", "2")
                .set("conversion_rate", money(c.conversion_rate))
                .set("deleted", "0")
                .set("active", "1")
                .set("unofficial", "0")
                .set("modified", "0")
                .set("pattern", "")
                .done()
        })
        .collect()
}

pub(crate) static LANGUAGES: Schema = Schema {
    resource: "languages",
    list_node: "languages",
    node: "language",
    description: "Shop languages",
    fields: &[
        int("id"),
        text("name"),
        text("iso_code"),
        text("locale"),
        text("language_code"),
        int("active"),
        int("is_rtl"),
        text("date_format_lite"),
        text("date_format_full"),
    ],
    assocs: &[],
};

fn languages(_: &Shop) -> Vec<Record> {
    vec![Build::new(&LANGUAGES, 1)
        .set("name", "English (English)")
        .set("iso_code", "en")
        .set("locale", "en-US")
        .set("language_code", "en-us")
        .set("active", "1")
        .set("is_rtl", "0")
        .set("date_format_lite", "m/d/Y")
        .set("date_format_full", "m/d/Y H:i:s")
        .done()]
}

pub(crate) static TAXES: Schema = Schema {
    resource: "taxes",
    list_node: "taxes",
    node: "tax",
    description: "The tax rate",
    fields: &[
        int("id"),
        num("rate"),
        int("active"),
        int("deleted"),
        lang("name"),
    ],
    assocs: &[],
};

fn taxes(shop: &Shop) -> Vec<Record> {
    shop.taxes
        .iter()
        .map(|t| {
            Build::new(&TAXES, t.id)
                .set("rate", rate(t.rate))
                .set("active", "1")
                .set("deleted", "0")
                .set("name", t.name.clone())
                .done()
        })
        .collect()
}

pub(crate) static TAX_RULES: Schema = Schema {
    resource: "tax_rules",
    list_node: "tax_rules",
    node: "tax_rule",
    description: "Tax rules, to associate Tax with a country, zip code, ...",
    fields: &[
        int("id"),
        link("id_tax_rules_group", "tax_rule_groups"),
        link("id_state", "states"),
        link("id_country", "countries"),
        text("zipcode_from"),
        text("zipcode_to"),
        int("id_tax"),
        int("behavior"),
        text("description"),
    ],
    assocs: &[],
};

fn tax_rules(shop: &Shop) -> Vec<Record> {
    shop.tax_rules
        .iter()
        .map(|r| {
            Build::new(&TAX_RULES, r.id)
                .set("id_tax_rules_group", s(r.id_tax_rules_group))
                .set("id_state", "0")
                .set("id_country", s(r.id_country))
                .set("zipcode_from", "0")
                .set("zipcode_to", "0")
                .set("id_tax", s(r.id_tax))
                .set("behavior", "0")
                .set("description", "")
                .done()
        })
        .collect()
}

pub(crate) static TAX_RULE_GROUPS: Schema = Schema {
    resource: "tax_rule_groups",
    list_node: "tax_rule_groups",
    node: "tax_rule_group",
    description: "Group of Tax rule, along with their name",
    fields: &[
        int("id"),
        text("name"),
        int("active"),
        int("deleted"),
        date("date_add"),
        date("date_upd"),
    ],
    assocs: &[],
};

fn tax_rule_groups(shop: &Shop) -> Vec<Record> {
    let at = dt(seed::installed_at());
    shop.tax_rule_groups
        .iter()
        .map(|g| {
            Build::new(&TAX_RULE_GROUPS, g.id)
                .set("name", g.name.clone())
                .set("active", "1")
                .set("deleted", "0")
                .set("date_add", at.clone())
                .set("date_upd", at.clone())
                .done()
        })
        .collect()
}

pub(crate) static CARRIERS: Schema = Schema {
    resource: "carriers",
    list_node: "carriers",
    node: "carrier",
    description: "The Carriers that perform deliveries",
    fields: &[
        int("id"),
        int("deleted"),
        int("is_module"),
        dynamic(link("id_tax_rules_group", "tax_rule_groups")),
        int("id_reference"),
        text("name"),
        int("active"),
        int("is_free"),
        text("url"),
        int("shipping_handling"),
        int("shipping_external"),
        int("range_behavior"),
        int("shipping_method"),
        int("max_width"),
        int("max_height"),
        int("max_depth"),
        num("max_weight"),
        int("grade"),
        text("external_module_name"),
        int("need_range"),
        int("position"),
        lang("delay"),
    ],
    assocs: &[],
};

fn carriers(shop: &Shop) -> Vec<Record> {
    shop.carriers
        .iter()
        .map(|c| {
            Build::new(&CARRIERS, c.id)
                .set("deleted", "0")
                .set("is_module", "0")
                .set("id_tax_rules_group", s(c.id_tax_rules_group))
                .set("id_reference", s(c.id))
                .set("name", c.name.clone())
                .set("active", "1")
                .set("is_free", b(c.is_free))
                .set("url", c.url.clone())
                .set("shipping_handling", "0")
                .set("shipping_external", "0")
                .set("range_behavior", "0")
                // Carrier::SHIPPING_METHOD_WEIGHT (1), or FREE (3) for pick-up.
                .set("shipping_method", if c.is_free { "3" } else { "1" })
                .set("max_width", "0")
                .set("max_height", "0")
                .set("max_depth", "0")
                .set("max_weight", money(Decimal::ZERO))
                .set("grade", "0")
                .set("external_module_name", "")
                .set("need_range", "0")
                .set("position", s(c.id - 1))
                .set("delay", c.delay.clone())
                .done()
        })
        .collect()
}

pub(crate) static PRODUCTS: Schema = Schema {
    resource: "products",
    list_node: "products",
    node: "product",
    description: "The products",
    fields: &[
        int("id"),
        link("id_manufacturer", "manufacturers"),
        link("id_supplier", "suppliers"),
        link("id_category_default", "categories"),
        text("new"),
        int("cache_default_attribute"),
        dynamic(int("id_default_image")),
        dynamic(link("id_default_combination", "combinations")),
        link("id_tax_rules_group", "tax_rule_groups"),
        dynamic(int("position_in_category")),
        dynamic(text("manufacturer_name")),
        dynamic(int("quantity")),
        dynamic(text("type")),
        int("id_shop_default"),
        text("reference"),
        text("supplier_reference"),
        text("location"),
        num("width"),
        num("height"),
        num("depth"),
        num("weight"),
        int("quantity_discount"),
        text("ean13"),
        text("isbn"),
        text("upc"),
        text("mpn"),
        int("cache_is_pack"),
        int("cache_has_attachments"),
        int("is_virtual"),
        int("state"),
        int("additional_delivery_times"),
        lang("delivery_in_stock"),
        lang("delivery_out_stock"),
        int("on_sale"),
        int("online_only"),
        num("ecotax"),
        int("minimal_quantity"),
        int("low_stock_threshold"),
        int("low_stock_alert"),
        num("price"),
        num("wholesale_price"),
        text("unity"),
        num("unit_price_ratio"),
        num("additional_shipping_cost"),
        int("customizable"),
        int("text_fields"),
        int("uploadable_files"),
        int("active"),
        text("redirect_type"),
        int("id_type_redirected"),
        int("available_for_order"),
        date("available_date"),
        int("show_condition"),
        text("condition"),
        int("show_price"),
        int("indexed"),
        text("visibility"),
        int("advanced_stock_management"),
        date("date_add"),
        date("date_upd"),
        int("pack_stock_type"),
        lang("meta_description"),
        lang("meta_keywords"),
        lang("meta_title"),
        lang("link_rewrite"),
        lang("name"),
        lang("description"),
        lang("description_short"),
        lang("available_now"),
        lang("available_later"),
    ],
    assocs: &[
        AssocDef {
            name: "categories",
            node: "category",
            api: Some("categories"),
            fields: &[int("id")],
        },
        AssocDef {
            name: "stock_availables",
            node: "stock_available",
            api: Some("stock_availables"),
            fields: &[int("id"), int("id_product_attribute")],
        },
    ],
};

/// `categories` as PrestaShop 8 lists them (devdocs "Resources for Categories"): the tree
/// under Root (1) and Home (2), with the shop's product categories below Home.
pub(crate) static CATEGORIES: Schema = Schema {
    resource: "categories",
    list_node: "categories",
    node: "category",
    description: "The product categories",
    fields: &[
        int("id"),
        link("id_parent", "categories"),
        int("level_depth"),
        dynamic(int("nb_products_recursive")),
        int("active"),
        int("id_shop_default"),
        int("is_root_category"),
        int("position"),
        date("date_add"),
        date("date_upd"),
        lang("name"),
        lang("link_rewrite"),
        lang("description"),
        lang("meta_title"),
        lang("meta_description"),
        lang("meta_keywords"),
    ],
    assocs: &[
        AssocDef {
            name: "categories",
            node: "category",
            api: Some("categories"),
            fields: &[int("id")],
        },
        AssocDef {
            name: "products",
            node: "product",
            api: Some("products"),
            fields: &[int("id")],
        },
    ],
};

fn categories(shop: &Shop) -> Vec<Record> {
    seed::CATEGORIES
        .iter()
        .enumerate()
        .map(|(position, &(id, parent, name))| {
            let depth = match parent {
                0 => 0,
                1 => 1,
                _ => 2,
            };
            let mut record = Build::new(&CATEGORIES, id)
                .set("id_parent", s(parent))
                .set("level_depth", s(depth))
                .set(
                    "nb_products_recursive",
                    s(shop.products.iter().filter(|p| p.id_category == id).count() as u64),
                )
                .set("active", "1")
                .set("id_shop_default", "1")
                .set("is_root_category", b(id == 2))
                .set("position", s(position as u64))
                .set("date_add", dt(seed::installed_at()))
                .set("date_upd", dt(seed::installed_at()))
                .set("name", name)
                .set("link_rewrite", slug(name));
            for child in seed::CATEGORIES.iter().filter(|c| c.1 == id) {
                record = record.item("categories", &[("id", s(child.0))]);
            }
            for product in shop.products.iter().filter(|p| p.id_category == id) {
                record = record.item("products", &[("id", s(product.id))]);
            }
            record.done()
        })
        .collect()
}

fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

fn products(shop: &Shop) -> Vec<Record> {
    let zero = money(Decimal::ZERO);
    shop.products
        .iter()
        .map(|p| {
            Build::new(&PRODUCTS, p.id)
                .set("id_manufacturer", "0")
                .set("id_supplier", "0")
                .set("id_category_default", s(p.id_category))
                .set("cache_default_attribute", "0")
                .set("id_default_combination", "0")
                .set("id_tax_rules_group", s(p.id_tax_rules_group))
                .set("position_in_category", "0")
                .set("manufacturer_name", "")
                .set("quantity", "100")
                .set("type", if p.is_virtual { "virtual" } else { "simple" })
                .set("id_shop_default", "1")
                .set("reference", p.reference.clone())
                .set("width", zero.clone())
                .set("height", zero.clone())
                .set("depth", zero.clone())
                .set("weight", money(p.weight))
                .set("quantity_discount", "0")
                .set("ean13", p.ean13.clone())
                .set("cache_is_pack", "0")
                .set("cache_has_attachments", "0")
                .set("is_virtual", b(p.is_virtual))
                .set("state", "1")
                .set("additional_delivery_times", "1")
                .set("on_sale", "0")
                .set("online_only", b(p.is_virtual))
                .set("ecotax", zero.clone())
                .set("minimal_quantity", "1")
                .set("low_stock_alert", "0")
                .set("price", money(p.price))
                .set("wholesale_price", money(p.wholesale_price))
                .set("unit_price_ratio", zero.clone())
                .set("additional_shipping_cost", zero.clone())
                .set("customizable", "0")
                .set("text_fields", "0")
                .set("uploadable_files", "0")
                .set("active", "1")
                .set("redirect_type", "301-category")
                .set("id_type_redirected", "0")
                .set("available_for_order", "1")
                .set("available_date", "0000-00-00")
                .set("show_condition", "0")
                .set("condition", "new")
                .set("show_price", "1")
                .set("indexed", "1")
                .set("visibility", "both")
                .set("advanced_stock_management", "0")
                .set("date_add", dt(p.date_add))
                .set("date_upd", dt(p.date_add))
                .set("pack_stock_type", "3")
                .set("link_rewrite", slug(&p.name))
                .set("name", p.name.clone())
                .item("categories", &[("id", s(p.id_category))])
                .item(
                    "stock_availables",
                    &[("id", s(p.id)), ("id_product_attribute", "0".to_string())],
                )
                .done()
        })
        .collect()
}

// ----- multistore ---------------------------------------------------------------------------

pub(crate) static SHOPS: Schema = Schema {
    resource: "shops",
    list_node: "shops",
    node: "shop",
    description: "Shops from multi-shop feature",
    fields: &[
        int("id"),
        link("id_shop_group", "shop_groups"),
        int("id_category"),
        text("theme_name"),
        int("active"),
        int("deleted"),
        text("name"),
        text("color"),
    ],
    assocs: &[],
};

fn shops(_: &Shop) -> Vec<Record> {
    vec![Build::new(&SHOPS, 1)
        .set("id_shop_group", "1")
        .set("id_category", "2")
        .set("theme_name", "classic")
        .set("active", "1")
        .set("deleted", "0")
        .set("name", SHOP_NAME)
        .set("color", "")
        .done()]
}

pub(crate) static SHOP_GROUPS: Schema = Schema {
    resource: "shop_groups",
    list_node: "shop_groups",
    node: "shop_group",
    description: "Shop groups from multi-shop feature",
    fields: &[
        int("id"),
        text("name"),
        int("share_customer"),
        int("share_order"),
        int("share_stock"),
        int("active"),
        int("deleted"),
    ],
    assocs: &[],
};

fn shop_groups(_: &Shop) -> Vec<Record> {
    vec![Build::new(&SHOP_GROUPS, 1)
        .set("name", "Default")
        .set("share_customer", "0")
        .set("share_order", "0")
        .set("share_stock", "0")
        .set("active", "1")
        .set("deleted", "0")
        .done()]
}
