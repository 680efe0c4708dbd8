//! A tiny node for the harness's own process-mode tests: `POST /append` appends a line to
//! `<data-dir>/log` and syncs it before answering with the number of lines; `GET /count`
//! answers that number; `GET /health` answers `ok`. Standard library only.
//!
//! Usage: `counter-node <addr> <data-dir>`

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: counter-node <addr> <data-dir>");
        std::process::exit(2);
    };
    let path = PathBuf::from(dir).join("log");
    let listener = TcpListener::bind(&addr)?;
    eprintln!("counter-node listening on {addr}");
    for stream in listener.incoming() {
        let mut stream = stream?;
        let mut request_line = String::new();
        let mut reader = BufReader::new(stream.try_clone()?);
        reader.read_line(&mut request_line)?;
        // Skip the headers.
        let mut line = String::new();
        while reader.read_line(&mut line)? > 2 {
            line.clear();
        }
        let count = || std::fs::read_to_string(&path).map_or(0, |s| s.lines().count());
        let body = match request_line.split_whitespace().take(2).collect::<Vec<_>>()[..] {
            ["GET", "/health"] => "ok".to_string(),
            ["GET", "/count"] => count().to_string(),
            ["POST", "/append"] => {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)?;
                file.write_all(b"x\n")?;
                file.sync_data()?;
                count().to_string()
            }
            _ => "unknown".to_string(),
        };
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
    Ok(())
}
