//! What this chapter's routes answer beyond chapter 6's: a configuration
//! ([`ConfigAnswer`]), and the failures only a sharded store has ([`Failure`]:
//! `wrong_group`, `wrong_kind`), each with its HTTP form.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::api::ErrorBody;
use crate::config::{Configuration, ShardId};
use crate::error::ApiError;
use crate::node::{CommandError, Refused};
use crate::shard::Answer;

/// The answer to `GET /config`: a configuration, and the one a change is moving to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigAnswer {
    /// The configuration asked for (the latest, unless a number was given).
    pub config: Configuration,
    /// The configuration a change is moving to, if one is.
    pub pending: Option<Configuration>,
}

/// An error of this chapter's routes: chapter 6's, `wrong_group` and `wrong_kind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// One of chapter 6's errors.
    Api(ApiError),
    /// This group does not serve the key's shard now.
    WrongGroup {
        /// The key's shard.
        shard: ShardId,
    },
    /// The request is for the other kind of replica (a key at the service, a
    /// configuration at a group).
    WrongKind(String),
}

impl Failure {
    /// What a client's command answered, as the error of a route that did not expect it
    /// (a write's route hearing "not found", say).
    pub fn unexpected(key: &str, answer: Answer) -> Failure {
        match answer {
            Answer::Stale { latest } => Failure::Api(ApiError::StaleRequest(format!(
                "this client's request {latest} was answered after this one; it is not \
                 applied again"
            ))),
            Answer::NotFound | Answer::Value(None) => Failure::Api(ApiError::NotFound {
                key: key.to_string(),
            }),
            Answer::Mismatch { current } => Failure::Api(ApiError::VersionMismatch {
                expected: 0,
                current,
            }),
            other => {
                ApiError::Internal(format!("the command on {key:?} produced {other:?}")).into()
            }
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Api(error)
    }
}

impl From<CommandError> for Failure {
    fn from(error: CommandError) -> Self {
        Failure::Api(error.into())
    }
}

impl From<Refused> for Failure {
    fn from(refused: Refused) -> Self {
        Failure::Api(refused.into())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            Failure::Api(error) => return error.into_response(),
            Failure::WrongGroup { shard } => (
                StatusCode::MISDIRECTED_REQUEST,
                "wrong_group",
                format!(
                    "this group does not serve shard {shard} now (it moved, or is moving); \
                     ask the configuration service for the latest configuration"
                ),
            ),
            Failure::WrongKind(message) => (StatusCode::BAD_REQUEST, "wrong_kind", message),
        };
        let body = ErrorBody {
            error: code.into(),
            message,
            current_version: None,
            key: None,
            leader: None,
        };
        (status, Json(body)).into_response()
    }
}
