//! Exercise 1.1: every write gets the next version, and the map reflects it.
//! Book: chapter 1, "Exercise 1.1: the store and its version rule".

use chapter1::store::{Store, StoreError, Versioned};

#[test]
fn ex1_a_put_is_read_back_with_its_version() {
    let store = Store::new();
    let version = store
        .put("greeting", "hello".into(), None)
        .expect("an unconditional put succeeds");
    assert_eq!(version, 1, "the first write of a new store has version 1");
    assert_eq!(
        store.get("greeting"),
        Some(Versioned {
            value: "hello".into(),
            version: 1
        }),
        "a put is read back with its value and the version it was given"
    );
}

#[test]
fn ex1_versions_grow_with_every_write_to_any_key() {
    let store = Store::new();
    let writes = [
        store.put("a", "1".into(), None),
        store.put("b", "2".into(), None),
        store.put("a", "3".into(), None),
        store.delete("b"),
        store.put("c", "4".into(), None),
    ];
    let versions: Vec<u64> = writes
        .into_iter()
        .map(|w| w.expect("each write succeeds"))
        .collect();
    assert_eq!(
        versions,
        [1, 2, 3, 4, 5],
        "versions are store-wide and count every write, deletes included"
    );
    assert_eq!(
        store.last_version(),
        5,
        "last_version is the version of the latest write"
    );
    assert_eq!(
        store.get("a").map(|v| v.value),
        Some("3".into()),
        "the latest put wins"
    );
}

#[test]
fn ex1_a_delete_removes_the_key() {
    let store = Store::new();
    store.put("k", "v".into(), None).expect("put");
    assert!(!store.is_empty(), "a store holding a key is not empty");
    assert_eq!(store.delete("k"), Ok(2), "the delete is the second write");
    assert_eq!(store.get("k"), None, "a deleted key is gone");
    assert!(
        store.is_empty(),
        "deleting the only key leaves the store empty"
    );
    assert_eq!(
        store.delete("k"),
        Err(StoreError::NotFound),
        "deleting it again finds nothing"
    );
    assert_eq!(store.last_version(), 2, "a refused delete is not a write");
}
