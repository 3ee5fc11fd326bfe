//! The credentials each stand-in accepts (fixed, documented in the README). Anything else is refused with the API's
//! own `401`.

/// Loan API: `Authorization: Bearer <LOAN_API_KEY>`.
pub const LOAN_API_KEY: &str = "sandbox-loan-key";

/// WooCommerce consumer key (OAuth 1.0a one-legged over http, Basic user name over https).
pub const WOO_CONSUMER_KEY: &str = "ck_sandbox_0123456789abcdef";
/// WooCommerce consumer secret.
pub const WOO_CONSUMER_SECRET: &str = "cs_sandbox_fedcba9876543210";

/// NetSuite account id as it appears in the OAuth `realm` (upper case, `_`).
pub const NETSUITE_ACCOUNT_ID: &str = "1234567_SB1";
/// NetSuite integration (consumer) key.
pub const NETSUITE_CONSUMER_KEY: &str = "ns-consumer-key";
/// NetSuite integration (consumer) secret.
pub const NETSUITE_CONSUMER_SECRET: &str = "ns-consumer-secret";
/// NetSuite access token id.
pub const NETSUITE_TOKEN_ID: &str = "ns-token-id";
/// NetSuite access token secret.
pub const NETSUITE_TOKEN_SECRET: &str = "ns-token-secret";

/// GitHub: `Authorization: Bearer <GITHUB_TOKEN>` (or `token <GITHUB_TOKEN>`).
pub const GITHUB_TOKEN: &str = "ghp_sandbox0000000000000000000000000000";
