//! WooCommerce dataset: orders (with line items), products and customers, generated from a seed, changed in seeded
//! steps (creates and updates, never deletes), and turned into the connector's tables for the ground truth.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::Changing;
use crate::ground_truth::{GroundTruth, Row};
use crate::paging::{DataClock, naive};
use crate::prng::{CITIES, FIRST_NAMES, LAST_NAMES, Rng, WORDS, email, sentence};

/// The site's time zone (fixed, no daylight saving): `date_*` fields are local, `date_*_gmt` are UTC.
pub const SITE_OFFSET_SECS: i64 = 3600;

/// One record of a collection, with what listing needs kept outside the JSON.
pub struct Rec {
    pub id: u64,
    pub created: i64,
    pub modified: i64,
    /// The `name` ordering key (products: name; customers: last and first name).
    pub name: String,
    /// The record as the API returns it (only the serialized form is kept, to save memory).
    pub json: String,
}

impl Rec {
    fn new(id: u64, created: i64, modified: i64, name: String, value: &Value) -> Rec {
        Rec {
            id,
            created,
            modified,
            name,
            json: value.to_string(),
        }
    }

    /// The record as a JSON value.
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.json).unwrap_or(Value::Null)
    }

    /// Edits the record and moves its modification date to `at`.
    fn edit(&mut self, at: i64, change: impl FnOnce(&mut Value)) {
        let mut value = self.value();
        change(&mut value);
        value["date_modified"] = json!(naive(at, SITE_OFFSET_SECS));
        value["date_modified_gmt"] = json!(naive(at, 0));
        self.modified = at;
        self.json = value.to_string();
    }
}

/// The three collections, each ordered by id.
pub struct WooData {
    pub orders: Vec<Rec>,
    pub products: Vec<Rec>,
    pub customers: Vec<Rec>,
    /// Per product: name, sku, price (for line items).
    product_info: Vec<(String, Value, f64)>,
    /// Per customer: first and last name (for order addresses).
    customer_names: Vec<(String, String)>,
    next_line_item: u64,
    /// Sorted index per (collection, order), dropped whenever the data changes.
    sorted: HashMap<(u8, u8), Arc<Vec<u32>>>,
    clock: DataClock,
    step: u64,
    seed: u64,
}

const ORDER_STATUSES: &[&str] = &[
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
];
const PAYMENT: &[(&str, &str)] = &[
    ("bacs", "Direct bank transfer"),
    ("stripe", "Credit card (Stripe)"),
    ("cod", "Cash on delivery"),
];

fn address(rng: &mut Rng, first: &str, last: &str, with_contact: bool) -> Value {
    let mut a = json!({
        "first_name": first, "last_name": last, "company": if rng.chance(0.2) { "Ñandú GmbH" } else { "" },
        "address_1": format!("{} {}", rng.range(1, 250), rng.pick_str(&["Rua Augusta", "Hauptstraße", "Main St", "Calle Mayor"])),
        "address_2": "", "city": rng.pick_str(CITIES), "state": "", "postcode": format!("{:05}", rng.range(1000, 99999)),
        "country": rng.pick_str(&["PT", "DE", "US", "ES", "SE", "JP"]),
    });
    if with_contact {
        a["email"] = json!(email(first, last, rng.below(100)));
        a["phone"] = json!(format!("+351 9{:08}", rng.below(100_000_000)));
    }
    a
}

impl WooData {
    /// `records` orders, `records / 10` products (at least 5), `records / 4` customers (at least 5).
    pub fn generate(seed: u64, records: usize, clock: DataClock) -> WooData {
        let mut data = WooData {
            orders: Vec::new(),
            products: Vec::new(),
            customers: Vec::new(),
            product_info: Vec::new(),
            customer_names: Vec::new(),
            next_line_item: 1,
            sorted: HashMap::new(),
            clock,
            step: 0,
            seed,
        };
        let span = 400 * 86_400_i64;
        let n_products = (records / 10).max(5);
        for i in 0..n_products {
            let created = clock.epoch - span - 86_400 + (i as i64) * 60;
            data.add_product(created, false);
        }
        let n_customers = (records / 4).max(5);
        for i in 0..n_customers {
            let created = clock.epoch - span + span * i as i64 / (n_customers as i64 + 1);
            data.add_customer(created, false);
        }
        for i in 0..records {
            let created = clock.epoch - span + span * i as i64 / (records as i64 + 1);
            data.add_order(created, false);
        }
        data
    }

    fn modified_after_create(&self, rng: &mut Rng, created: i64, fresh: bool) -> i64 {
        if fresh {
            created
        } else {
            (created + rng.range(0, 30 * 86_400)).min(self.clock.epoch - 1)
        }
    }

    fn add_product(&mut self, created: i64, fresh: bool) {
        let id = 10 + self.products.len() as u64 * 3;
        let mut rng = Rng::new(self.seed, 0x9A0D ^ (id << 16));
        let modified = self.modified_after_create(&mut rng, created, fresh);
        let name = format!("{} {}", sentence(&mut rng, 2), id);
        let price = format!("{}.{:02}", rng.range(1, 500), rng.range(0, 99));
        let value = json!({
            "id": id, "name": name, "slug": format!("product-{id}"),
            "permalink": format!("https://shop.example/product/product-{id}/"),
            "date_created": naive(created, SITE_OFFSET_SECS), "date_created_gmt": naive(created, 0),
            "date_modified": naive(modified, SITE_OFFSET_SECS), "date_modified_gmt": naive(modified, 0),
            "type": rng.pick_str(&["simple", "simple", "variable"]), "status": "publish", "featured": rng.chance(0.1),
            "catalog_visibility": "visible", "description": format!("<p>{}</p>", sentence(&mut rng, 8)),
            "short_description": "", "sku": if rng.chance(0.2) { String::new() } else { format!("SKU-{id:05}") },
            "price": price, "regular_price": price, "sale_price": "", "on_sale": false, "purchasable": true,
            "total_sales": rng.below(5000), "stock_quantity": if rng.chance(0.3) { Value::Null } else { json!(rng.below(200)) },
            "stock_status": "instock", "weight": "", "dimensions": {"length": "", "width": "", "height": ""},
            "categories": [{"id": 15 + rng.below(4), "name": rng.pick_str(&["Clothing", "Café", "Décor", "音楽"]), "slug": "cat"}],
            "tags": [], "images": [], "attributes": [],
            "meta_data": [{"id": id * 7, "key": "_external_id", "value": 9_007_199_254_740_993_u64 + id}],
        });
        let price_value = price.parse().unwrap_or(1.0);
        self.product_info
            .push((name.clone(), value["sku"].clone(), price_value));
        self.products
            .push(Rec::new(id, created, modified, name, &value));
    }

    fn add_customer(&mut self, created: i64, fresh: bool) {
        let id = 2 + self.customers.len() as u64;
        let mut rng = Rng::new(self.seed, 0xC057 ^ (id << 16));
        let modified = self.modified_after_create(&mut rng, created, fresh);
        let (first, last) = (rng.pick_str(FIRST_NAMES), rng.pick_str(LAST_NAMES));
        let value = json!({
            "id": id,
            "date_created": naive(created, SITE_OFFSET_SECS), "date_created_gmt": naive(created, 0),
            "date_modified": naive(modified, SITE_OFFSET_SECS), "date_modified_gmt": naive(modified, 0),
            "email": email(first, last, id), "first_name": first, "last_name": last, "role": "customer",
            "username": format!("{}{id}", email(first, last, 0).split('.').next().unwrap_or("user")),
            "billing": address(&mut rng, first, last, true), "shipping": address(&mut rng, first, last, false),
            "is_paying_customer": rng.chance(0.6), "avatar_url": format!("https://secure.gravatar.com/avatar/{id:032x}"),
            "meta_data": [],
        });
        self.customer_names
            .push((first.to_owned(), last.to_owned()));
        self.customers.push(Rec::new(
            id,
            created,
            modified,
            format!("{last} {first}"),
            &value,
        ));
    }

    fn line_item(&mut self, rng: &mut Rng) -> Value {
        let id = self.next_line_item;
        self.next_line_item += 1;
        let index = rng.below(self.products.len() as u64) as usize;
        let (name, sku, price) = &self.product_info[index];
        let price = *price;
        let quantity = rng.range(1, 5);
        let total = format!("{:.2}", price * quantity as f64);
        json!({
            "id": id, "name": name, "product_id": self.products[index].id, "variation_id": 0,
            "quantity": quantity, "tax_class": "", "subtotal": total, "subtotal_tax": "0.00", "total": total,
            "total_tax": "0.00", "taxes": [], "meta_data": [], "sku": sku, "price": price,
            "parent_name": Value::Null,
        })
    }

    fn add_order(&mut self, created: i64, fresh: bool) {
        let id = 1000 + self.orders.len() as u64 * 2;
        let mut rng = Rng::new(self.seed, 0x0DE5 ^ (id << 16));
        let modified = self.modified_after_create(&mut rng, created, fresh);
        let customer = if rng.chance(0.2) {
            None
        } else {
            Some(rng.below(self.customers.len() as u64) as usize)
        };
        let (first, last) = match customer {
            Some(c) => self.customer_names[c].clone(),
            None => (
                rng.pick_str(FIRST_NAMES).to_owned(),
                rng.pick_str(LAST_NAMES).to_owned(),
            ),
        };
        let items: Vec<Value> = (0..rng.range(1, 4))
            .map(|_| self.line_item(&mut rng))
            .collect();
        let (method, title) = *rng.pick(PAYMENT);
        let mut value = json!({
            "id": id, "parent_id": 0, "number": id.to_string(), "order_key": format!("wc_order_{:013x}", rng.next_u64() >> 12),
            "created_via": "checkout", "version": "9.4.2", "status": rng.pick_str(ORDER_STATUSES),
            "currency": rng.pick_str(&["EUR", "USD", "GBP", "JPY"]),
            "date_created": naive(created, SITE_OFFSET_SECS), "date_created_gmt": naive(created, 0),
            "date_modified": naive(modified, SITE_OFFSET_SECS), "date_modified_gmt": naive(modified, 0),
            "discount_total": "0.00", "discount_tax": "0.00", "shipping_total": "4.99", "shipping_tax": "0.00",
            "cart_tax": "0.00", "total": "0.00", "total_tax": "0.00", "prices_include_tax": false,
            "customer_id": customer.map_or(0, |c| self.customers[c].id),
            "customer_note": if rng.chance(0.1) { format!("Bitte klingeln — {}", rng.pick_str(WORDS)) } else { String::new() },
            "billing": address(&mut rng, &first, &last, true), "shipping": address(&mut rng, &first, &last, false),
            "payment_method": method, "payment_method_title": title, "transaction_id": "",
            "date_paid": Value::Null, "date_paid_gmt": Value::Null, "date_completed": Value::Null, "date_completed_gmt": Value::Null,
            "meta_data": [], "line_items": items, "tax_lines": [], "shipping_lines": [], "fee_lines": [], "coupon_lines": [], "refunds": [],
        });
        recompute_total(&mut value);
        self.orders
            .push(Rec::new(id, created, modified, String::new(), &value));
    }

    /// The record indexes of collection `collection` (0 orders, 1 products, 2 customers) in ascending `order`,
    /// built by `build` once per data version.
    pub fn sorted(
        &mut self,
        collection: u8,
        order: u8,
        build: impl FnOnce(&[Rec]) -> Vec<u32>,
    ) -> Arc<Vec<u32>> {
        if let Some(index) = self.sorted.get(&(collection, order)) {
            return index.clone();
        }
        let recs = match collection {
            0 => &self.orders,
            1 => &self.products,
            _ => &self.customers,
        };
        let index = Arc::new(build(recs));
        self.sorted.insert((collection, order), index.clone());
        index
    }

    /// One change step: creates orders (and now and then a product or customer) and updates records.
    pub fn change(&mut self, changing: &Changing) {
        self.step += 1;
        self.sorted.clear();
        let mut rng = Rng::new(self.seed ^ 0x00C4_A0DE, self.step);
        let now = self.clock.advance(&mut rng);
        for _ in 0..changing.creates {
            self.add_order(now, true);
            if rng.chance(0.2) {
                self.add_customer(now, true);
            }
            if rng.chance(0.1) {
                self.add_product(now, true);
            }
        }
        for _ in 0..changing.updates {
            match rng.below(4) {
                0 | 1 => {
                    let i = rng.below(self.orders.len() as u64) as usize;
                    let add_item = rng.chance(0.3);
                    let item = if add_item {
                        Some(self.line_item(&mut rng))
                    } else {
                        None
                    };
                    let status = rng.pick_str(ORDER_STATUSES);
                    self.orders[i].edit(now, |order| {
                        order["status"] = json!(status);
                        if let (Some(item), Some(items)) =
                            (item, order["line_items"].as_array_mut())
                        {
                            items.push(item);
                        }
                        recompute_total(order);
                    });
                }
                2 => {
                    let i = rng.below(self.products.len() as u64) as usize;
                    let price = format!("{}.{:02}", rng.range(1, 500), rng.range(0, 99));
                    let stock = rng.below(100);
                    self.product_info[i].2 = price.parse().unwrap_or(1.0);
                    self.products[i].edit(now, |p| {
                        p["price"] = json!(price);
                        p["regular_price"] = json!(price);
                        p["stock_quantity"] = json!(stock);
                    });
                }
                _ => {
                    let i = rng.below(self.customers.len() as u64) as usize;
                    let city = rng.pick_str(CITIES);
                    self.customers[i].edit(now, |c| {
                        c["billing"]["city"] = json!(city);
                        c["is_paying_customer"] = json!(true);
                    });
                }
            }
        }
    }

    /// The connector's tables: `orders` (no `line_items`), `order_line_items` (+ `order_id`), `products`, `customers`.
    pub fn ground_truth(&self) -> GroundTruth {
        let mut truth = GroundTruth::default();
        truth.table("orders", &["id"]);
        truth.table("order_line_items", &["order_id", "id"]);
        for o in &self.orders {
            let mut row: Row = o.value().as_object().cloned().unwrap_or_default();
            let items = row.remove("line_items");
            truth.table("orders", &[]).insert(row);
            for item in items
                .as_ref()
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let mut r: Row = item.as_object().cloned().unwrap_or_default();
                r.insert("order_id".into(), json!(o.id));
                truth.table("order_line_items", &[]).insert(r);
            }
        }
        for (name, recs) in [("products", &self.products), ("customers", &self.customers)] {
            let table = truth.table(name, &["id"]);
            for r in recs {
                table.insert(r.value().as_object().cloned().unwrap_or_default());
            }
        }
        truth
    }
}

fn recompute_total(order: &mut Value) {
    let sum: f64 = order["line_items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["total"].as_str()?.parse::<f64>().ok())
                .sum()
        })
        .unwrap_or(0.0);
    order["total"] = json!(format!("{:.2}", sum + 4.99));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paging::EPOCH_2026;

    #[test]
    fn sizes_ids_and_line_items() {
        let d = WooData::generate(1, 40, DataClock::fixed());
        assert_eq!(
            (d.orders.len(), d.products.len(), d.customers.len()),
            (40, 5, 10)
        );
        assert!(d.orders.windows(2).all(|w| w[0].id < w[1].id));
        let truth = d.ground_truth();
        assert_eq!(truth.row_count("orders"), 40);
        assert!(truth.row_count("order_line_items") >= 40);
        assert!(
            !truth.tables["orders"]
                .rows
                .values()
                .any(|r| r.contains_key("line_items"))
        );
    }

    #[test]
    fn changes_are_reproducible_and_only_grow() {
        let (mut a, mut b) = (
            WooData::generate(5, 30, DataClock::fixed()),
            WooData::generate(5, 30, DataClock::fixed()),
        );
        for _ in 0..10 {
            a.change(&Changing::default());
            b.change(&Changing::default());
        }
        assert_eq!(a.ground_truth(), b.ground_truth());
        assert_eq!(a.orders.len(), 40);
        assert!(a.orders.iter().any(|o| o.modified > EPOCH_2026));
    }
}
