//! Which core each of a node's threads is pinned to, if any.

use core_affinity::CoreId;
use tracing::{info, warn};

/// The cores a node's forwarding threads and control thread run on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CorePlan {
    /// By worker index; empty when nothing is pinned.
    workers: Vec<CoreId>,
    /// The control thread's core.
    control: Option<CoreId>,
}

impl CorePlan {
    /// The plan for `workers` forwarding threads when pinning is asked for:
    /// worker `i` on the `i`-th core this process may run on, and the
    /// control thread on the core after the last worker's, or on the last
    /// core when every core has a worker, which keeps it off worker 0, the
    /// busiest (a node's first peerings all go there). Nothing is pinned
    /// when there are fewer cores than workers.
    pub(crate) fn new(workers: usize, pin: bool) -> CorePlan {
        if !pin {
            return CorePlan::default();
        }
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        let plan = CorePlan::over(&cores, workers);
        if plan.workers.is_empty() {
            info!(
                workers,
                cores = cores.len(),
                "fewer cores than forwarding workers: no thread is pinned"
            );
        } else {
            info!(workers = ?ids(&plan.workers), control = ?plan.control.map(|c| c.id), "threads pinned to cores");
        }
        plan
    }

    /// The plan for `workers` over the allowed `cores`.
    fn over(cores: &[CoreId], workers: usize) -> CorePlan {
        if workers == 0 || cores.len() < workers {
            return CorePlan::default();
        }
        let control = if cores.len() > 1 {
            cores.get(workers.min(cores.len() - 1)).copied()
        } else {
            None
        };
        CorePlan {
            workers: cores[..workers].to_vec(),
            control,
        }
    }

    /// The core of worker `index`, if pinned.
    pub(crate) fn worker(&self, index: usize) -> Option<CoreId> {
        self.workers.get(index).copied()
    }

    /// The control thread's core, if pinned.
    pub(crate) fn control(&self) -> Option<CoreId> {
        self.control
    }
}

/// Pins the calling thread to `core`, if one is given; a refusal is logged
/// and otherwise ignored (the thread runs unpinned).
pub(crate) fn pin_current(core: Option<CoreId>) {
    if let Some(core) = core {
        if !core_affinity::set_for_current(core) {
            warn!(core = core.id, "cannot pin a thread to its core");
        }
    }
}

fn ids(cores: &[CoreId]) -> Vec<usize> {
    cores.iter().map(|c| c.id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cores(ids: &[usize]) -> Vec<CoreId> {
        ids.iter().map(|&id| CoreId { id }).collect()
    }

    #[test]
    fn a_core_per_worker_and_the_control_thread_off_worker_zero() {
        let plan = CorePlan::over(&cores(&[0, 1]), 2);
        assert_eq!(plan.worker(0), Some(CoreId { id: 0 }));
        assert_eq!(plan.worker(1), Some(CoreId { id: 1 }));
        assert_eq!(plan.control(), Some(CoreId { id: 1 }));
        let spare = CorePlan::over(&cores(&[2, 5, 7, 9]), 2);
        assert_eq!(spare.worker(1), Some(CoreId { id: 5 }));
        assert_eq!(spare.control(), Some(CoreId { id: 7 }), "a core of its own");
    }

    #[test]
    fn nothing_pinned_without_a_core_per_worker() {
        assert_eq!(CorePlan::over(&cores(&[0, 1]), 3), CorePlan::default());
        assert_eq!(CorePlan::over(&[], 1), CorePlan::default());
        let single = CorePlan::over(&cores(&[3]), 1);
        assert_eq!(single.worker(0), Some(CoreId { id: 3 }));
        assert_eq!(single.control(), None, "no core off the worker's");
    }

    #[test]
    fn not_asked_means_not_pinned() {
        let plan = CorePlan::new(1, false);
        assert_eq!((plan.worker(0), plan.control()), (None, None));
    }
}
