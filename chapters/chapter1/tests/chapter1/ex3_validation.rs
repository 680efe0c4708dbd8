//! Exercise 1.3: what a key may be.
//! Book: chapter 1, "Exercise 1.3: validation".

use chapter1::ApiError;
use chapter1::validate::{MAX_KEY_BYTES, validate_key};

fn message(key: &str) -> String {
    match validate_key(key) {
        Err(ApiError::InvalidKey(message)) => message,
        other => panic!("validate_key({key:?}) should be Err(InvalidKey(..)), got {other:?}"),
    }
}

#[test]
fn ex3_ordinary_keys_are_accepted() {
    for key in [
        "a",
        "user:42",
        "with space",
        "a/b?c#d%e",
        "clé",
        "鍵",
        "🦀",
        &"k".repeat(MAX_KEY_BYTES),
    ] {
        assert_eq!(validate_key(key), Ok(()), "{key:?} is a valid key");
    }
}

#[test]
fn ex3_empty_and_oversized_keys_are_refused() {
    assert!(message("").contains("empty"), "say that the key is empty");
    let long = "k".repeat(MAX_KEY_BYTES + 1);
    assert!(
        message(&long).contains("257"),
        "say how long the key is: {:?}",
        message(&long)
    );
    // 129 two-byte characters: 129 characters, but 258 bytes.
    let wide = "é".repeat(129);
    assert!(
        message(&wide).contains("258"),
        "the limit counts bytes, not characters: {:?}",
        message(&wide)
    );
}

#[test]
fn ex3_control_characters_are_refused_with_their_place() {
    for key in [
        "line\nbreak",
        "tab\there",
        "nul\0",
        "bell\u{7}",
        "del\u{7f}",
    ] {
        let message = message(key);
        assert!(
            message.contains("control character"),
            "{key:?}: {message:?}"
        );
    }
    assert!(
        message("ab\ncd").contains("byte 2"),
        "say where the bad character is"
    );
}
