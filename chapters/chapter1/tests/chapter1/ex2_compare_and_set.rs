//! Exercise 1.2: compare-and-set with `if_version`.
//! Book: chapter 1, "Exercise 1.2: compare-and-set".

use chapter1::store::{Store, StoreError};

#[test]
fn ex2_if_version_zero_creates_only_when_absent() {
    let store = Store::new();
    assert_eq!(
        store.put("k", "first".into(), Some(0)),
        Ok(1),
        "an absent key is at version 0"
    );
    assert_eq!(
        store.put("k", "second".into(), Some(0)),
        Err(StoreError::VersionMismatch {
            expected: 0,
            current: 1
        }),
        "`if_version: 0` must not overwrite an existing key"
    );
    assert_eq!(
        store.get("k").map(|v| v.value),
        Some("first".into()),
        "a refused write changes nothing"
    );
}

#[test]
fn ex2_the_current_version_lets_the_write_through() {
    let store = Store::new();
    let v1 = store.put("k", "a".into(), None).expect("put");
    let v2 = store
        .put("k", "b".into(), Some(v1))
        .expect("a compare-and-set at the current version succeeds");
    assert!(
        v2 > v1,
        "a compare-and-set write takes a newer version than the one it replaced: versions only grow"
    );
    assert_eq!(
        store.get("k").map(|v| v.value),
        Some("b".into()),
        "a compare-and-set at the current version writes the new value"
    );
}

#[test]
fn ex2_a_stale_version_is_refused_with_the_current_one() {
    let store = Store::new();
    let v1 = store.put("k", "a".into(), None).expect("put");
    let v2 = store.put("k", "b".into(), None).expect("put");
    match store.put("k", "lost update".into(), Some(v1)) {
        Err(StoreError::VersionMismatch { expected, current }) => assert_eq!(
            (expected, current),
            (v1, v2),
            "the refusal names the version the writer expected ({v1}) and the key's current one \
             ({v2}), so that the writer can re-read and retry from the current one"
        ),
        other => {
            panic!("a writer that read version {v1} must not overwrite version {v2}: got {other:?}")
        }
    }
    assert_eq!(store.last_version(), v2, "a refused write takes no version");
    assert_eq!(
        store.put("absent", "x".into(), Some(7)),
        Err(StoreError::VersionMismatch {
            expected: 7,
            current: 0
        }),
        "a compare-and-set at a version the key has not reached is refused: the absent key is \
         at version 0, not 7"
    );
    assert_eq!(
        store.put("k", "ahead".into(), Some(v2 + 1)),
        Err(StoreError::VersionMismatch {
            expected: v2 + 1,
            current: v2
        }),
        "only the key's exact current version lets a compare-and-set through, not a later one"
    );
}
