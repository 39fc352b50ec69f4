//! Emulators of the vendor APIs ledgerlink talks to, written from each vendor's own reference
//! (`../shared/specs/<system>`), never from our clients. Each emulator is stateful, counts the
//! requests it serves and can inject faults on demand, so tests, benchmarks and `demo` can prove
//! behaviour that the real services only show on a bad day.

pub mod exact;
pub mod faults;
mod php;
pub mod prestashop;
pub mod recorder;
pub mod vies;
pub mod woocommerce;

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// An emulator listening on a local port; the server stops when this is dropped.
pub struct Running {
    pub addr: SocketAddr,
    handle: JoinHandle<()>,
}

impl Running {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Serves `router` on 127.0.0.1:`port` (0 picks a free port).
pub async fn serve(router: Router, port: u16) -> std::io::Result<Running> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "sandbox server stopped");
        }
    });
    Ok(Running { addr, handle })
}
