//! The control plane's tests, in one binary: a router driven by hand
//! against fake peers ([`solo`]), and networks of routers in virtual time
//! ([`net`], over `pinecone_netkit::network`).

mod net;
mod solo;

mod announcement_cost;
mod broadcast;
mod convergence;
mod dump;
mod hostile;
mod network;
mod snek;
mod timers;
mod traffic;
mod tree;
