//! Topology files: each line a chain of node names, consecutive names linked.
//!
//! Names are separated by any whitespace; blank lines are skipped and a `#`
//! starts a comment that runs to the end of the line. A link that repeats an
//! earlier one (in either direction) and a link from a node to itself are
//! ignored; a name alone on a line still makes a node.

use std::collections::{HashMap, HashSet};

/// Index of a node in a [`Topology`], in order of first appearance.
pub use pinecone_netkit::network::NodeId;

/// An undirected graph of named nodes.
#[derive(Debug)]
pub struct Topology {
    names: Vec<String>,
    links: Vec<(NodeId, NodeId)>,
    adjacency_start: Vec<usize>,
    adjacency: Vec<NodeId>,
    component: Vec<u32>,
    component_sizes: Vec<u32>,
}

impl Topology {
    /// Parses the text of a topology file.
    pub fn parse(text: &str) -> Topology {
        let mut ids: HashMap<&str, NodeId> = HashMap::new();
        let mut names = Vec::new();
        let mut seen_links = HashSet::new();
        let mut links = Vec::new();
        for line in text.lines() {
            let content = line.split('#').next().unwrap_or("");
            let mut previous: Option<NodeId> = None;
            for name in content.split_whitespace() {
                let next_id = names.len() as NodeId;
                let id = *ids.entry(name).or_insert_with(|| {
                    names.push(name.to_owned());
                    next_id
                });
                if let Some(prev) = previous {
                    let link = (prev.min(id), prev.max(id));
                    if prev != id && seen_links.insert(link) {
                        links.push(link);
                    }
                }
                previous = Some(id);
            }
        }
        Topology::from_parts(names, links)
    }

    fn from_parts(names: Vec<String>, links: Vec<(NodeId, NodeId)>) -> Topology {
        let n = names.len();
        let mut degree = vec![0usize; n + 1];
        for &(a, b) in &links {
            degree[a as usize] += 1;
            degree[b as usize] += 1;
        }
        let mut adjacency_start = vec![0usize; n + 1];
        for i in 0..n {
            adjacency_start[i + 1] = adjacency_start[i] + degree[i];
        }
        let mut fill = adjacency_start.clone();
        let mut adjacency = vec![0; adjacency_start[n]];
        for &(a, b) in &links {
            adjacency[fill[a as usize]] = b;
            fill[a as usize] += 1;
            adjacency[fill[b as usize]] = a;
            fill[b as usize] += 1;
        }
        let mut topology = Topology {
            names,
            links,
            adjacency_start,
            adjacency,
            component: Vec::new(),
            component_sizes: Vec::new(),
        };
        topology.label_components();
        topology
    }

    fn label_components(&mut self) {
        let n = self.node_count();
        let mut component = vec![u32::MAX; n];
        let mut sizes = Vec::new();
        let mut stack = Vec::new();
        for start in 0..n {
            if component[start] != u32::MAX {
                continue;
            }
            let label = sizes.len() as u32;
            let mut size = 0;
            component[start] = label;
            stack.push(start as NodeId);
            while let Some(node) = stack.pop() {
                size += 1;
                for &next in self.neighbours(node) {
                    if component[next as usize] == u32::MAX {
                        component[next as usize] = label;
                        stack.push(next);
                    }
                }
            }
            sizes.push(size);
        }
        self.component = component;
        self.component_sizes = sizes;
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.names.len()
    }

    /// The distinct links, each as (lower id, higher id).
    pub fn links(&self) -> &[(NodeId, NodeId)] {
        &self.links
    }

    /// The name of a node.
    pub fn name(&self, node: NodeId) -> &str {
        &self.names[node as usize]
    }

    /// The nodes linked to `node`.
    pub fn neighbours(&self, node: NodeId) -> &[NodeId] {
        let node = node as usize;
        &self.adjacency[self.adjacency_start[node]..self.adjacency_start[node + 1]]
    }

    /// The connected component `node` belongs to.
    pub fn component(&self, node: NodeId) -> u32 {
        self.component[node as usize]
    }

    /// The number of connected components.
    pub fn component_count(&self) -> usize {
        self.component_sizes.len()
    }

    /// Number of ordered (source, destination) pairs of distinct nodes that
    /// are connected.
    pub fn connected_pair_count(&self) -> u64 {
        self.component_sizes
            .iter()
            .map(|&size| u64::from(size) * u64::from(size).saturating_sub(1))
            .sum()
    }

    /// Hop counts of the shortest paths from `source` to every node, written
    /// into `dist` (`u32::MAX` for unreachable nodes). `queue` is scratch.
    pub fn bfs(&self, source: NodeId, dist: &mut Vec<u32>, queue: &mut Vec<NodeId>) {
        dist.clear();
        dist.resize(self.node_count(), u32::MAX);
        queue.clear();
        dist[source as usize] = 0;
        queue.push(source);
        let mut head = 0;
        while head < queue.len() {
            let node = queue[head];
            head += 1;
            let next_dist = dist[node as usize] + 1;
            for &next in self.neighbours(node) {
                if dist[next as usize] == u32::MAX {
                    dist[next as usize] = next_dist;
                    queue.push(next);
                }
            }
        }
    }

    /// An upper bound on the diameter of every component: twice the
    /// eccentricity of one node in each.
    pub fn diameter_bound(&self) -> u32 {
        let (mut dist, mut queue) = (Vec::new(), Vec::new());
        let mut seen = vec![false; self.component_count()];
        let mut bound = 0;
        for node in 0..self.node_count() as NodeId {
            let component = self.component(node) as usize;
            if std::mem::replace(&mut seen[component], true) {
                continue;
            }
            self.bfs(node, &mut dist, &mut queue);
            let eccentricity = queue.iter().map(|&n| dist[n as usize]).max().unwrap_or(0);
            bound = bound.max(2 * eccentricity);
        }
        bound
    }

    /// Whether the graph without the links at `removed` (indices into
    /// [`Topology::links`]) still has exactly [`Topology::component_count`]
    /// components, i.e. removing them separates no two nodes.
    pub fn stays_connected_without(&self, removed: &[usize]) -> bool {
        let mut parent: Vec<u32> = (0..self.node_count() as u32).collect();
        fn find(parent: &mut [u32], mut x: u32) -> u32 {
            while parent[x as usize] != x {
                let grandparent = parent[parent[x as usize] as usize];
                parent[x as usize] = grandparent;
                x = grandparent;
            }
            x
        }
        let mut components = self.node_count();
        for (index, &(a, b)) in self.links.iter().enumerate() {
            if removed.contains(&index) {
                continue;
            }
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra != rb {
                parent[ra as usize] = rb;
                components -= 1;
            }
        }
        components == self.component_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_become_links_without_duplicates_or_self_links() {
        let topology =
            Topology::parse("a b c\n  c b  \t a  c\n\n# comment only\nd d e # tail\nf\n");
        let names: Vec<&str> = (0..topology.node_count() as NodeId)
            .map(|id| topology.name(id))
            .collect();
        assert_eq!(names, ["a", "b", "c", "d", "e", "f"]);
        assert_eq!(topology.links(), &[(0, 1), (1, 2), (0, 2), (3, 4)]);
        assert_eq!(topology.neighbours(0), &[1, 2]);
        assert_eq!(topology.neighbours(5), &[] as &[NodeId]);
    }

    #[test]
    fn components_and_connected_pairs() {
        let topology = Topology::parse("a b c\nd e\nf\n");
        assert_eq!(topology.component_count(), 3);
        assert_eq!(topology.component(0), topology.component(2));
        assert_ne!(topology.component(0), topology.component(3));
        assert_eq!(topology.connected_pair_count(), 3 * 2 + 2);
    }

    #[test]
    fn bfs_gives_shortest_hop_counts() {
        // A ring of six: the far side is three hops either way.
        let topology = Topology::parse("0 1 2 3 4 5 0\n9");
        let (mut dist, mut queue) = (Vec::new(), Vec::new());
        topology.bfs(0, &mut dist, &mut queue);
        assert_eq!(dist[..6], [0, 1, 2, 3, 2, 1]);
        assert_eq!(dist[6], u32::MAX);
    }

    #[test]
    fn diameter_bound_covers_the_longest_shortest_path() {
        // A line of five has diameter 4; from its first node the bound is 8.
        let line = Topology::parse("a b c d e\nx y");
        assert_eq!(line.diameter_bound(), 8);
        let ring = Topology::parse("0 1 2 3 4 5 0");
        assert_eq!(ring.diameter_bound(), 6);
    }

    #[test]
    fn cutting_a_bridge_is_detected() {
        // A triangle with a tail: the tail link is a bridge, ring links are not.
        let topology = Topology::parse("a b c a\nc d");
        let bridge = topology.links().iter().position(|&l| l == (2, 3)).unwrap();
        assert!(topology.stays_connected_without(&[0]));
        assert!(!topology.stays_connected_without(&[bridge]));
        assert!(!topology.stays_connected_without(&[0, 1]));
    }
}
