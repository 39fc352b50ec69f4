//! The shop's data and every change to it. Each change moves the emulator clock forward (so
//! `date_modified` strictly increases and `modified_after` cursors never miss a change) and
//! queues the webhook deliveries it triggers.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Duration, DurationRound, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::api::ApiError;
use super::calc::{self, ItemIds};
use super::fixtures;
use super::model::{
    Address, Customer, Meta, Order, Product, Refund, RefundLine, TaxRate, Webhook, CORE_STATUSES,
};
use super::spec::{OrderSpec, RefundSpec};

/// A webhook delivery waiting to be sent. Its body is built when it is sent (WooCommerce's
/// Action Scheduler job only carries the webhook id and the resource id), and an identical job
/// that is still waiting is not queued twice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pending {
    pub webhook_id: u64,
    pub resource_id: u64,
    pub event: String,
}

/// A refund as the refund API (or the admin) asks for it.
pub(crate) struct RefundRequest {
    pub amount: Option<Decimal>,
    pub items: Vec<RefundItem>,
    pub reason: String,
    pub refund_payment: bool,
    pub refunded_by: u64,
}

pub(crate) struct RefundItem {
    pub item_id: u64,
    pub quantity: u32,
    pub total: Decimal,
    pub taxes: Vec<(u64, Decimal)>,
}

pub(crate) struct Shop {
    pub orders: BTreeMap<u64, Order>,
    pub refunds: BTreeMap<u64, Refund>,
    pub customers: BTreeMap<u64, Customer>,
    pub products: BTreeMap<u64, Product>,
    pub rates: Vec<TaxRate>,
    pub webhooks: BTreeMap<u64, Webhook>,
    /// Custom order statuses the shop has registered (slugs, in registration order).
    pub custom_statuses: Vec<String>,
    pub queue: VecDeque<Pending>,
    next_post_id: u64,
    next_item_id: u64,
    next_meta_id: u64,
    next_webhook_id: u64,
    clock: DateTime<Utc>,
}

impl ItemIds for Shop {
    fn next_item_id(&mut self) -> u64 {
        self.next_item_id += 1;
        self.next_item_id
    }
}

fn now_seconds() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(Duration::seconds(1)).unwrap_or(now)
}

pub(crate) fn invalid_order_id() -> ApiError {
    ApiError::new(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
}

impl Shop {
    pub fn new() -> Self {
        let clock = now_seconds() - Duration::seconds(1);
        let seeded_at = clock - Duration::days(30);
        let products = fixtures::seed_products(seeded_at)
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        Shop {
            orders: BTreeMap::new(),
            refunds: BTreeMap::new(),
            customers: BTreeMap::new(),
            products,
            rates: fixtures::seed_tax_rates(),
            webhooks: BTreeMap::new(),
            custom_statuses: Vec::new(),
            queue: VecDeque::new(),
            next_post_id: 1000,
            next_item_id: 0,
            next_meta_id: 5000,
            next_webhook_id: 0,
            clock,
        }
    }

    /// The emulator clock: wall-clock seconds, but always at least one second after the previous
    /// tick.
    pub fn tick(&mut self) -> DateTime<Utc> {
        self.clock = now_seconds().max(self.clock + Duration::seconds(1));
        self.clock
    }

    fn next_post_id(&mut self) -> u64 {
        self.next_post_id += 1;
        self.next_post_id
    }

    pub fn meta(&mut self, key: &str, value: &str) -> Meta {
        self.next_meta_id += 1;
        Meta {
            id: self.next_meta_id,
            key: key.to_string(),
            value: value.to_string(),
        }
    }

    /// Order statuses the shop accepts: core, WooCommerce Blocks' draft, custom registered ones.
    pub fn statuses(&self) -> Vec<String> {
        CORE_STATUSES
            .iter()
            .map(|s| s.to_string())
            .chain(std::iter::once("checkout-draft".to_string()))
            .chain(self.custom_statuses.iter().cloned())
            .collect()
    }

    fn register_status(&mut self, status: &str) {
        if status != "trash" && !self.statuses().iter().any(|s| s == status) {
            self.custom_statuses.push(status.to_string());
        }
    }

    /// Queues `order.<event>` deliveries for every active webhook on that topic.
    pub fn fire(&mut self, event: &str, order_id: u64) {
        let topic = format!("order.{event}");
        let jobs: Vec<Pending> = self
            .webhooks
            .values()
            .filter(|w| w.status == "active" && w.topic == topic)
            .map(|w| Pending {
                webhook_id: w.id,
                resource_id: order_id,
                event: event.to_string(),
            })
            .collect();
        for job in jobs {
            if !self.queue.contains(&job) {
                self.queue.push_back(job);
            }
        }
    }

    pub fn create_new_webhook(
        &mut self,
        name: String,
        status: String,
        topic: String,
        delivery_url: String,
        secret: String,
    ) -> u64 {
        self.next_webhook_id += 1;
        let id = self.next_webhook_id;
        let at = self.tick();
        self.webhooks.insert(
            id,
            Webhook {
                id,
                name,
                status,
                topic,
                delivery_url,
                secret,
                date_created: at,
                date_modified: at,
                failure_count: 0,
            },
        );
        id
    }

    pub fn order_json(&self, order: &Order, site: &str) -> Value {
        let refunds: Vec<&Refund> = order
            .refunds
            .iter()
            .filter_map(|id| self.refunds.get(id))
            .collect();
        order.json(&refunds, site)
    }

    pub fn order_json_by_id(&self, id: u64, site: &str) -> Option<Value> {
        self.orders.get(&id).map(|o| self.order_json(o, site))
    }

    pub fn refunded_amount(&self, order: &Order) -> Decimal {
        order
            .refunds
            .iter()
            .filter_map(|id| self.refunds.get(id))
            .map(|r| r.amount)
            .sum()
    }

    pub fn create_order(&mut self, spec: &OrderSpec, created_via: &str) -> u64 {
        let id = self.next_post_id();
        let modified = self.tick();
        let created = spec.date_created.unwrap_or(modified);
        let modified = if created > modified {
            self.clock = created;
            created
        } else {
            modified
        };
        let status = if spec.status.is_empty() {
            "pending".to_string()
        } else {
            spec.status.clone()
        };
        self.register_status(&status);
        let mut rates = std::mem::take(&mut self.rates);
        let totals = calc::compute(spec, &mut rates, self);
        self.rates = rates;

        let c = &spec.customer;
        let b = &spec.billing;
        let billing = Address {
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            company: c.company.clone(),
            address_1: b.address_1.clone(),
            address_2: b.address_2.clone(),
            city: b.city.clone(),
            state: b.state.clone(),
            postcode: b.postcode.clone(),
            country: b.country.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
        };
        let s = spec.shipping.as_ref().unwrap_or(b);
        let shipping = Address {
            address_1: s.address_1.clone(),
            address_2: s.address_2.clone(),
            city: s.city.clone(),
            state: s.state.clone(),
            postcode: s.postcode.clone(),
            country: s.country.clone(),
            email: String::new(),
            phone: String::new(),
            ..billing.clone()
        };

        let unpaid = [
            "pending",
            "on-hold",
            "failed",
            "cancelled",
            "checkout-draft",
        ];
        let paid = !unpaid.contains(&status.as_str());
        let exempt = spec.vat_number.is_some() && totals.total_tax.is_zero();
        let mut meta = vec![self.meta("is_vat_exempt", if exempt { "yes" } else { "no" })];
        if let Some(vat) = &spec.vat_number {
            meta.push(self.meta("_billing_vat_number", vat));
            meta.push(self.meta("_vat_number_is_validated", "true"));
            meta.push(self.meta("_vat_number_is_valid", "true"));
        }
        for (key, value) in &spec.meta {
            let m = self.meta(key, value);
            meta.push(m);
        }

        if c.customer_id > 0 {
            self.ensure_customer(c.customer_id, &billing, &shipping, created, paid);
        }
        let key: String = Sha256::digest(format!("order-key-{id}").as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()[..13]
            .to_string();
        let order = Order {
            id,
            order_key: format!("wc_order_{key}"),
            created_via: created_via.to_string(),
            status: status.clone(),
            pre_trash_status: None,
            currency: spec.currency.clone(),
            date_created: created,
            date_modified: modified,
            date_paid: paid.then_some(created),
            date_completed: (status == "completed").then_some(created),
            prices_include_tax: spec.prices_include_tax,
            customer_id: c.customer_id,
            customer_ip_address: String::new(),
            customer_user_agent: String::new(),
            customer_note: spec.customer_note.clone(),
            billing,
            shipping,
            payment_method: spec.payment_method.clone(),
            payment_method_title: spec.payment_method_title.clone(),
            transaction_id: spec.transaction_id.clone(),
            meta,
            totals,
            refunds: Vec::new(),
        };
        self.orders.insert(id, order);
        self.fire("created", id);
        id
    }

    fn ensure_customer(
        &mut self,
        id: u64,
        billing: &Address,
        shipping: &Address,
        at: DateTime<Utc>,
        paid: bool,
    ) {
        let customer = self.customers.entry(id).or_insert_with(|| {
            let username = billing
                .email
                .split('@')
                .next()
                .filter(|s| !s.is_empty())
                .map_or_else(|| format!("customer{id}"), str::to_string);
            Customer {
                id,
                date_created: at,
                date_modified: at,
                email: billing.email.clone(),
                first_name: billing.first_name.clone(),
                last_name: billing.last_name.clone(),
                username,
                billing: billing.clone(),
                shipping: shipping.clone(),
                is_paying_customer: false,
            }
        });
        customer.is_paying_customer |= paid;
    }

    /// Changes an order's status as `WC_Order::update_status()` does (dates paid/completed,
    /// trash bookkeeping) and queues the matching webhook.
    pub fn set_status(&mut self, id: u64, status: &str) -> Result<(), ApiError> {
        if !self.orders.contains_key(&id) {
            return Err(invalid_order_id());
        }
        if status == "trash" {
            return self.trash(id);
        }
        self.register_status(status);
        let at = self.tick();
        let order = self.orders.get_mut(&id).ok_or_else(invalid_order_id)?;
        if order.status == status {
            return Ok(());
        }
        order.status = status.to_string();
        order.date_modified = at;
        if ["processing", "completed"].contains(&status) && order.date_paid.is_none() {
            order.date_paid = Some(at);
        }
        if status == "completed" {
            order.date_completed = Some(at);
        }
        let (customer_id, paid) = (order.customer_id, order.date_paid.is_some());
        if let Some(customer) = self.customers.get_mut(&customer_id) {
            customer.is_paying_customer |= paid;
        }
        self.fire("updated", id);
        Ok(())
    }

    fn trash(&mut self, id: u64) -> Result<(), ApiError> {
        let at = self.tick();
        let order = self.orders.get_mut(&id).ok_or_else(invalid_order_id)?;
        if order.status == "trash" {
            return Err(ApiError::new(
                410,
                "woocommerce_rest_already_trashed",
                "The shop_order has already been deleted.",
            ));
        }
        order.pre_trash_status = Some(std::mem::replace(&mut order.status, "trash".to_string()));
        order.date_modified = at;
        self.fire("deleted", id);
        Ok(())
    }

    /// Trash (`force` false) or delete an order. Returns the order as the API answers a DELETE:
    /// the trashed order, or the order as it was before it was deleted.
    pub fn delete_order(&mut self, id: u64, force: bool, site: &str) -> Result<Value, ApiError> {
        let before = self
            .order_json_by_id(id, site)
            .ok_or_else(invalid_order_id)?;
        if !force {
            self.trash(id)?;
            return self.order_json_by_id(id, site).ok_or_else(invalid_order_id);
        }
        self.tick();
        if let Some(order) = self.orders.remove(&id) {
            for refund in order.refunds {
                self.refunds.remove(&refund);
            }
        }
        self.fire("deleted", id);
        Ok(before)
    }

    /// Takes an order out of the trash (`wp_untrash_post`), back to its previous status.
    pub fn restore_order(&mut self, id: u64) -> Result<(), ApiError> {
        let at = self.tick();
        let order = self.orders.get_mut(&id).ok_or_else(invalid_order_id)?;
        let Some(previous) = order.pre_trash_status.take() else {
            return Err(ApiError::new(
                400,
                "woocommerce_rest_cannot_restore",
                "The order is not in the trash.",
            ));
        };
        order.status = previous;
        order.date_modified = at;
        self.fire("restored", id);
        Ok(())
    }

    /// Turns an admin [`RefundSpec`] into a refund request the way the refund screen computes it.
    pub fn refund_request(
        &self,
        order_id: u64,
        spec: &RefundSpec,
    ) -> Result<RefundRequest, ApiError> {
        let order = self.orders.get(&order_id).ok_or_else(invalid_order_id)?;
        let mut items = Vec::new();
        for &(item_id, quantity) in &spec.lines {
            let line = order
                .totals
                .lines
                .iter()
                .find(|l| l.id == item_id)
                .ok_or_else(|| {
                    ApiError::new(
                        400,
                        "woocommerce_rest_cannot_create_order_refund",
                        &format!("Order {order_id} has no line item {item_id}."),
                    )
                })?;
            let already: u32 = order
                .refunds
                .iter()
                .filter_map(|r| self.refunds.get(r))
                .flat_map(|r| &r.lines)
                .filter(|l| l.refunded_item_id == item_id)
                .map(|l| l.quantity)
                .sum();
            if quantity == 0 || quantity + already > line.quantity {
                return Err(ApiError::new(
                    400,
                    "woocommerce_rest_cannot_create_order_refund",
                    &format!("Invalid refund quantity for line item {item_id}."),
                ));
            }
            let q = Decimal::from(quantity);
            let per_unit =
                |amount: Decimal| super::json::round2(amount / Decimal::from(line.quantity) * q);
            items.push(RefundItem {
                item_id,
                quantity,
                total: per_unit(line.total),
                taxes: line
                    .taxes
                    .iter()
                    .map(|t| (t.rate_id, per_unit(super::json::round2(t.total))))
                    .collect(),
            });
        }
        if spec.refund_shipping {
            for shipping in &order.totals.shipping_lines {
                items.push(RefundItem {
                    item_id: shipping.id,
                    quantity: 0,
                    total: shipping.total,
                    taxes: shipping
                        .taxes
                        .iter()
                        .map(|t| (t.rate_id, super::json::round2(t.total)))
                        .collect(),
                });
            }
        }
        Ok(RefundRequest {
            amount: spec.amount,
            items,
            reason: spec.reason.clone(),
            refund_payment: false,
            refunded_by: 1,
        })
    }

    /// `wc_create_refund()`: validates the amount, refunds through the gateway if asked, stores
    /// the refund, marks the order refunded when nothing is left, and queues `order.updated`.
    pub fn create_refund(
        &mut self,
        order_id: u64,
        request: RefundRequest,
    ) -> Result<u64, ApiError> {
        let cannot = |message: &str| {
            ApiError::new(500, "woocommerce_rest_cannot_create_order_refund", message)
        };
        let order = self.orders.get(&order_id).ok_or_else(|| {
            ApiError::new(
                404,
                "woocommerce_rest_invalid_order_id",
                "Invalid order ID.",
            )
        })?;
        // Items the order does not have are skipped, as wc_create_refund() skips them.
        let items: Vec<&RefundItem> = request
            .items
            .iter()
            .filter(|i| {
                order.totals.lines.iter().any(|l| l.id == i.item_id)
                    || order
                        .totals
                        .shipping_lines
                        .iter()
                        .any(|s| s.id == i.item_id)
                    || order.totals.fee_lines.iter().any(|f| f.id == i.item_id)
            })
            .collect();
        let amount = request.amount.unwrap_or_else(|| {
            items
                .iter()
                .map(|i| i.total + i.taxes.iter().map(|(_, t)| *t).sum::<Decimal>())
                .sum()
        });
        let amount = super::json::round2(amount);
        if amount < Decimal::ZERO {
            return Err(ApiError::new(
                400,
                "woocommerce_rest_invalid_order_refund",
                "Refund amount must be greater than zero.",
            ));
        }
        let remaining = order.totals.total - self.refunded_amount(order);
        if amount > remaining {
            return Err(cannot("Invalid refund amount."));
        }
        if request.refund_payment {
            let gateway = order.payment_method.as_str();
            let supports_refunds = ["stripe", "ppcp-gateway", "paypal"].contains(&gateway)
                || gateway.starts_with("mollie_wc_gateway_");
            let known = supports_refunds || ["bacs", "cheque", "cod"].contains(&gateway);
            if !known {
                return Err(cannot("The payment gateway for this order does not exist."));
            }
            if !supports_refunds {
                return Err(cannot(
                    "The payment gateway for this order does not support automatic refunds.",
                ));
            }
        }
        let lines: Vec<RefundLine> = items
            .iter()
            .filter_map(|i| {
                let line = order.totals.lines.iter().find(|l| l.id == i.item_id)?;
                Some((i, line.clone()))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|(i, line)| {
                let id = self.next_item_id();
                self.next_meta_id += 1;
                RefundLine {
                    id,
                    meta_id: self.next_meta_id,
                    refunded_item_id: line.id,
                    name: line.name,
                    product_id: line.product_id,
                    variation_id: line.variation_id,
                    quantity: i.quantity,
                    tax_class: line.tax_class,
                    total: i.total,
                    taxes: i.taxes.clone(),
                    sku: line.sku,
                }
            })
            .collect();
        let refund_id = self.next_post_id();
        let at = self.tick();
        self.refunds.insert(
            refund_id,
            Refund {
                id: refund_id,
                order_id,
                date_created: at,
                amount,
                reason: request.reason,
                refunded_by: request.refunded_by,
                refunded_payment: request.refund_payment,
                lines,
            },
        );
        let order = self
            .orders
            .get_mut(&order_id)
            .ok_or_else(invalid_order_id)?;
        order.refunds.insert(0, refund_id);
        order.date_modified = at;
        let fully_refunded = amount == remaining;
        if fully_refunded && order.status != "refunded" {
            self.set_status(order_id, "refunded")?;
        } else {
            self.fire("updated", order_id);
        }
        Ok(refund_id)
    }

    /// Deletes a refund (refunds cannot be trashed). The order keeps its status.
    pub fn delete_refund(&mut self, order_id: u64, refund_id: u64) -> Result<Refund, ApiError> {
        let refund = self.find_refund(order_id, refund_id)?.clone();
        self.refunds.remove(&refund_id);
        if let Some(order) = self.orders.get_mut(&order_id) {
            order.refunds.retain(|r| *r != refund_id);
        }
        Ok(refund)
    }

    pub fn find_refund(&self, order_id: u64, refund_id: u64) -> Result<&Refund, ApiError> {
        if !self.orders.contains_key(&order_id) {
            return Err(ApiError::new(
                404,
                "woocommerce_rest_invalid_order_id",
                "Invalid order ID.",
            ));
        }
        let refund = self.refunds.get(&refund_id).ok_or_else(|| {
            ApiError::new(
                404,
                "woocommerce_rest_shop_order_refund_invalid_id",
                "Invalid ID.",
            )
        })?;
        if refund.order_id != order_id {
            return Err(ApiError::new(
                404,
                "woocommerce_rest_invalid_order_refund_id",
                "Invalid order refund ID.",
            ));
        }
        Ok(refund)
    }

    /// The JSON a webhook delivers for an order event, built at delivery time.
    pub fn payload(&self, job: &Pending, site: &str) -> Value {
        if job.event == "deleted" {
            return json!({"id": job.resource_id});
        }
        self.order_json_by_id(job.resource_id, site)
            .unwrap_or_else(|| invalid_order_id().body())
    }
}
