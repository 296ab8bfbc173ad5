//! Networks of routers for the control-plane tests: a
//! `pinecone_netkit::network::Network` stepped on this thread, with 1 ms
//! links, and the checks the tests make on it.

use pinecone_engine::control::{Port, Router, RouterConfig};
use pinecone_engine::wire::PublicKey;
use pinecone_netkit::keys::signing_key;
use pinecone_netkit::network::{Inboxes, Network, NodeId};

/// Routers joined by links, and the datagrams they delivered.
pub struct Net {
    network: Network,
    inboxes: Inboxes,
}

/// A network of `n` routers with default settings and keys from `seed`,
/// joined as `links` (all up at virtual time zero).
pub fn build(n: usize, links: &[(NodeId, NodeId)], seed: u64) -> Net {
    let keys = (0..n).map(|i| signing_key(seed, i)).collect();
    Net {
        network: Network::connected(keys, links, &RouterConfig::default()),
        inboxes: Inboxes::default(),
    }
}

impl Net {
    /// How many routers there are.
    pub fn len(&self) -> usize {
        self.network.node_count()
    }

    /// The public key of router `node`.
    pub fn key(&self, node: usize) -> PublicKey {
        self.network.keys()[node]
    }

    /// Router `node`, for inspection.
    pub fn router(&self, node: usize) -> &Router {
        self.network.router(node as NodeId)
    }

    /// Runs for `ms` more virtual milliseconds.
    pub fn run_for(&mut self, ms: u64) {
        let until = self.network.now() + ms;
        self.network.run_before(until, &mut self.inboxes);
    }

    /// Links `a` and `b` now, returning the link's index.
    pub fn connect(&mut self, a: usize, b: usize) -> usize {
        let link = self.network.add_link(a as NodeId, b as NodeId);
        self.network.connect(link, &mut self.inboxes);
        link
    }

    /// Cuts link `link` at both ends, as a closed connection would.
    pub fn disconnect(&mut self, link: usize) {
        self.network.disconnect(link, &mut self.inboxes);
    }

    /// The port on `node` of link `link`, which must be up.
    pub fn port_of(&self, link: usize, node: usize) -> Port {
        self.network
            .port_of(link, node as NodeId)
            .expect("the link is up and ends at the node")
    }

    /// The index of the node with the highest key.
    pub fn strongest(&self) -> usize {
        (0..self.len()).max_by_key(|&i| self.key(i)).unwrap()
    }

    /// Whether every node follows the strongest key as root.
    pub fn one_root(&self) -> bool {
        let root = self.key(self.strongest());
        (0..self.len()).all(|i| self.router(i).root().0 == root)
    }

    /// Sends one datagram between every ordered pair, runs `settle` ms,
    /// and returns the pairs that were not delivered.
    pub fn undelivered_pairs(&mut self, settle: u64) -> Vec<(usize, usize)> {
        self.inboxes.clear();
        let n = self.len();
        let pairs: Vec<(usize, usize)> = (0..n)
            .flat_map(|from| (0..n).map(move |to| (from, to)))
            .filter(|(from, to)| from != to)
            .collect();
        for &(from, to) in &pairs {
            let dest = self.key(to);
            self.network.send(
                from as NodeId,
                dest,
                &pair_payload(from, to),
                &mut self.inboxes,
            );
        }
        self.run_for(settle);
        pairs
            .into_iter()
            .filter(|&(from, to)| {
                !self
                    .inboxes
                    .received(to as NodeId, &self.key(from), &pair_payload(from, to))
            })
            .collect()
    }
}

fn pair_payload(from: usize, to: usize) -> Vec<u8> {
    format!("{from}->{to}").into_bytes()
}
