//! Path stretch: links a datagram crossed divided by the shortest path.

/// Mean and percentiles of a set of stretch values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StretchSummary {
    /// Arithmetic mean.
    pub mean: f64,
    /// Median (nearest rank).
    pub p50: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
}

impl StretchSummary {
    /// Summarises `(hops, shortest)` pairs; `None` when there are none.
    pub fn of(samples: impl Iterator<Item = (u32, u32)>) -> Option<StretchSummary> {
        let mut values: Vec<f64> = samples
            .map(|(hops, shortest)| f64::from(hops) / f64::from(shortest.max(1)))
            .collect();
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        Some(StretchSummary {
            mean,
            p50: nearest_rank(&values, 0.50),
            p99: nearest_rank(&values, 0.99),
        })
    }
}

/// The nearest-rank percentile `p` (0..=1) of sorted, non-empty `values`.
fn nearest_rank(values: &[f64], p: f64) -> f64 {
    let rank = (p * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_known_values() {
        // Stretches 1, 1, 1.5, 2 and, for the 99th percentile, 3.
        let samples = [(2, 2), (3, 3), (3, 2), (4, 2), (6, 2)];
        let summary = StretchSummary::of(samples.into_iter()).unwrap();
        assert!((summary.mean - 1.7).abs() < 1e-9);
        assert_eq!(summary.p50, 1.5);
        assert_eq!(summary.p99, 3.0);
    }

    #[test]
    fn no_samples_no_summary() {
        assert_eq!(StretchSummary::of(std::iter::empty()), None);
    }
}
