//! The switch that runs the node tests on either I/O driver.

use pinecone_transports::IoDriver;

/// The environment variable that picks the I/O driver of every test node
/// (and test daemon) not started on a driver of its own choosing: `uring`
/// (the default) or `epoll`. Running the suite once with each covers both
/// drivers.
pub const TEST_IO_VARIABLE: &str = "PINECONE_TEST_IO";

/// The I/O driver [`TEST_IO_VARIABLE`] asks for; io_uring when it is unset.
/// Any other value fails the test, so that a misspelt switch is not
/// mistaken for a run on the other driver.
pub fn test_io() -> IoDriver {
    match std::env::var(TEST_IO_VARIABLE) {
        Ok(name) => name
            .parse()
            .unwrap_or_else(|e| panic!("{TEST_IO_VARIABLE}: {e}")),
        Err(_) => IoDriver::default(),
    }
}

/// The daemon's `--io` value for [`test_io`].
pub fn test_io_flag() -> &'static str {
    match test_io() {
        IoDriver::Uring => "uring",
        IoDriver::Epoll => "epoll",
    }
}
