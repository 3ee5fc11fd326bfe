//! Fault injection: what can go wrong, on which requests, decided reproducibly from a seed.
//!
//! Requests are numbered from 1 in arrival order. Each [`FaultRule`] has a [`Trigger`] saying which request numbers it
//! hits; the first matching rule wins. Probabilistic triggers hash the seed with the request number, so the same
//! request sequence always meets the same faults.

use std::time::Duration;

use crate::prng::{Rng, mix};

/// The faults of one stand-in. `Faults::default()` is a healthy server.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Delay before every response.
    pub latency: Latency,
    /// Faults tried in order; the first whose trigger matches the request applies.
    pub rules: Vec<FaultRule>,
    /// Seed for probabilistic triggers and jitter.
    pub seed: u64,
    /// Requests beyond this many in flight at once get the API's `429` without `Retry-After` (NetSuite's
    /// `CONCURRENCY_LIMIT_EXCEEDED`).
    pub concurrency_limit: Option<u64>,
}

/// Fixed delay plus a uniformly random extra delay in `0..=jitter`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    pub fixed: Duration,
    pub jitter: Duration,
}

/// One fault and when it happens.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    pub kind: FaultKind,
    pub trigger: Trigger,
}

/// Which requests a rule hits (request numbers start at 1).
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// Every request.
    Always,
    /// Requests `first..first + count` — a burst.
    Burst { first: u64, count: u64 },
    /// Every `n`-th request (n, 2n, 3n, ...).
    Every(u64),
    /// Each request independently with probability `p`, decided from the seed and the request number.
    Probability(f64),
}

/// What goes wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// `429` with `Retry-After`, in seconds or as an HTTP date that many seconds ahead (no header for 0 seconds).
    RateLimited {
        retry_after_secs: u64,
        http_date: bool,
    },
    /// Quota used up: `status` (403 or 429) with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` that many seconds
    /// ahead (GitHub's primary rate limit; other stand-ins send the same headers).
    QuotaExhausted { status: u16, reset_after_secs: u64 },
    /// GitHub's secondary rate limit: `status` (403 or 429) with `retry-after` seconds.
    SecondaryRateLimit { status: u16, retry_after_secs: u64 },
    /// A 5xx answer (500, 502, 503, ...).
    ServerError { status: u16 },
    /// The connection is closed with a TCP reset before any response is written.
    ConnectionReset,
    /// The headers promise the full body, half of it is sent, then the connection is cut.
    TruncatedBody,
    /// A `200` whose body is cut in the middle of the JSON (complete HTTP message, invalid JSON).
    MalformedJson,
    /// The correct response, dripped in `chunk`-byte pieces with `delay` between them.
    SlowBody { chunk: usize, delay: Duration },
    /// `401` as for bad credentials, whatever the request carried (e.g. a revoked key).
    Unauthorized,
}

impl Faults {
    /// The rule that applies to request number `n`, if any.
    pub fn fault_for(&self, n: u64) -> Option<&FaultRule> {
        self.rules.iter().enumerate().find_map(|(i, rule)| {
            let hit = match rule.trigger {
                Trigger::Always => true,
                Trigger::Burst { first, count } => n >= first && n < first.saturating_add(count),
                Trigger::Every(k) => k > 0 && n.is_multiple_of(k),
                Trigger::Probability(p) => {
                    (mix(self.seed, n, i as u64) >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
                }
            };
            hit.then_some(rule)
        })
    }

    /// The delay for request number `n`.
    pub fn delay_for(&self, n: u64) -> Duration {
        let jitter = self.latency.jitter.as_micros() as u64;
        let extra = if jitter == 0 {
            0
        } else {
            Rng::new(self.seed, n ^ 0xD1CE).below(jitter + 1)
        };
        self.latency.fixed + Duration::from_micros(extra)
    }

    /// Parses one `--fault` option (see the README): `KIND[@TRIGGER]`, `latency=MS[+JITTER_MS]` or `concurrency=N`.
    pub fn add_spec(&mut self, spec: &str) -> Result<(), String> {
        if let Some(rest) = spec.strip_prefix("concurrency=") {
            self.concurrency_limit = Some(num(rest, "concurrency")?.max(1));
            return Ok(());
        }
        if let Some(rest) = spec.strip_prefix("latency=") {
            let (fixed, jitter) = rest.split_once('+').unwrap_or((rest, "0"));
            self.latency = Latency {
                fixed: parse_ms(fixed)?,
                jitter: parse_ms(jitter)?,
            };
            return Ok(());
        }
        let (kind, trigger) = spec.split_once('@').unwrap_or((spec, "always"));
        let rule = FaultRule {
            kind: parse_kind(kind)?,
            trigger: parse_trigger(trigger)?,
        };
        self.rules.push(rule);
        Ok(())
    }
}

fn parse_ms(s: &str) -> Result<Duration, String> {
    let s = s.trim().trim_end_matches("ms");
    s.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| format!("not a number of milliseconds: {s:?}"))
}

fn num(s: &str, what: &str) -> Result<u64, String> {
    s.parse()
        .map_err(|_| format!("{what}: not a number: {s:?}"))
}

fn parse_kind(s: &str) -> Result<FaultKind, String> {
    let (name, arg) = s.split_once(':').unwrap_or((s, ""));
    let arg_or = |d: u64| {
        if arg.is_empty() {
            Ok(d)
        } else {
            num(arg, name)
        }
    };
    Ok(match name {
        "429" | "rate-limit" => FaultKind::RateLimited {
            retry_after_secs: arg_or(1)?,
            http_date: false,
        },
        "429-date" | "rate-limit-date" => FaultKind::RateLimited {
            retry_after_secs: arg_or(2)?,
            http_date: true,
        },
        "quota" => FaultKind::QuotaExhausted {
            status: 403,
            reset_after_secs: arg_or(2)?,
        },
        "quota-429" => FaultKind::QuotaExhausted {
            status: 429,
            reset_after_secs: arg_or(2)?,
        },
        "secondary" => FaultKind::SecondaryRateLimit {
            status: 403,
            retry_after_secs: arg_or(1)?,
        },
        "secondary-429" => FaultKind::SecondaryRateLimit {
            status: 429,
            retry_after_secs: arg_or(1)?,
        },
        "500" | "502" | "503" | "504" => FaultKind::ServerError {
            status: num(name, "status")? as u16,
        },
        "reset" => FaultKind::ConnectionReset,
        "truncate" => FaultKind::TruncatedBody,
        "malformed" => FaultKind::MalformedJson,
        "slow" => {
            let (chunk, delay) = arg.split_once(',').unwrap_or(if arg.is_empty() {
                ("64", "20")
            } else {
                (arg, "20")
            });
            FaultKind::SlowBody {
                chunk: num(chunk, "slow chunk")?.max(1) as usize,
                delay: parse_ms(delay)?,
            }
        }
        "401" | "unauthorized" => FaultKind::Unauthorized,
        _ => return Err(format!("unknown fault kind {name:?}")),
    })
}

fn parse_trigger(s: &str) -> Result<Trigger, String> {
    if s == "always" {
        return Ok(Trigger::Always);
    }
    let (name, arg) = s
        .split_once('=')
        .ok_or_else(|| format!("trigger {s:?}: expected NAME=VALUE"))?;
    Ok(match name {
        "every" => Trigger::Every(num(arg, "every")?),
        "p" => Trigger::Probability(
            arg.parse()
                .map_err(|_| format!("p: not a number: {arg:?}"))?,
        ),
        "at" => {
            let (first, count) = arg.split_once('x').unwrap_or((arg, "1"));
            Trigger::Burst {
                first: num(first, "at")?,
                count: num(count, "burst length")?,
            }
        }
        _ => return Err(format!("unknown trigger {name:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        let mut f = Faults::default();
        f.add_spec("latency=50+20").unwrap();
        f.add_spec("503@at=3x2").unwrap();
        f.add_spec("429-date:5@every=10").unwrap();
        f.add_spec("slow:16,5@p=0.5").unwrap();
        assert_eq!(f.latency.fixed, Duration::from_millis(50));
        assert_eq!(f.latency.jitter, Duration::from_millis(20));
        assert_eq!(
            f.rules[0],
            FaultRule {
                kind: FaultKind::ServerError { status: 503 },
                trigger: Trigger::Burst { first: 3, count: 2 }
            }
        );
        assert_eq!(
            f.rules[1].kind,
            FaultKind::RateLimited {
                retry_after_secs: 5,
                http_date: true
            }
        );
        f.add_spec("concurrency=4").unwrap();
        assert_eq!(f.concurrency_limit, Some(4));
        assert!(f.add_spec("bogus").is_err());
        assert!(f.add_spec("500@sometimes").is_err());
    }

    #[test]
    fn triggers_select_requests() {
        let mut f = Faults::default();
        f.add_spec("500@at=3x2").unwrap();
        f.add_spec("502@every=4").unwrap();
        let hits: Vec<u64> = (1..=9).filter(|&n| f.fault_for(n).is_some()).collect();
        assert_eq!(hits, vec![3, 4, 8]);
        assert_eq!(
            f.fault_for(4).unwrap().kind,
            FaultKind::ServerError { status: 500 }
        );
    }

    #[test]
    fn probability_is_reproducible_and_roughly_right() {
        let mut f = Faults {
            seed: 42,
            ..Faults::default()
        };
        f.add_spec("reset@p=0.25").unwrap();
        let a: Vec<bool> = (1..=2000).map(|n| f.fault_for(n).is_some()).collect();
        let b: Vec<bool> = (1..=2000).map(|n| f.fault_for(n).is_some()).collect();
        assert_eq!(a, b);
        let count = a.iter().filter(|&&x| x).count();
        assert!((400..600).contains(&count), "{count}");
    }

    #[test]
    fn jitter_stays_in_bounds() {
        let mut f = Faults::default();
        f.add_spec("latency=10+5").unwrap();
        for n in 1..100 {
            let d = f.delay_for(n);
            assert!(d >= Duration::from_millis(10) && d <= Duration::from_millis(15));
        }
    }
}
