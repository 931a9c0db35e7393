//! The body-read timeout ([`ServerConfig::body_read_timeout`](crate::ServerConfig), 30 s by
//! default): a request's body must arrive whole within it, counted from the end of the head.
//! The listener's timeouts cut a client that says nothing, but one that sends a head and then
//! a byte of the body every few seconds keeps bytes moving and would hold a handler (and its
//! connection) as long as it likes; with the deadline, reading the body fails when it passes,
//! the request is answered 408 (`request-timeout`, problem+json under `/api/`, the error page
//! elsewhere) and the connection is closed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::{Body as _, Bytes, Frame, SizeHint};

use crate::page;
use crate::problem::{Problem, ProblemKind};
use crate::state::AppState;

/// What reading a body past its deadline fails with.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within the body-read timeout")]
struct BodyTimedOut;

/// A request body that fails once its deadline has passed before it ended, and says so in
/// `expired`.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
    ended: bool,
}

impl hyper::body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        // Polled first, so that the task wakes when the deadline passes while the client is silent.
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.expired.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))));
        }
        let frame = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(frame, Poll::Ready(None)) {
            this.ended = true;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Puts the body of every request that has one under the deadline; if it passed, answers 408
/// and closes the connection, whatever the handler made of the failed read.
pub(crate) async fn body_deadline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.config.body_read_timeout;
    let (parts, body) = req.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let expired = Arc::new(AtomicBool::new(false));
    let api = parts.uri.path().starts_with("/api/");
    let body = DeadlineBody {
        inner: body,
        deadline: Box::pin(tokio::time::sleep(limit)),
        expired: Arc::clone(&expired),
        ended: false,
    };
    let response = next.run(Request::from_parts(parts, Body::new(body))).await;
    if !expired.load(Ordering::Relaxed) {
        return response;
    }
    let p = Problem::new(
        ProblemKind::RequestTimeout,
        format!("the request body did not arrive whole within {} s", limit.as_secs_f64()),
    );
    let mut r = if api { p.into_response() } else { page::error_page(crate::i18n::Tr::default(), &p) };
    r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}
