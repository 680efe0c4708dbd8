//! [`check_body_limit`]: a test that a client body limit holds from both sides. (The
//! layer that bounds a route's concurrency, [`shed_beyond`], is the nodes' own: it lives
//! in `plumbing` and is re-exported here.)

pub use plumbing::limits::shed_beyond;

/// Checks a client body limit from both sides, as a test: a `PUT` to `put_url` whose body
/// `{"value":"vv…"}` is exactly `limit` bytes is taken and its value reads back whole from
/// `get_url`; one byte more is refused with `413 too_large`. (A node that refused a 2 KiB
/// value would pass every test that only sends small ones.) A `503` asks for a retry (a
/// leader deposed mid-write, a full queue): that is no answer about the size, so the
/// write and the read are each tried up to five times.
pub async fn check_body_limit(
    client: &reqwest::Client,
    put_url: &str,
    get_url: &str,
    limit: usize,
) -> Result<(), String> {
    let wrapper = r#"{"value":""}"#.len();
    let largest = "v".repeat(limit - wrapper);
    let put = |value: &str| {
        client
            .put(put_url)
            .header("content-type", "application/json")
            .body(format!(r#"{{"value":"{value}"}}"#))
    };
    let (status, body) = with_retries(|| put(&largest)).await?;
    if !(200..300).contains(&status) {
        return Err(format!(
            "a body of exactly {limit} bytes was refused: {status} {body:.300}"
        ));
    }
    let (status, body) = with_retries(|| client.get(get_url)).await?;
    let read: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let read_len = read["value"].as_str().map(str::len);
    if read_len != Some(largest.len()) {
        return Err(format!(
            "the largest value ({} bytes) read back as {read_len:?} bytes: {status} {body:.300}",
            largest.len()
        ));
    }
    let (status, body) = with_retries(|| put(&format!("{largest}v"))).await?;
    let error: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    match (status, error["error"].as_str()) {
        (413, Some("too_large")) => Ok(()),
        other => Err(format!(
            "a body of {} bytes (one over the limit) got {other:?}, not (413, \"too_large\")",
            limit + 1
        )),
    }
}

/// Sends the request built by `request` until it is answered with anything but `503`,
/// at most five times; returns the last status and body.
async fn with_retries(
    request: impl Fn() -> reqwest::RequestBuilder,
) -> Result<(u16, String), String> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let response = request().send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(|e| e.to_string())?;
        if status != 503 || attempt == 5 {
            return Ok((status, body));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
    }
}
