//! The log's entries on the wire: every kind of command a replica proposes reaches a
//! follower inside chapter 6's `Append`, as JSON, and must come out the same (a `Join`'s
//! map with number keys once did not).

use std::collections::BTreeMap;

use chapter7::command::Command;
use chapter7::protocol::{Entry, Message};
use chapter7::service::{Change, ServiceOp};
use chapter7::{GroupOp, KvCommand, RequestId, ShardData};

/// Every kind of command reaches a follower inside chapter 6's `Append` message, as
/// JSON, and must come out the same.
#[test]
fn chapter_every_command_survives_the_wire() {
    let mut data = ShardData::default();
    data.apply(&KvCommand::Put {
        key: "k".into(),
        value: "v".into(),
        if_version: None,
        request: Some(RequestId {
            client: "c".into(),
            seq: 1,
        }),
    });
    let commands = [
        Command::Noop,
        Command::Group {
            op: GroupOp::Install {
                shard: 3,
                num: 2,
                data,
            },
        },
        Command::Service {
            op: ServiceOp::Propose {
                base: 1,
                change: Change::Join(BTreeMap::from([(7, vec!["http://a".into()])])),
            },
        },
    ];
    for command in commands {
        let message = Message::Append {
            term: 1,
            prev_index: 0,
            prev_term: 0,
            entries: vec![Entry {
                index: 1,
                term: 1,
                command: command.clone(),
            }],
            commit: 0,
        };
        let json = serde_json::to_string(&message).expect("serializes");
        let back: Message = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("{json} does not read back: {e}"));
        assert_eq!(
            back, message,
            "a command read back from the wire is the command sent"
        );
    }
}
