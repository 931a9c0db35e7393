//! Small sampling helpers on top of `StdRng`, so that a seed always gives the same plan.

use rand::Rng;
use rand::rngs::StdRng;

/// One of `items`, chosen with probability proportional to its weight.
pub(crate) fn pick_weighted<T: Copy>(rng: &mut StdRng, items: &[(T, f64)]) -> T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.gen_range(0.0..total.max(f64::MIN_POSITIVE));
    for (item, w) in items {
        if x < *w {
            return *item;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

/// One of `items`, uniformly. `items` must not be empty.
pub(crate) fn uniform<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

/// A weighted choice among indices, by binary search over cumulative weights.
#[derive(Debug, Clone)]
pub(crate) struct Cumulative {
    bounds: Vec<f64>,
}

impl Cumulative {
    /// `None` when there is nothing with a positive weight.
    pub(crate) fn new(weights: impl IntoIterator<Item = f64>) -> Option<Self> {
        let mut acc = 0.0;
        let bounds: Vec<f64> = weights
            .into_iter()
            .map(|w| {
                acc += w.max(0.0);
                acc
            })
            .collect();
        if acc > 0.0 { Some(Self { bounds }) } else { None }
    }

    pub(crate) fn pick(&self, rng: &mut StdRng) -> usize {
        let total = self.bounds.last().copied().unwrap_or(0.0);
        let x = rng.gen_range(0.0..total);
        self.bounds.partition_point(|b| *b <= x).min(self.bounds.len() - 1)
    }
}

/// A standard normal deviate (Box–Muller).
pub(crate) fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.r#gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A log-normal duration in seconds with the given median and spread, clamped to `[lo, hi]`.
pub(crate) fn lognormal(rng: &mut StdRng, median: f64, sigma: f64, lo: f64, hi: f64) -> i64 {
    let x = median * (sigma * normal(rng)).exp();
    x.clamp(lo, hi).round() as i64
}

/// A triangular deviate on `[0, 1]` with its mode at `mode`.
pub(crate) fn triangular(rng: &mut StdRng, mode: f64) -> f64 {
    let u: f64 = rng.r#gen();
    if u < mode { (u * mode).sqrt() } else { 1.0 - ((1.0 - u) * (1.0 - mode)).sqrt() }
}
