//! Exercise 8.6: the join of users with their orders.

use chapter8::{Input, Job, Join, sequential};

fn lines(outputs: &[String]) -> Vec<String> {
    let mut all: Vec<String> = outputs
        .iter()
        .flat_map(|o| o.lines().map(String::from))
        .collect();
    all.sort();
    all
}

fn shop() -> Vec<Input> {
    vec![
        Input::new("users.csv", "u1,ada\nu2,grace\nu3,edsger\nu4,1984\n"),
        Input::new("orders-a.csv", "o1,u1,250\no2,u2,100\no3,u1,50\no6,u4,10\n"),
        Input::new("orders-b.csv", "o4,u9,999\no5,u2,1\n"),
    ]
}

#[test]
fn ex6_each_user_with_orders_gets_one_line_with_count_and_total() {
    for reduces in [1, 3] {
        for split_bytes in [4, 1_000] {
            let got = lines(&sequential(&Join, &shop(), split_bytes, reduces));
            assert_eq!(
                got,
                vec![
                    "u1\tada\t2\t300".to_string(),
                    "u2\tgrace\t2\t101".to_string(),
                    "u4\t1984\t1\t10".to_string()
                ],
                "the join with {reduces} reduces and {split_bytes}-byte splits: one line per \
                 user with orders, `id\\tname\\torders\\ttotal`; u3 has no orders and u9 is \
                 nobody, so neither has a line; u4's name is 1984, a name all the same (a value \
                 must say whether it is a name or an amount, not be guessed from its digits)"
            );
        }
    }
}

#[test]
fn ex6_the_map_keys_both_kinds_of_line_by_user_id() {
    let mut pairs = Vec::new();
    Join.map("users.csv", "u7,alan\n", &mut |k, v| pairs.push((k, v)));
    Join.map("orders9.csv", "o1,u7,30\n", &mut |k, v| pairs.push((k, v)));
    assert_eq!(pairs.len(), 2, "one pair per line, got {pairs:?}");
    assert!(
        pairs.iter().all(|(k, _)| k == "u7"),
        "a user and their order must meet in one reduce: both keyed by the user id, got {pairs:?}"
    );
    assert_ne!(
        pairs[0].1, pairs[1].1,
        "the values must tell a user from an order"
    );
}

#[test]
fn ex6_the_reduce_does_not_depend_on_the_order_of_values() {
    let mut values = Vec::new();
    Join.map("orders.csv", "o1,u1,5\no2,u1,7\n", &mut |_, v| {
        values.push(v)
    });
    Join.map("users.csv", "u1,barbara\n", &mut |_, v| values.push(v));
    let forward = Join.reduce("u1", &values);
    values.reverse();
    let backward = Join.reduce("u1", &values);
    values.rotate_left(1);
    let rotated = Join.reduce("u1", &values);
    assert_eq!(
        forward,
        Some("barbara\t2\t12".to_string()),
        "two orders of 5 and 7 cents"
    );
    assert!(
        forward == backward && backward == rotated,
        "maps run in any order: the reduce must give the same line whatever the values' \
         order, got {forward:?}, {backward:?}, {rotated:?}"
    );
}

#[test]
fn ex6_lines_that_do_not_parse_are_skipped() {
    let inputs = vec![
        Input::new("users.csv", "u1,ada\nbroken\n\n"),
        Input::new("orders.csv", "o1,u1,12\no2,u1,twelve\nhalf a line\n,,\n"),
    ];
    assert_eq!(
        lines(&sequential(&Join, &inputs, 1_000, 2)),
        vec!["u1\tada\t1\t12".to_string()],
        "lines that do not parse (a missing field, an amount that is not a number) are skipped"
    );
}
