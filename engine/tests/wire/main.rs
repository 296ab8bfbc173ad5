//! The wire format's tests, in one binary: the Go reference's golden
//! vectors and property tests over every frame type.

mod golden;
mod roundtrip;
