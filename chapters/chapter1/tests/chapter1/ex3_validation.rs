//! Exercise 1.3: what a key may be.
//! Book: chapter 1, "Exercise 1.3: validation".

use chapter1::ApiError;
use chapter1::validate::{MAX_KEY_BYTES, validate_key};

/// The message `validate_key` refuses `key` with; `rule` is why it must be refused.
fn message(key: &str, rule: &str) -> String {
    match validate_key(key) {
        Err(ApiError::InvalidKey(message)) => message,
        other => {
            let shown: String = key.chars().take(40).collect();
            panic!(
                "{rule}: validate_key({shown:?}, {} bytes) should be Err(InvalidKey(..)), got {other:?}",
                key.len()
            )
        }
    }
}

#[test]
fn ex3_ordinary_keys_are_accepted() {
    for key in ["a", "user:42", "with space", "a/b?c#d%e", "clé", "鍵", "🦀"] {
        assert_eq!(validate_key(key), Ok(()), "{key:?} is a valid key");
    }
    assert_eq!(
        validate_key(&"k".repeat(MAX_KEY_BYTES)),
        Ok(()),
        "a key of exactly {MAX_KEY_BYTES} bytes is valid: the limit is inclusive"
    );
    // 64 four-byte characters: exactly 256 bytes.
    assert_eq!(
        validate_key(&"🦀".repeat(64)),
        Ok(()),
        "64 four-byte characters are exactly {MAX_KEY_BYTES} bytes: valid"
    );
}

#[test]
fn ex3_empty_and_oversized_keys_are_refused() {
    assert!(
        message("", "an empty key is refused: keys are 1 to 256 bytes").contains("empty"),
        "say that the key is empty"
    );
    let long = "k".repeat(MAX_KEY_BYTES + 1);
    let said = message(
        &long,
        "a key of 257 bytes is refused: keys are at most 256 bytes",
    );
    assert!(said.contains("257"), "say how long the key is: {said:?}");
    // 129 two-byte characters: 129 characters, but 258 bytes.
    let wide = "é".repeat(129);
    let said = message(
        &wide,
        "the limit counts bytes, not characters: 129 two-byte characters are 258 bytes",
    );
    assert!(
        said.contains("258"),
        "say how long the key is, in bytes: {said:?}"
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
        "next\u{85}line",
        "csi\u{9b}",
    ] {
        let message = message(
            key,
            "a key with a control character is refused (the C1 controls U+0080 to U+009F too: \
             char::is_control covers them, is_ascii_control does not)",
        );
        assert!(
            message.contains("control character"),
            "say that the key has a control character: {key:?}: {message:?}"
        );
    }
    assert!(
        message("ab\ncd", "a newline is a control character").contains("byte 2"),
        "say where the bad character is"
    );
    let said = message("clé\tx", "a tab is a control character");
    assert!(
        said.contains("byte 4"),
        "the place is a byte offset: after the two-byte é, the tab is at byte 4 (it is the \
         fourth character): {said:?}"
    );
}
