//! The `woocommerce` binary against the WooCommerce stand-in, through fivetran-local: every check of the shared
//! conformance crate (`docs/connector-spec.md`), over http (OAuth 1.0a) and https (Basic with `caCertificate`),
//! plus the connector's own behaviour (concurrent pages, HMAC-SHA256, secrets).

mod conformance;
mod connector;
