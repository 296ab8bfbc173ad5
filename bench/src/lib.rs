//! Measurements of the Pinecone engine.
//!
//! The library half holds the sample inputs the benchmarks run on, built
//! with the engine's own encoders so that every sample is a valid frame.

pub mod samples;
