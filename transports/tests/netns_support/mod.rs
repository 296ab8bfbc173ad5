//! Two network namespaces joined by a veth pair: a LAN of two hosts for the
//! multicast tests. Making one needs root (or `CAP_SYS_ADMIN` and
//! `CAP_NET_ADMIN`) and `ip` from iproute2; where that is missing a test
//! says why and is skipped, unless `PINECONE_REQUIRE_NETNS=1` (set by
//! `scripts/test-all` when it runs as root), where it fails.
#![allow(dead_code)]

use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

/// The variable that turns a missing namespace setup into a failure.
pub const REQUIRE_VARIABLE: &str = "PINECONE_REQUIRE_NETNS";

/// Each host's interface name and IPv4 address (its IPv6 link-local
/// address is the kernel's).
pub const HOSTS: [(&str, Ipv4Addr); 2] = [
    ("lan-a", Ipv4Addr::new(10, 200, 0, 1)),
    ("lan-b", Ipv4Addr::new(10, 200, 0, 2)),
];

/// Which address families the LAN carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Families {
    /// IPv4 and IPv6 link-local.
    Both,
    /// IPv6 link-local only: no IPv4 address on either host.
    Ipv6Only,
}

/// Two namespaces on one veth link, deleted on drop.
#[derive(Debug)]
pub struct Lan {
    namespaces: [String; 2],
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A LAN for test `test`, or `None` (with the reason printed) when this
/// machine cannot make one and namespaces are not required.
pub fn lan_or_skip(test: &str, families: Families) -> Option<Lan> {
    match Lan::create(families) {
        Ok(lan) => Some(lan),
        Err(reason) => {
            if std::env::var(REQUIRE_VARIABLE).is_ok_and(|v| v == "1") {
                panic!("{test}: cannot make network namespaces ({REQUIRE_VARIABLE}=1): {reason}");
            }
            eprintln!("SKIPPED {test}: cannot make network namespaces: {reason}");
            None
        }
    }
}

/// Runs `ip` with `args`; the error says what failed.
fn ip(args: &[&str]) -> Result<Output, String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip` (iproute2): {e}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

impl Lan {
    /// Makes the namespaces and the link, with duplicate address detection
    /// off (so the link-local IPv6 addresses are usable at once) and, with
    /// [`Families::Both`], an IPv4 address on each side.
    pub fn create(families: Families) -> Result<Lan, String> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let namespaces = [format!("pcmc-{pid}-{n}-a"), format!("pcmc-{pid}-{n}-b")];
        ip(&["netns", "add", &namespaces[0]])?;
        let lan = Lan {
            namespaces: namespaces.clone(),
        };
        ip(&["netns", "add", &namespaces[1]])?;
        let [(a_name, ..), (b_name, ..)] = HOSTS;
        ip(&[
            "link",
            "add",
            a_name,
            "netns",
            &namespaces[0],
            "type",
            "veth",
            "peer",
            "name",
            b_name,
            "netns",
            &namespaces[1],
        ])?;
        for (side, (namespace, (name, v4))) in namespaces.iter().zip(HOSTS).enumerate() {
            ip(&["-n", namespace, "link", "set", "lo", "up"])?;
            let sysctl = format!("/proc/sys/net/ipv6/conf/{name}/accept_dad");
            lan.run_in(side, || std::fs::write(&sysctl, "0"))
                .map_err(|e| {
                    format!("cannot turn duplicate address detection off ({sysctl}): {e}")
                })?;
            if families == Families::Both {
                ip(&[
                    "-n",
                    namespace,
                    "addr",
                    "add",
                    &format!("{v4}/24"),
                    "dev",
                    name,
                ])?;
            }
            ip(&["-n", namespace, "link", "set", name, "up"])?;
        }
        for (namespace, (name, _)) in namespaces.iter().zip(HOSTS) {
            lan.wait_for_link_local(namespace, name)?;
        }
        Ok(lan)
    }

    /// Waits until interface `name` has a link-local IPv6 address that is
    /// usable (not tentative) and is up.
    fn wait_for_link_local(&self, namespace: &str, name: &str) -> Result<(), String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let shown = ip(&[
                "-n", namespace, "-6", "addr", "show", "dev", name, "scope", "link",
            ])?;
            let text = String::from_utf8_lossy(&shown.stdout);
            if text.contains("inet6") && !text.contains("tentative") && text.contains("UP") {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(format!("no usable link-local address on {name}: {text}"));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// The name of host `side`'s namespace.
    pub fn namespace(&self, side: usize) -> &str {
        &self.namespaces[side]
    }

    /// Runs `job` on a thread inside host `side`'s namespace and returns
    /// what it returns. Threads it starts are in the namespace too, and so
    /// are sockets it opens, whichever thread uses them later.
    pub fn run_in<T: Send>(&self, side: usize, job: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.namespaces[side]);
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    let namespace = File::open(&path).expect("open the namespace");
                    move_into_link_name_space(namespace.as_fd(), Some(LinkNameSpaceType::Network))
                        .expect("enter the namespace");
                    job()
                })
                .join()
                .expect("the job in the namespace panicked")
        })
    }

    /// A command that runs `program` in host `side`'s namespace.
    pub fn command(&self, side: usize, program: &str) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.namespaces[side]])
            .arg(program);
        command
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for namespace in &self.namespaces {
            let _ = ip(&["netns", "del", namespace]);
        }
    }
}
