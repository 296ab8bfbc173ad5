//! Runs `pinecone-sim` on small generated topologies and checks that the
//! network it simulates delivers between every pair of nodes.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// Writes a topology file into the test's scratch directory.
fn write_topology(name: &str, text: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sim-{name}.txt"));
    std::fs::write(&path, text).expect("write topology file");
    path
}

/// A chain of `n` nodes on one line.
fn line(n: usize) -> String {
    let names: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
    names.join(" ") + "\n"
}

/// A ring of `n` nodes, one link per line, with a comment and blank line.
fn ring(n: usize) -> String {
    let mut text = String::from("# a ring\n\n");
    for i in 0..n {
        text.push_str(&format!("r{i} r{}\n", (i + 1) % n));
    }
    text
}

/// A `side` × `side` grid, one chain per row and per column.
fn grid(side: usize) -> String {
    let mut text = String::new();
    for row in 0..side {
        let names: Vec<String> = (0..side).map(|col| format!("g{row}x{col}")).collect();
        text.push_str(&names.join(" "));
        text.push('\n');
    }
    for col in 0..side {
        let names: Vec<String> = (0..side).map(|row| format!("g{row}x{col}")).collect();
        text.push_str(&names.join("\t"));
        text.push('\n');
    }
    text
}

/// Runs the simulator with `--json` and the given flags; returns its report.
fn simulate(path: &PathBuf, flags: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_pinecone-sim"))
        .arg("--json")
        .args(flags)
        .arg(path)
        .output()
        .expect("run pinecone-sim");
    assert!(
        output.status.success(),
        "pinecone-sim failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON object on stdout")
}

fn number(report: &Value, field: &str) -> f64 {
    report[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is not a number in {report}"))
}

/// Checks full delivery, convergence within the settle time and sane
/// stretch for a topology of `nodes` nodes and `links` links.
fn assert_fully_delivered(report: &Value, nodes: u64, links: u64, settle_s: f64) {
    assert_eq!(report["nodes"], nodes);
    assert_eq!(report["links"], links);
    assert_eq!(
        report["pairs"],
        nodes * (nodes - 1),
        "every ordered pair is probed"
    );
    assert_eq!(report["delivered"], report["pairs"], "{report}");
    assert_eq!(report["looped"], 0);
    let converged = number(report, "converged_at_s");
    assert!(converged > 0.0 && converged <= settle_s, "{report}");
    let (mean, p50, p99) = (
        number(report, "stretch_mean"),
        number(report, "stretch_p50"),
        number(report, "stretch_p99"),
    );
    assert!(mean >= 1.0 && p50 >= 1.0 && p99 >= p50, "{report}");
    assert!(number(report, "wall_s") > 0.0);
    assert!(number(report, "max_rss_mb") > 0.0);
}

#[test]
fn line_delivers_every_pair_along_the_only_path() {
    let path = write_topology("line", &line(7));
    let report = simulate(&path, &["--settle", "20"]);
    assert_fully_delivered(&report, 7, 6, 20.0);
    // On a line every path is the shortest one.
    assert_eq!(number(&report, "stretch_p99"), 1.0);
}

#[test]
fn ring_delivers_every_pair() {
    let path = write_topology("ring", &ring(9));
    let report = simulate(&path, &["--settle", "20", "--latency-ms", "3"]);
    assert_fully_delivered(&report, 9, 9, 20.0);
}

#[test]
fn grid_delivers_every_pair() {
    let path = write_topology("grid", &grid(4));
    let report = simulate(&path, &["--settle", "20"]);
    assert_fully_delivered(&report, 16, 24, 20.0);
}

#[test]
fn runs_repeat_exactly_whatever_the_thread_count() {
    let path = write_topology("repeat", &grid(3));
    let strip = |mut report: Value| {
        let object = report.as_object_mut().expect("an object");
        object.remove("wall_s");
        object.remove("max_rss_mb");
        report
    };
    let one = strip(simulate(&path, &["--settle", "10", "--threads", "1"]));
    let two = strip(simulate(&path, &["--settle", "10", "--threads", "2"]));
    assert!(number(&one, "frames") > 0.0);
    assert_eq!(one, two);
}

#[test]
fn grid_recovers_from_churn() {
    let path = write_topology("churn", &grid(4));
    let report = simulate(&path, &["--settle", "20", "--churn", "2"]);
    assert_fully_delivered(&report, 16, 24, 20.0);
    assert_eq!(report["churn_links"], 2);
    let ratio = number(&report, "churn_delivery_ratio");
    assert!(ratio > 0.0 && ratio <= 1.0, "{report}");
    let reconverge = number(&report, "reconverge_s");
    assert!(reconverge <= 15.0, "{report}");
    assert_eq!(report["churn_final_delivered"], report["churn_final_pairs"]);
}

#[test]
fn refuses_a_churn_that_would_partition_a_line() {
    let path = write_topology("line-churn", &line(4));
    let output = Command::new(env!("CARGO_BIN_EXE_pinecone-sim"))
        .args(["--json", "--settle", "5", "--churn", "1"])
        .arg(&path)
        .output()
        .expect("run pinecone-sim");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("without partitioning"));
}
