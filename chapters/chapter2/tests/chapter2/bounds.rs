//! What is bounded, and holds: requests in flight (shed with 503), and the committer's
//! batches (never past what one frame may hold).

use std::time::Duration;

use chapter2::Config;
use harness::disk::SimDisk;
use serde_json::json;

use crate::common::{put_json, sim_config, start_node};

/// The node serves a bounded number of requests at once: past its limit it answers
/// `503` at once, without reading the request, and it serves again once the load is
/// gone. (Each request submits at most one record, so this bounds the committer's
/// queue too.)
#[tokio::test]
async fn chapter_requests_beyond_the_in_flight_limit_are_shed_with_503_and_the_node_recovers()
-> anyhow::Result<()> {
    const LIMIT: usize = 4;
    let disk = SimDisk::new(12);
    let node = start_node(Config {
        max_requests_in_flight: LIMIT,
        ..sim_config(&disk)
    });
    let url = format!("{}/kv/k", node.url());
    // Requests that announce a body and never send it: each holds a slot until the
    // node's request timeout.
    let mut stalled = Vec::new();
    for _ in 0..LIMIT {
        stalled.push(stalled_put(node.addr()).await?);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let shed = loop {
        // A stalled request the node has answered (timed out, or refused) holds no slot:
        // send it again, so that LIMIT of them hold one.
        for held in stalled.iter_mut() {
            if !matches!(held.try_read(&mut [0; 64]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
            {
                *held = stalled_put(node.addr()).await?;
            }
        }
        match put_json(&url, &json!({"value": "v"})).await? {
            (503, body) => break body,
            seen if std::time::Instant::now() > deadline => {
                panic!(
                    "with {} requests held ({LIMIT} allowed), one more was still served: {seen:?}",
                    stalled.len()
                )
            }
            _ => {
                // A stalled request shed on arrival (a probe held a slot at that moment)
                // gets no answer to read: the node drains a refused request's body before
                // it answers, and this body never comes. It holds no slot, and cannot be
                // told from one that does: open one more, up to a bound.
                if stalled.len() < 4 * LIMIT {
                    stalled.push(stalled_put(node.addr()).await?);
                }
                tokio::time::sleep(Duration::from_millis(5)).await
            }
        }
    };
    assert_eq!(shed["error"], "unavailable", "{shed}");
    drop(stalled);
    harness::eventually(Duration::from_secs(5), "the node to serve again", || {
        let url = url.clone();
        async move {
            match put_json(&url, &json!({"value": "v"})).await {
                Ok((200, _)) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await?;
    Ok(())
}

/// A `PUT` whose head announces a body that never comes: the node holds it open.
async fn stalled_put(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpStream> {
    use tokio::io::AsyncWriteExt as _;
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let head = "PUT /kv/stalled HTTP/1.1\r\nhost: node\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n";
    stream.write_all(head.as_bytes()).await?;
    Ok(stream)
}

/// The committer's batches are bounded: records waiting together are split into frames
/// of at most `MAX_BATCH_BYTES` of keys and values, in order, none lost. (Twenty records
/// of exactly 1 MiB against a bound of 8 MiB: batches of 8, 8 and 4.)
#[test]
fn chapter_a_batch_holds_at_most_max_batch_bytes_in_order_and_the_rest_waits() {
    use chapter2::record::Record;
    use chapter2::wal::{MAX_BATCH_BYTES, next_batch};
    const MIB: usize = 1024 * 1024;
    assert_eq!(MAX_BATCH_BYTES, 8 * MIB, "this test is written for 8 MiB");
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    for version in 1..=20u64 {
        let key = format!("k{version:02}");
        let value = "v".repeat(MIB - key.len());
        let record = Record {
            version,
            key,
            value: Some(value),
        };
        sender
            .send((record, version))
            .expect("the receiver is open");
    }
    drop(sender);
    let mut carried = None;
    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    while let Some((batch, waiting)) = next_batch(&mut receiver, &mut carried) {
        let payload: usize = batch
            .iter()
            .map(|r| r.key.len() + r.value.as_ref().map_or(0, String::len))
            .sum();
        assert!(
            payload <= MAX_BATCH_BYTES,
            "a batch of {payload} bytes passes the bound"
        );
        let versions: Vec<u64> = batch.iter().map(|r| r.version).collect();
        assert_eq!(versions, waiting, "each record travels with its own writer");
        sizes.push(batch.len());
        seen.extend(versions);
    }
    assert_eq!(
        sizes,
        [8, 8, 4],
        "full batches up to the bound, the rest after"
    );
    assert_eq!(
        seen,
        (1..=20).collect::<Vec<_>>(),
        "every record, in version order"
    );
}

/// The committer's largest batch fits a frame a reader accepts, even if every byte of
/// every key and value is a control character that JSON escapes as six (`\u0001`): at
/// most MAX_BATCH_BYTES of keys and values, and at most one record per request in
/// flight, each with its JSON framing (`{"version":…,"key":"…","value":"…"},`, under 64
/// bytes). A reader's limit lowered below that would make the node refuse its own log.
#[test]
fn chapter_the_largest_batch_fits_a_frame_even_when_every_byte_is_escaped() {
    use chapter2::record::MAX_PAYLOAD_BYTES;
    use chapter2::server::MAX_REQUESTS_IN_FLIGHT;
    use chapter2::wal::MAX_BATCH_BYTES;
    let worst = 6 * MAX_BATCH_BYTES + 64 * MAX_REQUESTS_IN_FLIGHT;
    assert!(
        worst <= MAX_PAYLOAD_BYTES,
        "a batch can encode to {worst} bytes, past the reader's limit of {MAX_PAYLOAD_BYTES}"
    );
}
