//! The daemon's memory as the kernel reports it in `/proc/PID/status`.

/// Resident set sizes of a process, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resident {
    /// Resident now (`VmRSS`).
    pub now_kib: u64,
    /// The most ever resident (`VmHWM`).
    pub peak_kib: u64,
}

/// Reads `/proc/<pid>/status` of process `pid`.
pub fn read(pid: u32) -> Result<Resident, String> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    parse_status(&text).ok_or_else(|| format!("{path}: no VmRSS and VmHWM lines"))
}

/// The `VmRSS` and `VmHWM` lines of a status file, when both are there.
pub fn parse_status(text: &str) -> Option<Resident> {
    Some(Resident {
        now_kib: field_kib(text, "VmRSS:")?,
        peak_kib: field_kib(text, "VmHWM:")?,
    })
}

/// The value of a `Name:   1234 kB` line.
fn field_kib(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|line| line.starts_with(name))?;
    let mut words = line.get(name.len()..)?.split_whitespace();
    let value = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rss_and_high_water_mark() {
        let status =
            "Name:\tpinecone\nVmPeak:\t  900000 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(
            parse_status(status),
            Some(Resident {
                now_kib: 10_240,
                peak_kib: 20_480
            })
        );
    }

    #[test]
    fn missing_or_malformed_lines_give_nothing() {
        assert_eq!(parse_status("VmRSS:\t 1 kB\n"), None);
        assert_eq!(parse_status("VmRSS:\t x kB\nVmHWM:\t 2 kB\n"), None);
        assert_eq!(parse_status("VmRSS:\t 1 MB\nVmHWM:\t 2 kB\n"), None);
        assert_eq!(parse_status(""), None);
    }

    #[test]
    fn this_process_has_a_resident_set() {
        let own = read(std::process::id()).expect("own status");
        assert!(own.now_kib > 0 && own.peak_kib >= own.now_kib);
    }
}
