//! A small deterministic pseudo-random generator (SplitMix64) and helpers for realistic fake data.
//!
//! Everything the stand-ins generate comes from here, so a seed and a size fully determine a dataset.

/// SplitMix64: tiny, fast, and good enough for test data. Not for cryptography.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`, further separated by `stream` so independent uses do not correlate.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut rng = Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        rng.next_u64();
        rng
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One of a non-empty list of static strings.
    pub fn pick_str(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len() as u64) as usize]
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Mixes a seed with a counter into an independent value (used for per-request fault decisions).
pub fn mix(seed: u64, a: u64, b: u64) -> u64 {
    Rng::new(seed ^ a.rotate_left(17), b).next_u64()
}

/// First names, deliberately including non-ASCII ones.
pub const FIRST_NAMES: &[&str] = &[
    "Ana", "Jo", "Zoë", "Łukasz", "Chloé", "Søren", "Mei", "Öykü", "José", "Amara", "Björn",
    "Nguyễn", "Ines", "Kwame", "Aiko", "Raj", "Olga", "Seán", "Fatima", "Liam",
];

/// Last names, deliberately including non-ASCII ones.
pub const LAST_NAMES: &[&str] = &[
    "Ruiz",
    "Lind",
    "Müller",
    "García",
    "O'Brien",
    "Kowalski",
    "Nakamura",
    "Dubois",
    "Østergaard",
    "Silva",
    "Ng",
    "Papadopoulos",
    "Çelik",
    "Novák",
    "Smith",
    "Schäfer",
    "Ivanova",
    "Haddad",
    "Kim",
    "Dvořák",
];

/// City names for addresses.
pub const CITIES: &[&str] = &[
    "Lisboa",
    "Kraków",
    "München",
    "Zürich",
    "São Paulo",
    "Malmö",
    "Reykjavík",
    "Tōkyō",
    "Montréal",
    "Dublin",
];

/// Product and issue title words, with emoji and CJK to exercise UTF-8 handling.
pub const WORDS: &[&str] = &[
    "widget",
    "gadget",
    "crème",
    "naïve",
    "façade",
    "über",
    "日本",
    "☕",
    "🚀",
    "résumé",
    "smörgåsbord",
    "fix",
    "crash",
    "slow",
    "timeout",
    "pagination",
    "über-cool",
    "año",
    "dashboard",
    "export",
];

/// A short sentence of `n` words.
pub fn sentence(rng: &mut Rng, n: usize) -> String {
    let mut words = Vec::with_capacity(n);
    for _ in 0..n {
        words.push(*rng.pick(WORDS));
    }
    words.join(" ")
}

/// An e-mail address for a person (lower-case ASCII local part).
pub fn email(first: &str, last: &str, n: u64) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphabetic())
            .collect::<String>()
    };
    format!(
        "{}.{}{}@example.com",
        clean(first).to_lowercase(),
        clean(last).to_lowercase(),
        n
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = Rng::new(7, 1);
        let mut b = Rng::new(7, 1);
        let mut c = Rng::new(7, 2);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..5).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn ranges_hold() {
        let mut r = Rng::new(1, 0);
        for _ in 0..1000 {
            let v = r.range(-3, 3);
            assert!((-3..=3).contains(&v));
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn email_is_ascii() {
        assert_eq!(email("Zoë", "Müller", 3), "zo.mller3@example.com");
    }
}
