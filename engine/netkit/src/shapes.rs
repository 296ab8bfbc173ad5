//! The links of small standard network shapes, as pairs of node indices
//! (for [`Network::new`](crate::network::Network::new)).

use crate::network::NodeId;
use crate::rng::Rng;

/// `n` nodes in a line: 0–1, 1–2, ….
pub fn line(n: usize) -> Vec<(NodeId, NodeId)> {
    (1..n).map(|i| (node(i - 1), node(i))).collect()
}

/// A line closed into a ring.
pub fn ring(n: usize) -> Vec<(NodeId, NodeId)> {
    let mut links = line(n);
    if n > 2 {
        links.push((node(n - 1), 0));
    }
    links
}

/// Node 0 linked to every other node.
pub fn star(n: usize) -> Vec<(NodeId, NodeId)> {
    (1..n).map(|i| (0, node(i))).collect()
}

/// A `width` × `height` grid, row by row, each node linked to its right
/// and lower neighbours.
pub fn grid(width: usize, height: usize) -> Vec<(NodeId, NodeId)> {
    let mut links = Vec::new();
    for y in 0..height {
        for x in 0..width {
            let i = y * width + x;
            if x + 1 < width {
                links.push((node(i), node(i + 1)));
            }
            if y + 1 < height {
                links.push((node(i), node(i + width)));
            }
        }
    }
    links
}

/// A random connected graph of `n` nodes: a random spanning tree (each node
/// linked to one before it) plus `extra` distinct links more. `extra` must
/// fit in the graph.
pub fn random(n: usize, extra: usize, seed: u64) -> Vec<(NodeId, NodeId)> {
    let mut rng = Rng::new(seed, 0);
    let mut links = Vec::new();
    for i in 1..n {
        links.push((node(rng.below(i as u64) as usize), node(i)));
    }
    let mut added = 0;
    while added < extra {
        let a = node(rng.below(n as u64) as usize);
        let b = node(rng.below(n as u64) as usize);
        if a != b && !links.contains(&(a, b)) && !links.contains(&(b, a)) {
            links.push((a, b));
            added += 1;
        }
    }
    links
}

fn node(index: usize) -> NodeId {
    NodeId::try_from(index).expect("more nodes than a NodeId numbers")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_have_their_link_counts() {
        assert_eq!(line(5).len(), 4);
        assert_eq!(ring(5).len(), 5);
        assert_eq!(star(5), vec![(0, 1), (0, 2), (0, 3), (0, 4)]);
        assert_eq!(grid(3, 2).len(), 7);
    }

    #[test]
    fn a_random_graph_is_connected_without_repeated_links() {
        let links = random(30, 10, 4);
        assert_eq!(links.len(), 29 + 10);
        let mut reached = [false; 30];
        reached[0] = true;
        // Each node links to one before it first, so one pass reaches all.
        for &(a, b) in &links[..29] {
            assert!(reached[a as usize]);
            reached[b as usize] = true;
        }
        assert!(reached.iter().all(|&r| r));
        for (i, &(a, b)) in links.iter().enumerate() {
            assert_ne!(a, b);
            assert!(!links[i + 1..].contains(&(a, b)) && !links[i + 1..].contains(&(b, a)));
        }
        assert_eq!(links, random(30, 10, 4), "the same seed, the same graph");
    }
}
