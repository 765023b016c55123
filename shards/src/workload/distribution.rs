//! Heavy-tailed and other sampling by inverse transform, without a distributions crate.

use rand::Rng;

/// Uniform in (0, 1]: never 0, so logarithms and negative powers stay finite.
pub(crate) fn unit_open<R: Rng>(rng: &mut R) -> f64 {
    1.0 - rng.random::<f64>()
}

/// True with probability `p`.
pub(crate) fn chance<R: Rng>(rng: &mut R, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// Uniform index in `0..n`; `n` must be positive.
pub(crate) fn index<R: Rng>(rng: &mut R, n: usize) -> usize {
    rng.random_range(0..n.max(1))
}

/// Exponential with the given rate (mean `1 / rate`).
pub(crate) fn exponential<R: Rng>(rng: &mut R, rate: f64) -> f64 {
    -unit_open(rng).ln() / rate
}

/// Pareto with scale `xm` (the minimum) and shape `alpha`: `P(X > x) = (xm / x)^alpha`.
pub(crate) fn pareto<R: Rng>(rng: &mut R, xm: f64, alpha: f64) -> f64 {
    xm / unit_open(rng).powf(1.0 / alpha)
}

/// A rank in `0..n` with weight `(rank + 1)^-s` (Zipf), by inverse transform of the continuous
/// power law on `[1, n + 1)`: rank 0 is the most likely. `n == 0` gives 0.
pub(crate) fn zipf<R: Rng>(rng: &mut R, n: usize, s: f64) -> usize {
    if n <= 1 {
        return 0;
    }
    let u = rng.random::<f64>();
    let top = (n + 1) as f64;
    let x = if (s - 1.0).abs() < 1e-9 {
        top.powf(u)
    } else {
        let e = 1.0 - s;
        (1.0 + u * (top.powf(e) - 1.0)).powf(1.0 / e)
    };
    // `as` saturates; NaN (impossible here) would give 0.
    (x as usize).saturating_sub(1).min(n - 1)
}

/// A fixed discrete distribution over `0..weights.len()`, sampled by binary search in the
/// cumulative weights.
#[derive(Debug, Clone)]
pub(crate) struct Weighted {
    cumulative: Vec<f64>,
}

impl Weighted {
    /// Builds from non-negative weights (negative or NaN ones count as 0).
    pub(crate) fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                if w > 0.0 {
                    total += w;
                }
                total
            })
            .collect();
        Self { cumulative }
    }

    /// Whether no outcome has a positive weight.
    pub(crate) fn is_empty(&self) -> bool {
        self.total() <= 0.0
    }

    fn total(&self) -> f64 {
        self.cumulative.last().copied().unwrap_or(0.0)
    }

    /// An index drawn by weight; 0 when empty.
    pub(crate) fn sample<R: Rng>(&self, rng: &mut R) -> usize {
        let x = rng.random::<f64>() * self.total();
        let i = self.cumulative.partition_point(|&c| c <= x);
        i.min(self.cumulative.len().saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    #[test]
    fn zipf_is_heavy_at_the_head_and_in_range() {
        let mut rng = SmallRng::seed_from_u64(1);
        let n = 1000;
        let mut counts = vec![0u32; n];
        for _ in 0..200_000 {
            counts[zipf(&mut rng, n, 1.1)] += 1;
        }
        let top10: u32 = counts[..10].iter().sum();
        assert!(top10 > 200_000 / 3, "top 1% has {top10}");
        assert!(counts[0] > counts[1] && counts[1] > counts[5]);
        assert!(counts[n - 1] > 0 || counts[n - 2] > 0 || counts[n - 3] > 0);
    }

    #[test]
    fn weighted_follows_weights() {
        let mut rng = SmallRng::seed_from_u64(2);
        let w = Weighted::new([1.0, 0.0, 3.0]);
        let mut counts = [0u32; 3];
        for _ in 0..40_000 {
            counts[w.sample(&mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((counts[2] as f64 / counts[0] as f64 - 3.0).abs() < 0.3);
    }

    #[test]
    fn pareto_tail() {
        let mut rng = SmallRng::seed_from_u64(3);
        let n = 100_000;
        let over = (0..n)
            .filter(|_| pareto(&mut rng, 4.0, 0.75) > 40.0)
            .count();
        // (4/40)^0.75 = 0.178
        assert!((over as f64 / n as f64 - 0.178).abs() < 0.01);
    }
}
