//! Process mode: a real binary, SIGKILLed and restarted on the same address and data.

use std::time::Duration;

use harness::cluster::http_client;
use harness::process::ProcessNode;

#[tokio::test]
async fn a_sigkilled_process_restarts_with_every_acknowledged_write() -> anyhow::Result<()> {
    let mut node = ProcessNode::start(env!("CARGO_BIN_EXE_counter-node"), |addr, dir| {
        vec![addr.to_string(), dir.display().to_string()]
    })
    .await?;
    let client = http_client(Duration::from_secs(5))?;
    let mut acknowledged = 0;
    for _ in 0..20 {
        client
            .post(format!("{}/append", node.url()))
            .send()
            .await?
            .error_for_status()?;
        acknowledged += 1;
    }
    // Kill it with a request in flight: whether that one lands is up to chance.
    let in_flight = tokio::spawn(client.post(format!("{}/append", node.url())).send());
    node.kill();
    let _ = in_flight.await;
    assert!(
        client
            .get(format!("{}/count", node.url()))
            .send()
            .await
            .is_err(),
        "a killed process answers nothing"
    );

    node.restart().await?;
    let count: usize = client
        .get(format!("{}/count", node.url()))
        .send()
        .await?
        .text()
        .await?
        .parse()?;
    assert!(
        count >= acknowledged,
        "{count} lines after the restart, {acknowledged} acknowledged before the kill"
    );
    assert!(
        node.log().contains("listening"),
        "the child's output is kept: {}",
        node.log()
    );
    Ok(())
}
