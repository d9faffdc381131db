//! The team administration API as the app calls it: members and roles, devices, the audit log, group-bot
//! webhooks. Online only (the
//! server is the authority on who is in the team); every call carries this device's token.

use std::time::Duration;

use liveline_types::{
    codes, AdminDeviceView, AdminUserView, AppError, AuditEntryView, AuditQuery, InviteRequest,
    SetRolesRequest, SwitchTeamRequest, TeamView, WebhookInput, WebhookView,
};
use reqwest::Method;
use serde::de::DeserializeOwned;

use crate::replica::Credentials;

/// An admin session on the server of `creds`.
pub struct Admin {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Admin {
    pub fn new(creds: &Credentials) -> Self {
        Admin {
            base: base_url(&creds.server),
            token: creds.token.clone(),
            http: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<reqwest::Response, AppError> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(20));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|_| {
            AppError::new(codes::SERVER_UNREACHABLE).with("server", self.base.clone())
        })?;
        refusal(resp).await
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T, AppError> {
        self.call(method, path, body)
            .await?
            .json()
            .await
            .map_err(|_| AppError::new(codes::SERVER_ERROR))
    }

    /// The teams the user belongs to, the one this device works in marked `current`.
    pub async fn teams(&self) -> Result<Vec<TeamView>, AppError> {
        #[derive(serde::Deserialize)]
        struct Me {
            teams: Vec<TeamView>,
        }
        let me: Me = self.json(Method::GET, "/v1/me", None).await?;
        Ok(me.teams)
    }

    /// Moves this device to another of the user's teams (the server refuses one they are not in).
    pub async fn switch_team(&self, team_id: &str) -> Result<TeamView, AppError> {
        let body = serde_json::to_value(SwitchTeamRequest {
            team_id: team_id.to_string(),
        })
        .map_err(|_| AppError::new(codes::BAD_MESSAGE))?;
        self.json(Method::PUT, "/v1/me/team", Some(body)).await
    }

    pub async fn users(&self) -> Result<Vec<AdminUserView>, AppError> {
        self.json(Method::GET, "/v1/admin/users", None).await
    }

    pub async fn invite(&self, req: &InviteRequest) -> Result<AdminUserView, AppError> {
        let body = serde_json::to_value(req).map_err(|_| AppError::new(codes::BAD_MESSAGE))?;
        self.json(Method::POST, "/v1/admin/users", Some(body)).await
    }

    pub async fn set_roles(&self, user: &str, roles: &[String]) -> Result<AdminUserView, AppError> {
        let body = serde_json::to_value(SetRolesRequest {
            roles: roles.to_vec(),
        })
        .map_err(|_| AppError::new(codes::BAD_MESSAGE))?;
        let path = format!("/v1/admin/users/{}/roles", encode(user));
        self.json(Method::PUT, &path, Some(body)).await
    }

    /// The team's group-bot webhooks (without their secrets) and how the last delivery went.
    pub async fn webhooks(&self) -> Result<Vec<WebhookView>, AppError> {
        self.json(Method::GET, "/v1/admin/webhooks", None).await
    }

    /// Replaces the team's webhooks; an empty secret on an existing hook keeps its secret.
    pub async fn set_webhooks(&self, hooks: &[WebhookInput]) -> Result<(), AppError> {
        let body = serde_json::to_value(hooks).map_err(|_| AppError::new(codes::BAD_MESSAGE))?;
        self.call(Method::PUT, "/v1/admin/webhooks", Some(body))
            .await
            .map(|_| ())
    }

    pub async fn devices(&self) -> Result<Vec<AdminDeviceView>, AppError> {
        self.json(Method::GET, "/v1/admin/devices", None).await
    }

    pub async fn revoke(&self, device: &str) -> Result<(), AppError> {
        let path = format!("/v1/admin/devices/{}/revoke", encode(device));
        self.call(Method::POST, &path, None).await.map(|_| ())
    }

    pub async fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntryView>, AppError> {
        let q = AuditQuery {
            format: "json".into(),
            ..q.clone()
        };
        self.json(Method::GET, &format!("/v1/admin/audit?{}", query(&q)), None)
            .await
    }

    /// The audit log as CSV bytes (with a byte-order mark, for Excel).
    pub async fn audit_csv(&self, q: &AuditQuery) -> Result<Vec<u8>, AppError> {
        let q = AuditQuery {
            format: "csv".into(),
            ..q.clone()
        };
        let resp = self
            .call(Method::GET, &format!("/v1/admin/audit?{}", query(&q)), None)
            .await?;
        resp.bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|_| AppError::new(codes::SERVER_ERROR))
    }
}

/// A server address as typed (`host:port`, with or without a scheme or a trailing slash) as a base URL.
pub(crate) fn base_url(server: &str) -> String {
    let server = server.trim().trim_end_matches('/');
    if server.contains("://") {
        server.to_string()
    } else {
        format!("http://{server}")
    }
}

/// The response when it succeeded; otherwise the server's `{code, args}` (or `server.error` if it sent none).
pub(crate) async fn refusal(resp: reqwest::Response) -> Result<reqwest::Response, AppError> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    Err(resp
        .json::<AppError>()
        .await
        .unwrap_or_else(|_| AppError::new(codes::SERVER_ERROR)))
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn query(q: &AuditQuery) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [("doc", &q.doc), ("user", &q.user), ("format", &q.format)] {
        if !v.is_empty() {
            out.append_pair(k, v);
        }
    }
    for (k, v) in [("from", q.from), ("to", q.to), ("before_id", q.before_id)] {
        if let Some(v) = v {
            out.append_pair(k, &v.to_string());
        }
    }
    if q.limit > 0 {
        out.append_pair("limit", &q.limit.to_string());
    }
    out.finish()
}
