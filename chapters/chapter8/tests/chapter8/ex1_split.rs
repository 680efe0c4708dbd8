//! Exercise 8.1: splits of whole lines, and a key's reduce task.

use chapter8::{Input, Split, bucket, split};

use crate::common::corpus;

fn one(text: &str, target: usize) -> Vec<(usize, usize)> {
    split(&[Input::new("f", text)], target)
        .iter()
        .map(|s| (s.start, s.end))
        .collect()
}

#[test]
fn ex1_a_split_ends_at_the_end_of_the_line_holding_its_last_byte() {
    let text = "aa\nbb\ncc\n";
    for (target, want) in [
        (1, vec![(0, 3), (3, 6), (6, 9)]),
        (2, vec![(0, 3), (3, 6), (6, 9)]),
        // The 3rd byte is the first line's `\n`: the split ends right there.
        (3, vec![(0, 3), (3, 6), (6, 9)]),
        // The 4th byte is on the second line: the split takes it whole.
        (4, vec![(0, 6), (6, 9)]),
        (6, vec![(0, 6), (6, 9)]),
        (7, vec![(0, 9)]),
        (100, vec![(0, 9)]),
    ] {
        assert_eq!(
            one(text, target),
            want,
            "split({text:?}, target {target}): a split reaches `target` bytes, then on to the \
             end of that line, `\\n` included, and no further"
        );
    }
}

#[test]
fn ex1_the_last_line_without_a_newline_and_empty_files() {
    assert_eq!(
        one("aa\nbb", 4),
        vec![(0, 5)],
        "a last line without `\\n` ends at the end of the file, and belongs to a split"
    );
    assert_eq!(
        one("aa\nbb", 3),
        vec![(0, 3), (3, 5)],
        "a last line without `\\n` is a split of its own when the one before ends on a `\\n`"
    );
    assert_eq!(
        one("", 3),
        vec![],
        "an empty file has no split (no split is empty)"
    );
    let zero = std::panic::catch_unwind(|| one("ab\ncd\n", 0));
    assert_eq!(
        zero.ok(),
        Some(vec![(0, 3), (3, 6)]),
        "split(.., target 0) must not panic: a target of 0 is taken as 1, one line a split \
         (`--split-bytes 0` reaches it from the command line)"
    );
    assert_eq!(
        one("a very long line\n", 2),
        vec![(0, 17)],
        "a line longer than the target is one split, never cut"
    );
    let files = [
        Input::new("a", ""),
        Input::new("b", "x\ny\n"),
        Input::new("c", ""),
    ];
    assert_eq!(
        split(&files, 1),
        vec![
            Split {
                file: 1,
                start: 0,
                end: 2
            },
            Split {
                file: 1,
                start: 2,
                end: 4
            }
        ],
        "splits name their file by its index in the inputs; empty files give none"
    );
}

#[test]
fn ex1_every_byte_is_in_exactly_one_split_of_whole_lines() {
    let mut rng = fastrand::Rng::with_seed(81);
    for round in 0..200 {
        let files = rng.usize(1..5);
        let inputs = corpus(&mut rng, files);
        let target = rng.usize(1..200);
        let splits = split(&inputs, target);
        let mut expect = (0, 0); // (file, next byte)
        for s in &splits {
            while expect.0 < s.file {
                assert_eq!(
                    expect.1,
                    inputs[expect.0].text.len(),
                    "round {round}, target {target}: file {} was not covered to its end before \
                     the splits moved on to file {}",
                    expect.0,
                    s.file
                );
                expect = (expect.0 + 1, 0);
            }
            let text = &inputs[s.file].text;
            assert_eq!(
                (s.file, s.start),
                expect,
                "round {round}, target {target}: each split starts where the one before ended \
                 (no byte skipped or read twice); splits {splits:?}"
            );
            assert!(s.end > s.start, "round {round}: an empty split {s:?}");
            assert!(
                s.end == text.len() || text.as_bytes()[s.end - 1] == b'\n',
                "round {round}, target {target}: split {s:?} cuts a line in two (it must end \
                 just after a `\\n`, or at the end of the file)"
            );
            assert!(
                s.end == text.len() || s.end - s.start >= target,
                "round {round}, target {target}: split {s:?} stops before reaching its target \
                 ({} bytes) though the file goes on",
                s.end - s.start
            );
            // Where the split's last line starts: it must hold the target-th byte.
            let body = &text[s.start..s.end - 1];
            let last_line = body.rfind('\n').map_or(0, |i| i + 1);
            assert!(
                last_line < target,
                "round {round}, target {target}: split {s:?} goes on past the end of the line \
                 holding its target-th byte (its last line starts at byte {last_line} of it)"
            );
            expect = (s.file, s.end);
        }
        let last = inputs.iter().rposition(|i| !i.text.is_empty());
        if let Some(last) = last {
            assert_eq!(
                expect,
                (last, inputs[last].text.len()),
                "round {round}, target {target}: the splits stop before the end of the input"
            );
        }
    }
}

#[test]
fn ex1_a_keys_reduce_task_is_the_specified_hash_modulo_r() {
    // Every map task computes a key's bucket on its own machine: it must be XXH3-64
    // (seed 0) of the key's bytes, the values chapter 4 pins, modulo R.
    for (key, hash) in [
        ("a", 0xe6c6_32b6_1e96_4e1f_u64),
        ("", 0x2d06_8005_38d3_94c2),
        ("user:42", 0x9fc1_e605_fa71_74aa),
    ] {
        for reduces in [1_usize, 3, 7, 10] {
            assert_eq!(
                bucket(key, reduces),
                (hash % reduces as u64) as usize,
                "bucket({key:?}, {reduces}) must be xxh3_64(key) % {reduces}"
            );
        }
    }
    let mut counts = [0_usize; 5];
    for i in 0..5_000 {
        counts[bucket(&format!("word{i}"), 5)] += 1;
    }
    assert!(
        counts.iter().all(|&c| c > 800),
        "5,000 keys over 5 reduce tasks landed {counts:?}: every bucket should get about a fifth"
    );
}
