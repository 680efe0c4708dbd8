//! An unfinished exercise, recognised. The exercise generator writes every stub as
//! `todo!("exercise N.M is not implemented yet: edit <file>: ...")`; a node that catches a
//! panic (in a handler, a committer thread, a driver task) looks for [`UNFINISHED`] in its
//! message and answers with the exercise's name instead of a bare `500` or a stopped node.

use std::any::Any;

/// The words every unfinished exercise's panic carries (`cargo xtask exercises` writes
/// them, from this constant).
pub const UNFINISHED: &str = "is not implemented yet";

/// Whether a panic's message is an unfinished exercise's.
pub fn is_unfinished(message: &str) -> bool {
    message.contains(UNFINISHED)
}

/// The text of a panic payload (`&str` or `String`; anything else is described).
pub fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stubs_panic_is_recognised_by_its_words() {
        let stub = "not yet implemented: exercise 2.3 is not implemented yet: edit exercises/chapter2/wal.rs: x";
        assert!(is_unfinished(stub));
        assert!(!is_unfinished("index out of bounds"));
        assert_eq!(payload_message(&String::from("boom")), "boom");
        assert_eq!(payload_message(&"boom"), "boom");
        assert_eq!(payload_message(&7_u8), "a panic with a non-string payload");
    }
}
