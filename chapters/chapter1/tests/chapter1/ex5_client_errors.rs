//! Exercise 1.5: the client turns error responses into errors a caller can match on.
//! Book: chapter 1, "Exercise 1.5: the client's errors".

use chapter1::ClientError;
use chapter1::client::error_from_response;
use reqwest::StatusCode;

use crate::common::start_node;

/// Your `error_from_response`, with a panic (other than an unfinished exercise's) turned
/// into a failure that names the rule: a client must survive any answer.
fn error_from(status: StatusCode, body: &[u8]) -> ClientError {
    std::panic::catch_unwind(|| error_from_response(status, body)).unwrap_or_else(|panic| {
        let message = plumbing::unfinished::payload_message(panic.as_ref());
        if plumbing::unfinished::is_unfinished(&message) {
            std::panic::resume_unwind(panic);
        }
        panic!(
            "error_from_response must answer any body with an error, never panic: on a {status} \
             whose body is {} bytes, {:?}, it panicked: {message}",
            body.len(),
            String::from_utf8_lossy(body)
        )
    })
}

#[test]
fn ex5_error_bodies_become_typed_errors() {
    let body = br#"{"error":"version_mismatch","message":"m","current_version":7}"#;
    assert!(
        matches!(
            error_from(StatusCode::CONFLICT, body),
            ClientError::VersionMismatch { current: 7 }
        ),
        "a 409 version_mismatch becomes VersionMismatch with the server's current_version, so the caller can retry"
    );

    let body = br#"{"error":"not_found","message":"m","key":"k"}"#;
    assert!(
        matches!(
            error_from(StatusCode::NOT_FOUND, body),
            ClientError::NotFound
        ),
        "a 404 not_found becomes NotFound"
    );

    let body = br#"{"error":"invalid_key","message":"the key is empty"}"#;
    match error_from(StatusCode::BAD_REQUEST, body) {
        ClientError::Rejected {
            status,
            code,
            message,
        } => {
            assert_eq!(
                (status.as_u16(), code.as_str(), message.as_str()),
                (400, "invalid_key", "the key is empty"),
                "a 4xx is Rejected and keeps the server's status, code and message"
            );
        }
        other => panic!("a 400 is a Rejected request, got {other:?}"),
    }

    for (status, code) in [
        (StatusCode::GATEWAY_TIMEOUT, "timeout"),
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    ] {
        let body = format!(r#"{{"error":"{code}","message":"try later"}}"#);
        match error_from(status, body.as_bytes()) {
            ClientError::Server {
                status: kept,
                code: said,
                ..
            } => assert_eq!(
                (kept, said.as_str()),
                (status, code),
                "a Server error keeps the server's status and code"
            ),
            other => panic!(
                "every 5xx is a Server error (the same request may work later), not only 500: \
                 a {status} became {other:?}"
            ),
        }
    }
}

#[test]
fn ex5_a_body_that_is_not_the_api_is_a_protocol_error() {
    let html = b"<html>502 Bad Gateway</html>";
    match error_from(StatusCode::BAD_GATEWAY, html) {
        ClientError::Protocol { status, detail } => {
            assert_eq!(
                status.as_u16(),
                502,
                "a Protocol error keeps the HTTP status that came back"
            );
            assert!(
                detail.contains("502 Bad Gateway"),
                "quote the body so a person can see what came back: {detail}"
            );
        }
        other => panic!("a non-JSON body is a Protocol error, got {other:?}"),
    }
    for body in [
        &b""[..],
        &[0xff, 0xfe, 0x00][..],
        "x".repeat(5000).as_bytes(),
    ] {
        assert!(
            matches!(
                error_from(StatusCode::BAD_GATEWAY, body),
                ClientError::Protocol { .. }
            ),
            "a body that is not a JSON error ({} bytes) is a Protocol error",
            body.len()
        );
    }
    let incomplete = br#"{"error":"version_mismatch","message":"no version"}"#;
    assert!(
        matches!(
            error_from(StatusCode::CONFLICT, incomplete),
            ClientError::Protocol { .. }
        ),
        "a version_mismatch without current_version cannot be retried: it is a protocol error"
    );
}

#[tokio::test]
async fn ex5_the_client_reports_what_the_server_said() -> anyhow::Result<()> {
    let mut node = start_node();
    let client = chapter1::Client::new(&node.url())?;
    let without_scheme = chapter1::Client::new(&node.addr().to_string())?;
    assert!(
        without_scheme.get("k").await?.is_none(),
        "an address without http:// works too"
    );

    let first = client.put("k", "v1").await?;
    match client.put_if("k", "v2", first.version + 100).await {
        Err(ClientError::VersionMismatch { current }) => assert_eq!(
            current, first.version,
            "VersionMismatch carries the server's current version, so the caller can re-read and retry"
        ),
        other => panic!("a stale compare-and-set is a VersionMismatch, got {other:?}"),
    }
    assert!(
        matches!(client.delete("missing").await, Err(ClientError::NotFound)),
        "deleting a missing key is NotFound"
    );
    assert!(
        client.get("missing").await?.is_none(),
        "get maps not_found to None"
    );
    match client.put("bad\nkey", "v").await {
        Err(ClientError::Rejected { code, .. }) => assert_eq!(
            code, "invalid_key",
            "a Rejected error carries the server's error code"
        ),
        other => panic!("an invalid key is Rejected, got {other:?}"),
    }
    node.stop().await
}
