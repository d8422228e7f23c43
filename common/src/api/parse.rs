//! Decoding API objects with errors that name the offending field (pure).

use serde::de::DeserializeOwned;

/// A document that does not fit the API types.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The text is not YAML at all.
    #[error("invalid YAML: {0}")]
    Yaml(String),
    /// The document is well-formed but a field has the wrong shape or value.
    #[error("{path}: {message}")]
    Field {
        /// Dotted path of the field, e.g. `spec.updatePolicy.updateMode`.
        path: String,
        /// What is wrong with it.
        message: String,
    },
}

/// Decodes a JSON value into `T`, reporting the path of the first bad field.
pub fn from_json_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ParseError> {
    serde_path_to_error::deserialize(value).map_err(|e| ParseError::Field {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// Decodes one YAML document into `T`, reporting the path of the first bad field.
pub fn from_yaml_str<T: DeserializeOwned>(text: &str) -> Result<T, ParseError> {
    let value: serde_json::Value =
        serde_saphyr::from_str(text).map_err(|e| ParseError::Yaml(e.to_string()))?;
    from_json_value(value)
}
