//! Connections as a stream, for actors that serve a listener (control
//! socket, metrics): the listener is shared, so a restarted actor listens
//! on the same socket again.

use std::future::Future;
use std::io;
use std::rc::Rc;

use futures::Stream;
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

pub trait Acceptor: 'static {
    type Connection;
    fn accept_one(&self) -> impl Future<Output = io::Result<Self::Connection>>;
}

impl Acceptor for TcpListener {
    type Connection = TcpStream;
    async fn accept_one(&self) -> io::Result<TcpStream> {
        self.accept().await.map(|(stream, _)| stream)
    }
}

impl Acceptor for UnixListener {
    type Connection = UnixStream;
    async fn accept_one(&self) -> io::Result<UnixStream> {
        self.accept().await.map(|(stream, _)| stream)
    }
}

/// Every accepted connection, or the error accepting one.
pub fn connections<A: Acceptor>(listener: Rc<A>) -> impl Stream<Item = io::Result<A::Connection>> {
    futures::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept_one().await;
        Some((accepted, listener))
    })
}
