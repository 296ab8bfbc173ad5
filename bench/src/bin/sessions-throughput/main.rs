//! `sessions-throughput`: stream throughput between two directly peered
//! nodes in two processes, through end-to-end sessions, for every variant
//! given, in the same run.
//!
//! Each variant is a command speaking one small protocol, so that other
//! stacks (the Go package over the C ABI, quic-go over the project's
//! `net.PacketConn`) join the same run:
//!
//! * `COMMAND serve` starts a node listening for TCP peers on loopback,
//!   accepts session streams for protocol `bench` and echoes each one
//!   back to its end (then finishes its side). It prints one line
//!   `READY <hex key> <host:port>` once it listens, and runs until killed.
//! * `COMMAND send <host:port> <hex key> <bytes> <write size>` starts a
//!   node peered with that address, dials a stream to the key, writes
//!   `<bytes>` in writes of `<write size>` bytes while reading the echo,
//!   and prints `RESULT <bytes echoed> <seconds>`: the time from the
//!   stream's dial returning to the last echoed byte read.
//!
//! This binary is itself the `rust` variant (`sessions-throughput serve`
//! and `… send`). `--variant NAME=COMMAND` adds others (COMMAND is split
//! on spaces). Runs take turns between variants; the report gives each
//! variant's median in MB/s (10^6 bytes of echoed stream data per second).

mod roles;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Session stream throughput between two peered nodes in two processes")]
struct Args {
    #[command(subcommand)]
    role: Option<Role>,
    /// Bytes echoed per run.
    #[arg(long, default_value_t = 64 << 20)]
    bytes: u64,
    /// The size of each write.
    #[arg(long, default_value_t = 16 << 10)]
    write_size: usize,
    /// Runs per variant.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Another variant: NAME=COMMAND (repeatable).
    #[arg(long = "variant")]
    variants: Vec<String>,
    /// Leave out the built-in Rust variant.
    #[arg(long)]
    no_rust: bool,
}

#[derive(Subcommand)]
enum Role {
    /// Serve echo streams (prints `READY <key> <address>`).
    Serve,
    /// Echo bytes through a stream to a serving node (prints RESULT).
    Send {
        address: String,
        key: String,
        bytes: u64,
        write_size: usize,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let outcome = match args.role {
        Some(Role::Serve) => roles::serve(),
        Some(Role::Send {
            address,
            key,
            bytes,
            write_size,
        }) => roles::send(&address, &key, bytes, write_size),
        None => compare(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sessions-throughput: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every variant `runs` times, taking turns, and reports medians.
fn compare(args: &Args) -> Result<(), String> {
    let mut variants: Vec<(String, Vec<String>)> = Vec::new();
    if !args.no_rust {
        let me = std::env::current_exe().map_err(|e| e.to_string())?;
        variants.push(("rust".to_owned(), vec![me.display().to_string()]));
    }
    for variant in &args.variants {
        let (name, command) = variant
            .split_once('=')
            .ok_or_else(|| format!("--variant {variant:?}: expected NAME=COMMAND"))?;
        let words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
        if words.is_empty() {
            return Err(format!("--variant {name}: empty command"));
        }
        variants.push((name.to_owned(), words));
    }
    println!(
        "{} bytes echoed per run, writes of {} bytes, {} runs per variant",
        args.bytes, args.write_size, args.runs
    );
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for run in 0..args.runs {
        for (index, (name, command)) in variants.iter().enumerate() {
            let rate = measure(command, args.bytes, args.write_size)
                .map_err(|error| format!("{name}: {error}"))?;
            println!("run {run} {name}: {rate:.1} MB/s");
            rates[index].push(rate);
        }
    }
    println!("median MB/s:");
    for ((name, _), mut values) in variants.iter().zip(rates) {
        values.sort_by(f64::total_cmp);
        let median = values.get(values.len() / 2).copied().unwrap_or(0.0);
        println!("  {name}: {median:.1}");
    }
    Ok(())
}

/// Kills the serving process when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One run of a variant; MB/s of echoed data.
fn measure(command: &[String], bytes: u64, write_size: usize) -> Result<f64, String> {
    let (program, fixed) = command.split_first().ok_or("empty command")?;
    let mut server = Server(
        Command::new(program)
            .args(fixed)
            .arg("serve")
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting the server: {e}"))?,
    );
    let stdout = server.0.stdout.take().ok_or("no server output")?;
    let mut ready = String::new();
    BufReader::new(stdout)
        .read_line(&mut ready)
        .map_err(|e| e.to_string())?;
    let fields: Vec<&str> = ready.split_whitespace().collect();
    let ["READY", key, address] = fields.as_slice() else {
        return Err(format!(
            "the server said {ready:?}, not READY <key> <address>"
        ));
    };
    let output = Command::new(program)
        .args(fixed)
        .args([
            "send",
            address,
            key,
            &bytes.to_string(),
            &write_size.to_string(),
        ])
        .output()
        .map_err(|e| format!("starting the sender: {e}"))?;
    drop(server);
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|line| line.starts_with("RESULT "))
        .ok_or_else(|| {
            format!(
                "the sender printed no RESULT: {text} {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let ["RESULT", echoed, seconds] = fields.as_slice() else {
        return Err(format!("bad RESULT line {line:?}"));
    };
    let echoed: f64 = echoed
        .parse()
        .map_err(|_| format!("bad byte count in {line:?}"))?;
    let seconds: f64 = seconds
        .parse()
        .map_err(|_| format!("bad time in {line:?}"))?;
    if seconds <= 0.0 {
        return Err(format!("no time measured in {line:?}"));
    }
    Ok(echoed / seconds / 1e6)
}
