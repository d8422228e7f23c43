//! Authentication of a request (edge-free): the bearer token's user, and impersonation by an
//! admin (`Impersonate-User`, `Impersonate-Group`).

use axum::http::{HeaderMap, header};

use crate::api::Shared;
use crate::auth::UserInfo;
use crate::error::{ApiError, ApiResult};

pub(super) fn authenticate(s: &Shared, headers: &HeaderMap) -> ApiResult<UserInfo> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(ApiError::unauthorized)?;
    let user = s
        .tokens
        .lookup(token.trim())
        .ok_or_else(ApiError::unauthorized)?;
    let Some(as_user) = headers
        .get("Impersonate-User")
        .and_then(|h| h.to_str().ok())
    else {
        return Ok(user);
    };
    if !user.is_admin() {
        return Err(ApiError::new(
            403,
            "Forbidden",
            format!(
                "users \"{as_user}\" is forbidden: User \"{}\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope",
                user.name
            ),
        ));
    }
    let groups: Vec<String> = headers
        .get_all("Impersonate-Group")
        .iter()
        .filter_map(|h| h.to_str().ok().map(String::from))
        .collect();
    Ok(UserInfo::from_name(as_user, &groups))
}
