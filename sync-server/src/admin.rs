//! The team administration API: who is in the team with which roles, their devices, and the audit log.
//!
//! Every route authenticates the device's token and acts on the device's team; all but `/v1/me` need the admin
//! role there. A role change reaches the user's open connections at once (they re-subscribe); a revocation closes
//! them.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use liveline_domain::policy::Role;
use liveline_types::{
    codes, AdminDeviceView, AdminUserView, AppError, AuditEntryView, AuditQuery, InviteRequest,
    SetRolesRequest, SwitchTeamRequest, TeamView, WebhookInput, WebhookView,
};

use crate::store::{DeviceAuth, Store, StoreError, WebhookRow};
use crate::{auth, authenticate, now_ms, ApiError, AppState};

/// Shortest password an admin may give a new member.
pub const MIN_PASSWORD: usize = 8;

fn bad(code: &str) -> ApiError {
    ApiError(StatusCode::UNPROCESSABLE_ENTITY, AppError::new(code))
}

fn internal(e: StoreError) -> ApiError {
    tracing::error!(error = %e, "admin storage error");
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_app_error())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|_| {
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            AppError::new(codes::SERVER_ERROR),
        )
    })?
}

/// The requesting device, which must belong to an admin of its team.
async fn admin<S: Store>(state: &AppState<S>, headers: &HeaderMap) -> Result<DeviceAuth, ApiError> {
    let device = authenticate(state, headers).await?;
    if !device.is_admin_of(&device.team_id) {
        tracing::info!(user = %device.user_id, "admin request refused");
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            AppError::new(codes::ADMIN_ONLY),
        ));
    }
    Ok(device)
}

fn parse_roles(roles: &[String]) -> Result<Vec<Role>, ApiError> {
    Role::parse_list(&roles.join(",")).map_err(|unknown| {
        ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            AppError::new(codes::ROLE_UNKNOWN).with("role", unknown),
        )
    })
}

/// Who the token belongs to: user, team and roles in each team.
pub(crate) async fn me<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let d = authenticate(&state, &headers).await?;
    let st = state.clone();
    let user = d.user_id.clone();
    let teams: Vec<TeamView> = blocking(move || st.store.teams_of(&user).map_err(internal))
        .await?
        .into_iter()
        .map(|(id, name, role)| TeamView {
            current: id == d.team_id,
            id,
            name,
            role,
        })
        .collect();
    Ok(Json(serde_json::json!({
        "user_id": d.user_id,
        "name": d.user_name,
        "email": d.email,
        "device_id": d.device_id,
        "team_id": d.team_id,
        "teams": teams,
    })))
}

/// `PUT /v1/me/team`: this device works in another of its user's teams from now on (new records, roles shown,
/// members, admin screens). The user's open connections are told at once and the device receives a new `Welcome`.
pub(crate) async fn switch_team<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Json(req): Json<SwitchTeamRequest>,
) -> Result<Json<TeamView>, ApiError> {
    let d = authenticate(&state, &headers).await?;
    let roles = Role::join(d.principal().roles_in(&req.team_id));
    if roles.is_empty() {
        tracing::info!(user = %d.user_id, "switch to a team the user is not in refused");
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            AppError::new(codes::NOT_MEMBER).with("team", req.team_id),
        ));
    }
    if state.team_switch_per_user.check_key(&d.user_id).is_err() {
        return Err(ApiError(
            StatusCode::TOO_MANY_REQUESTS,
            AppError::new(codes::RATE_LIMITED),
        ));
    }
    let st = state.clone();
    let (device, team) = (d.device_id.clone(), req.team_id.clone());
    let (moved, name) = blocking(move || {
        let before = st.store.device_team(&device).map_err(internal)?;
        st.store.set_device_team(&device, &team).map_err(internal)?;
        let after = st.store.device_team(&device).map_err(internal)?;
        let moved = before.map(|b| b.0) != after.as_ref().map(|a| a.0.clone());
        Ok((moved, after.map(|(_, name)| name).unwrap_or_default()))
    })
    .await?;
    // The user's connections re-subscribe only when the device really moved.
    if moved {
        tracing::info!(user = %d.user_id, device = %d.device_id, team = %req.team_id, "device switched team");
        crate::access_changed(&state, &d.user_id);
    }
    Ok(Json(TeamView {
        id: req.team_id,
        name,
        role: roles,
        current: true,
    }))
}

pub(crate) async fn users<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Result<Json<Vec<AdminUserView>>, ApiError> {
    let me = admin(&state, &headers).await?;
    let st = state.clone();
    blocking(move || st.store.users(&me.team_id).map_err(internal))
        .await
        .map(Json)
}

/// Adds a member to the admin's team. A new e-mail address gets an account (name and password required); the
/// address of someone who already has one (in another team) joins this team with the roles given, keeping their
/// name and password (`200` rather than `201`), and their open devices receive this team at once.
pub(crate) async fn invite<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Json(req): Json<InviteRequest>,
) -> Result<(StatusCode, Json<AdminUserView>), ApiError> {
    let me = admin(&state, &headers).await?;
    let email = req.email.trim().to_lowercase();
    if !email_address::EmailAddress::is_valid(&email) {
        return Err(bad(codes::EMAIL_INVALID));
    }
    let roles = parse_roles(&req.roles)?;
    if roles.is_empty() {
        return Err(ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            AppError::new(codes::REQUIRED).with("field", "roles"),
        ));
    }
    let st = state.clone();
    let existing = blocking(move || st.store.user_by_email(&email).map_err(internal)).await?;
    if let Some(user) = existing {
        return join_team(&state, &me, &user.id, &roles).await;
    }
    let name = req.name.trim().to_string();
    if name.is_empty() {
        return Err(ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            AppError::new(codes::REQUIRED).with("field", "name"),
        ));
    }
    if req.password.chars().count() < MIN_PASSWORD {
        return Err(ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            AppError::new(codes::PASSWORD_SHORT).with("min", MIN_PASSWORD.to_string()),
        ));
    }
    let st = state.clone();
    let password = req.password;
    let email = req.email.trim().to_lowercase();
    let view = blocking(move || {
        let id = format!("u-{}", uuid::Uuid::new_v4());
        let hash = auth::hash_password(&password);
        st.store
            .create_user(&id, &me.team_id, &email, &name, &Role::join(&roles), &hash)
            .map_err(|e| match e {
                // Two admins inviting one address at once: the second finds it taken.
                StoreError::Db(rusqlite::Error::SqliteFailure(f, _))
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    ApiError(StatusCode::CONFLICT, AppError::new(codes::EMAIL_TAKEN))
                }
                e => internal(e),
            })?;
        tracing::info!(admin = %me.user_id, user = %id, "member invited");
        Ok(AdminUserView {
            id,
            email,
            name,
            roles: roles.iter().map(|r| r.code().to_string()).collect(),
            active_devices: 0,
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Someone with an account joins the admin's team; refused when they are in it already.
async fn join_team<S: Store>(
    state: &AppState<S>,
    me: &DeviceAuth,
    user: &str,
    roles: &[Role],
) -> Result<(StatusCode, Json<AdminUserView>), ApiError> {
    let st = state.clone();
    let (team, id, codes_list) = (me.team_id.clone(), user.to_string(), Role::join(roles));
    let view = blocking(move || {
        let members = st.store.users(&team).map_err(internal)?;
        if members.iter().any(|u| u.id == id) {
            return Err(ApiError(
                StatusCode::CONFLICT,
                AppError::new(codes::ALREADY_MEMBER),
            ));
        }
        st.store
            .set_roles(&id, &team, &codes_list)
            .map_err(internal)?;
        let members = st.store.users(&team).map_err(internal)?;
        members
            .into_iter()
            .find(|u| u.id == id)
            .ok_or_else(|| internal(StoreError::Db(rusqlite::Error::QueryReturnedNoRows)))
    })
    .await?;
    tracing::info!(admin = %me.user_id, user = %user, "member of another team joined");
    crate::access_changed(state, user);
    Ok((StatusCode::OK, Json(view)))
}

pub(crate) async fn set_roles<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(user): Path<String>,
    Json(req): Json<SetRolesRequest>,
) -> Result<Json<AdminUserView>, ApiError> {
    let me = admin(&state, &headers).await?;
    let roles = parse_roles(&req.roles)?;
    let st = state.clone();
    let target = user.clone();
    let view = blocking(move || {
        let members = st.store.users(&me.team_id).map_err(internal)?;
        let Some(current) = members.iter().find(|u| u.id == target) else {
            return Err(ApiError(
                StatusCode::NOT_FOUND,
                AppError::new(codes::USER_UNKNOWN),
            ));
        };
        let admins = members
            .iter()
            .filter(|u| u.roles.iter().any(|r| r == Role::Admin.code()))
            .count();
        let was_admin = current.roles.iter().any(|r| r == Role::Admin.code());
        if was_admin && !roles.contains(&Role::Admin) && admins == 1 {
            return Err(ApiError(
                StatusCode::CONFLICT,
                AppError::new(codes::LAST_ADMIN),
            ));
        }
        st.store
            .set_roles(&target, &me.team_id, &Role::join(&roles))
            .map_err(internal)?;
        tracing::info!(admin = %me.user_id, user = %target, roles = %Role::join(&roles), "roles changed");
        Ok(AdminUserView {
            roles: roles.iter().map(|r| r.code().to_string()).collect(),
            ..current.clone()
        })
    })
    .await?;
    crate::access_changed(&state, &user);
    Ok(Json(view))
}

pub(crate) async fn devices<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Result<Json<Vec<AdminDeviceView>>, ApiError> {
    let me = admin(&state, &headers).await?;
    let st = state.clone();
    blocking(move || st.store.devices(&me.team_id).map_err(internal))
        .await
        .map(Json)
}

pub(crate) async fn revoke<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(device): Path<String>,
) -> Result<StatusCode, ApiError> {
    let me = admin(&state, &headers).await?;
    let st = state.clone();
    let id = device.clone();
    blocking(move || {
        let in_team = st
            .store
            .devices(&me.team_id)
            .map_err(internal)?
            .iter()
            .any(|d| d.id == id);
        if !in_team {
            return Err(ApiError(
                StatusCode::NOT_FOUND,
                AppError::new(codes::NOT_FOUND),
            ));
        }
        crate::revoke_device(&st, &id).map_err(internal)?;
        tracing::info!(admin = %me.user_id, device = %id, "device revoked");
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit log of the admin's team, newest first, as JSON or as a CSV file to open in Excel.
pub(crate) async fn audit<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Query(mut q): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    let me = admin(&state, &headers).await?;
    if q.limit == 0 {
        q.limit = 200;
    }
    let csv = match q.format.as_str() {
        "" | "json" => false,
        "csv" => true,
        _ => {
            return Err(ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                AppError::new(codes::BAD_MESSAGE).with("format", q.format.clone()),
            ))
        }
    };
    let st = state.clone();
    let rows = blocking(move || st.store.audit(&me.team_id, &q).map_err(internal)).await?;
    if !csv {
        return Ok(Json(rows).into_response());
    }
    let body = to_csv(&rows).map_err(|_| {
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            AppError::new(codes::SERVER_ERROR),
        )
    })?;
    let name = format!("liveline-audit-{}.csv", now_ms());
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// CSV with a byte-order mark, so Excel opens Chinese names correctly. Times in UTC, RFC 3339.
fn to_csv(rows: &[AuditEntryView]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    w.write_record([
        "id", "time_utc", "record", "kind", "action", "fields", "changes", "user_id", "user",
        "device",
    ])?;
    // Every field opens as text: a name or a field key a device sent that starts like a formula is not run.
    use liveline_domain::cells::csv_text;
    for r in rows {
        let fields = r.fields.join(" ");
        w.write_record([
            r.id.to_string().as_str(),
            &rfc3339(r.at),
            &csv_text(&r.doc_id),
            &csv_text(&r.kind),
            &csv_text(&r.action),
            &csv_text(&fields),
            &r.changes.to_string(),
            &csv_text(&r.user_id),
            &csv_text(&r.user_name),
            &csv_text(&r.device_id),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000_123), "2026-11-18T11:06:40.123Z");
    }

    #[test]
    fn a_name_or_field_that_starts_like_a_formula_opens_as_text() {
        let row = AuditEntryView {
            id: 1,
            at: 0,
            doc_id: "0192f1a2-7b3c-7d4e-8f60-1a2b3c4d5e6f".into(),
            kind: "lead".into(),
            user_id: "u-rep1".into(),
            user_name: "=HYPERLINK(\"http://evil\",\"x\")".into(),
            device_id: "d".into(),
            action: "edited".into(),
            fields: vec!["@cmd".into(), "notes".into()],
            changes: 1,
        };
        let csv = String::from_utf8(to_csv(&[row]).unwrap()).unwrap();
        let mut rd = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
        let rec = rd.records().next().unwrap().unwrap();
        assert_eq!(&rec[8], "'=HYPERLINK(\"http://evil\",\"x\")");
        assert_eq!(&rec[5], "'@cmd notes");
        assert_eq!(&rec[7], "u-rep1");
    }
}

/// The team's group-bot webhooks, without their secrets.
pub(crate) async fn webhooks<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Result<Json<Vec<WebhookView>>, ApiError> {
    let d = admin(&state, &headers).await?;
    blocking(move || {
        let hooks = state.store.webhooks(&d.team_id).map_err(internal)?;
        let status = state.store.webhook_status(&d.team_id).map_err(internal)?;
        Ok(Json(
            hooks
                .into_iter()
                .map(|h| {
                    let (last_at, last_error) = status
                        .iter()
                        .find(|s| s.0 == h.id)
                        .map(|s| (s.1, s.2.clone()))
                        .unwrap_or_default();
                    WebhookView {
                        has_secret: !h.secret.is_empty(),
                        id: h.id,
                        kind: h.kind,
                        url: h.url,
                        last_at,
                        last_error,
                    }
                })
                .collect(),
        ))
    })
    .await
}

/// Replaces the team's webhooks. Each URL must be http(s) and each kind known; the refusal names the first fault
/// and its position, and nothing is changed.
pub(crate) async fn set_webhooks<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Json(input): Json<Vec<WebhookInput>>,
) -> Result<StatusCode, ApiError> {
    let d = admin(&state, &headers).await?;
    for (i, h) in input.iter().enumerate() {
        if !crate::notify::KINDS.contains(&h.kind.as_str()) {
            return Err(ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                AppError::new(codes::WEBHOOK_KIND_UNKNOWN)
                    .with("kind", h.kind.chars().take(40).collect::<String>())
                    .with("index", (i + 1).to_string()),
            ));
        }
        let url = url::Url::parse(h.url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        let Some(url) = url else {
            return Err(ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                AppError::new(codes::WEBHOOK_URL_INVALID).with("index", (i + 1).to_string()),
            ));
        };
        // Nowhere inside the operator's network (unless the operator allows the host by name).
        if let Err(code) = crate::notify::check_target(&url, &state.webhook_allow_hosts).await {
            return Err(ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                AppError::new(code).with("index", (i + 1).to_string()),
            ));
        }
    }
    let mut ids = std::collections::HashSet::new();
    for (i, h) in input.iter().enumerate() {
        if !h.id.is_empty() && !ids.insert(h.id.clone()) {
            return Err(ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                AppError::new(codes::WEBHOOK_DUPLICATE).with("index", (i + 1).to_string()),
            ));
        }
    }
    blocking(move || {
        let old = state.store.webhooks(&d.team_id).map_err(internal)?;
        // A plain-JSON hook (an ERP) is signed, so it needs its secret: given now, or kept from before.
        for (i, h) in input.iter().enumerate() {
            let kept = old
                .iter()
                .any(|o| !h.id.is_empty() && o.id == h.id && !o.secret.is_empty());
            if h.kind == "generic" && h.secret.trim().is_empty() && !kept {
                return Err(ApiError(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    AppError::new(codes::WEBHOOK_SECRET_REQUIRED)
                        .with("index", (i + 1).to_string()),
                ));
            }
        }
        let rows: Vec<WebhookRow> = input
            .into_iter()
            .map(|h| {
                let kept = old.iter().find(|o| !h.id.is_empty() && o.id == h.id);
                WebhookRow {
                    id: kept
                        .map(|o| o.id.clone())
                        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
                    secret: if h.secret.trim().is_empty() {
                        kept.map(|o| o.secret.clone()).unwrap_or_default()
                    } else {
                        h.secret.trim().to_string()
                    },
                    kind: h.kind,
                    url: h.url.trim().to_string(),
                }
            })
            .collect();
        state
            .store
            .set_webhooks(&d.team_id, &rows, now_ms())
            .map_err(internal)?;
        tracing::info!(user = %d.user_id, hooks = rows.len(), "webhooks set");
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}
