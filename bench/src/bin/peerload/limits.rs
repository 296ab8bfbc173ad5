//! The tool's own open-file limit.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Raises the soft limit on open files to the hard limit; returns the new
/// limit (`None` for unlimited).
pub fn raise_open_files() -> Result<Option<u64>, String> {
    let limit = getrlimit(Resource::Nofile);
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    setrlimit(Resource::Nofile, raised)
        .map_err(|e| format!("cannot raise the open-file limit: {e}"))?;
    Ok(limit.maximum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_reaches_the_hard_limit() {
        let raised = raise_open_files().expect("raise");
        let now = getrlimit(Resource::Nofile);
        assert_eq!(now.current, raised);
        assert_eq!(now.current, now.maximum);
    }
}
