//! `chapter4 demo`: three nodes in this process, a fourth that joins, one that leaves,
//! and where the keys live after each change.

use super::*;

/// Starts three nodes, adds a fourth, removes one, and shows where keys live.
pub(super) async fn demo() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let key = ClusterKey::random();
    let mut nodes = bench::start_cluster(
        3,
        Placement::Consistent { vnodes: 128 },
        data.path(),
        &key,
        |_| {},
    )?;
    let urls: Vec<String> = nodes.iter().map(|n| n.url()).collect();
    println!("three nodes: {}\n", urls.join(", "));
    let entry = Client::new(&urls[0])?;
    for i in 0..300 {
        entry
            .put(&format!("user:{i}"), &format!("value {i}"))
            .await?;
    }
    println!("$ chapter4 put user:0..299 ... --node {}", urls[0]);
    println!("300 keys written through node 1, which forwarded the ones it does not own\n");
    keys_per_node(&urls).await?;

    let (fourth, url) = bench::start_outside(
        4,
        Placement::Consistent { vnodes: 128 },
        data.path(),
        &key,
        |_| {},
    )?;
    nodes.push(fourth);
    println!("\n$ chapter4 join --via {} --id 4 --url {url}", urls[0]);
    let view: ClusterView = admin(
        &urls[0],
        "/cluster/join",
        &JoinRequest {
            id: 4,
            url: url.clone(),
        },
        &key,
    )
    .await?;
    print_view(&view);
    let mut all = urls.clone();
    all.push(url);
    keys_per_node(&all).await?;

    println!("\n$ chapter4 leave --via {} --id 2", urls[0]);
    let view: ClusterView =
        admin(&urls[0], "/cluster/leave", &LeaveRequest { id: 2 }, &key).await?;
    print_view(&view);
    keys_per_node(&all).await?;

    let routed = ClusterClient::connect(&urls[0]).await?;
    let mut missing = 0;
    for i in 0..300 {
        if !matches!(routed.get(&format!("user:{i}")).await, Ok(Some(_))) {
            missing += 1;
        }
    }
    println!(
        "\nall 300 keys read back by their owners: {} missing",
        missing
    );
    for node in &mut nodes {
        node.stop().await?;
    }
    println!("\nNext: run three `chapter4 serve` in three terminals (see the book's try-it page).");
    Ok(())
}

async fn keys_per_node(urls: &[String]) -> anyhow::Result<()> {
    let http = plumbing::http::client(Duration::from_secs(10))?;
    for url in urls {
        let status: chapter4::api::Status = http
            .get(format!("{url}/status"))
            .send()
            .await?
            .json()
            .await?;
        println!(
            "  node {} ({}): {} keys",
            status.id, status.role, status.keys
        );
    }
    Ok(())
}
