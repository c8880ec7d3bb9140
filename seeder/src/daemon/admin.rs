//! The admin listener: `/metrics` (Prometheus text) and `/health`.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::shared::Shared;

pub async fn serve(listener: TcpListener, shared: Arc<Shared>, shutdown: CancellationToken) {
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(_) => continue,
            },
            () = shutdown.cancelled() => return,
        };
        let shared = shared.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(respond(&req, &shared)) }
            });
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                _ = conn => {}
                () = stop.cancelled() => {}
            }
        });
    }
}

fn respond<B>(req: &Request<B>, shared: &Shared) -> Response<Full<Bytes>> {
    let (status, ctype, body) = match req.uri().path() {
        "/metrics" => (
            StatusCode::OK,
            "text/plain; version=0.0.4",
            shared.metrics.render(),
        ),
        "/health" => (StatusCode::OK, "text/plain", b"ok\n".to_vec()),
        _ => (StatusCode::NOT_FOUND, "text/plain", b"not found\n".to_vec()),
    };
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, ctype)
        .body(Full::new(Bytes::from(body)))
        .expect("valid response")
}
