//! Medians over interleaved runs: each path's rate, its ratio to each relay
//! and to the other I/O driver in the same run, and the node's CPU cost.

use std::collections::BTreeMap;

use crate::measure::Sample;

/// One scenario: payload bytes and number of flows.
pub type Scenario = (usize, usize);

/// Every sample taken, by scenario, then by path name, one per run.
#[derive(Default)]
pub struct Results {
    samples: BTreeMap<Scenario, BTreeMap<String, Vec<Option<Sample>>>>,
}

impl Results {
    /// Records `sample` of path `name` in `scenario` for run `run`.
    pub fn record(&mut self, scenario: Scenario, name: &str, run: usize, sample: Sample) {
        let runs = self
            .samples
            .entry(scenario)
            .or_default()
            .entry(name.to_owned())
            .or_default();
        if runs.len() <= run {
            runs.resize_with(run + 1, || None);
        }
        runs[run] = Some(sample);
    }

    /// Prints one table per scenario: for each path the median delivered
    /// rate, the median of its per-run ratios to each relay, and the median
    /// CPU seconds per million frames; then io_uring against epoll for each
    /// daemon that ran both.
    pub fn print_medians(&self, relays: &[String], pairs: &[(String, String)]) {
        for (&(payload, flows), paths) in &self.samples {
            println!(
                "\npayload {payload} B, {flows} flow(s): medians of {} run(s)",
                runs_of(paths)
            );
            let mut header = format!("{:<22} {:>12}", "path", "pps");
            for relay in relays {
                header += &format!(" {:>14}", format!("÷ {relay}"));
            }
            header += &format!(" {:>10}", "CPU s/Mf");
            println!("{header}");
            for (name, runs) in paths {
                let mut line = format!(
                    "{:<22} {:>12.0}",
                    name,
                    median(runs.iter().flatten().map(Sample::delivered_pps)).unwrap_or(0.0)
                );
                for relay in relays {
                    let ratio = paths.get(relay).and_then(|base| ratio_median(runs, base));
                    line += &format!(" {:>14}", percent(ratio));
                }
                let cpu = median(
                    runs.iter()
                        .flatten()
                        .filter_map(Sample::node_cpu_per_million),
                );
                line += &format!(" {:>10}", cpu.map_or("-".into(), |c| format!("{c:.3}")));
                println!("{line}");
            }
            for (uring, epoll) in pairs {
                if let (Some(a), Some(b)) = (paths.get(uring), paths.get(epoll)) {
                    println!("{uring} ÷ {epoll}: {}", percent(ratio_median(a, b)));
                }
            }
        }
    }
}

fn runs_of(paths: &BTreeMap<String, Vec<Option<Sample>>>) -> usize {
    paths
        .values()
        .map(|runs| runs.iter().flatten().count())
        .max()
        .unwrap_or(0)
}

/// The median of the per-run ratios of `runs` to `base` (runs where both
/// have a sample).
fn ratio_median(runs: &[Option<Sample>], base: &[Option<Sample>]) -> Option<f64> {
    median(runs.iter().zip(base).filter_map(|pair| match pair {
        (Some(a), Some(b)) if b.delivered > 0 => Some(a.delivered_pps() / b.delivered_pps()),
        _ => None,
    }))
}

fn percent(ratio: Option<f64>) -> String {
    ratio.map_or("-".into(), |r| format!("{:.1}%", r * 100.0))
}

/// The median (the mean of the middle two for an even count).
pub fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut values: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median([3.0, 1.0, 2.0].into_iter()), Some(2.0));
        assert_eq!(median([4.0, 1.0, 3.0, 2.0].into_iter()), Some(2.5));
        assert_eq!(median(std::iter::empty()), None);
        assert_eq!(median([f64::NAN, 5.0].into_iter()), Some(5.0));
    }

    #[test]
    fn ratios_pair_samples_of_the_same_run() {
        let sample = |delivered| {
            Some(Sample {
                delivered,
                offered: delivered,
                seconds: 1.0,
                node_cpu_seconds: None,
            })
        };
        let node = [sample(50), sample(90), None];
        let relay = [sample(100), sample(100), sample(100)];
        assert_eq!(ratio_median(&node, &relay), Some(0.7));
    }
}
