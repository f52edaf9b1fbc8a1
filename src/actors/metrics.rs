//! The Prometheus endpoint: `GET /metrics` on the configured address,
//! answered from a fresh snapshot. Off unless `metrics.listen` is set.
//! A plain HTTP/1.1 responder: one request per connection, bounded in
//! size and time, so a slow or hostile client costs nothing.

use std::rc::Rc;
use std::time::Duration;

use actix::prelude::*;

use crate::sys::accept::{connections, Slot};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::control::{gather, Sources};

const REQUEST_LIMIT: usize = 8 * 1024;
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// Scrapes served at once: a few Prometheus servers and a curl or two.
const CONCURRENT_CLIENTS: usize = 16;
/// The Prometheus text format's media type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub struct MetricsActor {
    listener: Rc<TcpListener>,
    sources: Sources,
}

impl MetricsActor {
    pub fn new(listener: std::net::TcpListener, sources: Sources) -> std::io::Result<MetricsActor> {
        listener.set_nonblocking(true)?;
        Ok(MetricsActor {
            listener: Rc::new(TcpListener::from_std(listener)?),
            sources,
        })
    }
}

async fn serve(mut stream: TcpStream, sources: Sources) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < REQUEST_LIMIT {
        let n = stream.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buffer[..n]);
    }
    let line = String::from_utf8_lossy(&request);
    let mut words = line.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let (status, body) = if method == "GET" && (path == "/metrics" || path.starts_with("/metrics?"))
    {
        ("200 OK", crate::metrics::render(&gather(sources).await))
    } else {
        ("404 Not Found", "only GET /metrics is here\n".to_string())
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

impl Actor for MetricsActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let counters = self.sources.listener("metrics");
        ctx.add_stream(connections(
            "metrics",
            Rc::clone(&self.listener),
            CONCURRENT_CLIENTS,
            counters,
        ));
    }
}

impl Supervised for MetricsActor {}

impl StreamHandler<(TcpStream, Slot)> for MetricsActor {
    fn handle(&mut self, (stream, slot): (TcpStream, Slot), ctx: &mut Context<Self>) {
        let sources = self.sources.clone();
        ctx.spawn(
            async move {
                if tokio::time::timeout(CLIENT_TIMEOUT, serve(stream, sources))
                    .await
                    .is_err()
                {
                    tracing::debug!("metrics: a client took too long");
                }
                drop(slot);
            }
            .into_actor(self),
        );
    }

    /// `connections` never ends; were it to, a restart listens again.
    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
