//! Prometheus metrics for an MCP endpoint: requests by outcome, a latency histogram, live legacy
//! sessions. Counters are atomics; rendering is the text exposition format.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use crate::handler::BoxFuture;

/// Upper bounds (seconds) of the latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// The endpoint's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    by_class: [AtomicU64; 5],
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Metrics {
    /// New counters.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Records one answered request.
    pub fn record(&self, status: u16, seconds: f64) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            if seconds <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        // Whole microseconds: enough for a sum, and atomics have no f64 add.
        self.sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// Renders the counters, plus `sessions` live legacy sessions and `extra` lines the caller
    /// adds (per-upstream counters of a gateway).
    pub fn render(&self, sessions: usize, extra: &str) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str("# HELP switchyard_requests_total HTTP requests to the MCP endpoint by status class.\n# TYPE switchyard_requests_total counter\n");
        for (i, c) in self.by_class.iter().enumerate() {
            out.push_str(&format!(
                "switchyard_requests_total{{status=\"{}xx\"}} {}\n",
                i + 1,
                c.load(Ordering::Relaxed)
            ));
        }
        out.push_str("# HELP switchyard_request_duration_seconds Time to the response head.\n# TYPE switchyard_request_duration_seconds histogram\n");
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            out.push_str(&format!(
                "switchyard_request_duration_seconds_bucket{{le=\"{b}\"}} {}\n",
                self.buckets[i].load(Ordering::Relaxed)
            ));
        }
        let count = self.count.load(Ordering::Relaxed);
        out.push_str(&format!(
            "switchyard_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\nswitchyard_request_duration_seconds_sum {}\nswitchyard_request_duration_seconds_count {count}\n",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        ));
        out.push_str(&format!(
            "# HELP switchyard_sessions Live legacy sessions.\n# TYPE switchyard_sessions gauge\nswitchyard_sessions {sessions}\n"
        ));
        out.push_str(extra);
        out
    }
}

/// Wraps a service so every response is counted.
#[derive(Clone, Debug)]
pub struct Measured<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S> Measured<S> {
    /// Counts `inner`'s responses in `metrics`.
    pub fn new(inner: S, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

impl<S, Req, B> tower::Service<Req> for Measured<S>
where
    S: tower::Service<Req, Response = http::Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    Req: Send + 'static,
    B: 'static,
{
    type Response = http::Response<B>;
    type Error = Infallible;
    type Future = BoxFuture<Result<http::Response<B>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let started = Instant::now();
        let fut = self.inner.call(req);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let resp = fut.await?;
            metrics.record(resp.status().as_u16(), started.elapsed().as_secs_f64());
            Ok(resp)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendering_counts_classes_and_buckets() {
        let m = Metrics::new();
        m.record(200, 0.0004);
        m.record(404, 0.2);
        let text = m.render(3, "");
        assert!(text.contains("switchyard_requests_total{status=\"2xx\"} 1"));
        assert!(text.contains("switchyard_requests_total{status=\"4xx\"} 1"));
        assert!(text.contains("switchyard_request_duration_seconds_bucket{le=\"0.0005\"} 1"));
        assert!(text.contains("switchyard_request_duration_seconds_bucket{le=\"0.5\"} 2"));
        assert!(text.contains("switchyard_request_duration_seconds_count 2"));
        assert!(text.contains("switchyard_sessions 3"));
    }
}
