//! Virtual Pinecone networks, shared by the engine's tests, the benchmarks
//! and the `pinecone-sim` simulator, so that all of them exercise routers
//! the same way:
//!
//! * [`network`]: routers of the control plane joined by links with a fixed
//!   latency, run by a deterministic discrete-event loop in virtual
//!   milliseconds (optionally stepping routers in parallel);
//! * [`shapes`]: the links of small standard shapes (line, ring, star,
//!   grid, random connected graph), and [`rng`], the seeded random numbers
//!   behind every random choice;
//! * [`keys`]: deterministic signing keys;
//! * [`frames`]: frames built by hand as fake peers would send them, and
//!   readers for what a router sends;
//! * [`fixture`]: one router with fake peers (a parent and children, SNEK
//!   paths on demand) whose routing table drives forwarding workers, and
//!   helpers that play the I/O driver around a worker.
//!
//! Everything here panics on misuse (a malformed frame it was asked to
//! build, a fixture frame a router refuses): it is for tests and
//! measurements, not for production code.

pub mod fixture;
pub mod frames;
pub mod keys;
pub mod network;
pub mod rng;
pub mod shapes;
