//! One timed measurement: drive a generator, watch a frame count.

use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::generator::{Batch, Generator};
use crate::sink::FrameCount;

/// What one measurement window saw.
pub struct Sample {
    /// Traffic frames the sink counted in the window.
    pub delivered: u64,
    /// Traffic frames the generator wrote in the window.
    pub offered: u64,
    /// Length of the window.
    pub seconds: f64,
    /// CPU seconds the node used in the window, when there is a node.
    pub node_cpu_seconds: Option<f64>,
}

impl Sample {
    /// Delivered frames per second.
    pub fn delivered_pps(&self) -> f64 {
        self.delivered as f64 / self.seconds
    }

    /// Offered frames per second.
    pub fn offered_pps(&self) -> f64 {
        self.offered as f64 / self.seconds
    }

    /// The node's CPU seconds per million delivered frames.
    pub fn node_cpu_per_million(&self) -> Option<f64> {
        let cpu = self.node_cpu_seconds?;
        (self.delivered > 0).then(|| cpu * 1e6 / self.delivered as f64)
    }
}

/// Timing of a measurement.
#[derive(Clone, Copy)]
pub struct Timing {
    /// Sending before the window opens, so queues reach a steady state.
    pub warmup: Duration,
    /// The window itself.
    pub window: Duration,
    /// Frames per second to offer; as many as the path takes when `None`.
    pub rate: Option<f64>,
}

/// Writes `batch` through `writer` for the warm-up and the window, counting
/// what `count` sees during the window. `node_cpu` reads the node's CPU
/// seconds, if there is a node.
pub fn measure(
    writer: &Arc<Mutex<TcpStream>>,
    batch: &Arc<Batch>,
    count: &FrameCount,
    timing: Timing,
    node_cpu: &dyn Fn() -> Option<f64>,
) -> Sample {
    let generator = Generator::start(Arc::clone(writer), Arc::clone(batch), timing.rate);
    std::thread::sleep(timing.warmup);
    let (delivered0, offered0, cpu0, start) =
        (count.get(), generator.offered(), node_cpu(), Instant::now());
    std::thread::sleep(timing.window);
    let (delivered1, offered1, cpu1, seconds) = (
        count.get(),
        generator.offered(),
        node_cpu(),
        start.elapsed().as_secs_f64(),
    );
    generator.stop();
    settle(count);
    Sample {
        delivered: delivered1 - delivered0,
        offered: offered1 - offered0,
        seconds,
        node_cpu_seconds: cpu0.zip(cpu1).map(|(a, b)| b - a),
    }
}

/// Sends single frames until `count` moves, proving the path works.
pub fn wait_until_delivering(
    writer: &Mutex<TcpStream>,
    batch: &Batch,
    count: &FrameCount,
    timeout: Duration,
) -> Result<(), String> {
    let before = count.get();
    let deadline = Instant::now() + timeout;
    while count.get() == before {
        if Instant::now() > deadline {
            return Err(format!("no frame delivered within {timeout:?}"));
        }
        let mut stream = writer.lock().map_err(|_| "writer poisoned")?;
        stream
            .write_all(batch.one_frame())
            .map_err(|e| format!("write: {e}"))?;
        drop(stream);
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Waits until frames still in flight have arrived (the count holds still
/// for 200 ms, or 5 s have passed), so they do not spill into the next
/// measurement.
fn settle(count: &FrameCount) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = count.get();
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        let now = count.get();
        if now == last {
            return;
        }
        last = now;
    }
}
