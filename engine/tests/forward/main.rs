//! The forwarding plane's tests, in one binary: workers routing by the
//! table of a router with fake peers (`pinecone_netkit::fixture`), with the
//! tests playing the I/O driver.

mod control_queue;
mod memory;
mod threads;
mod worker;
