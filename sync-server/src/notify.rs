//! Group-bot webhooks (WeCom, DingTalk with its signature, Feishu, or plain JSON for an ERP): the automations'
//! events, sent after the write that caused them committed, retried with backoff, never blocking a push.
//!
//! A bot's URL carries its access token, so neither URLs nor secrets are logged: a delivery is named by the hook's
//! id and kind. The outcome of the last delivery is kept on the hook for the admin to see.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::automation::Event;
use crate::store::{Store, WebhookRow};
use crate::{now_ms, AppState};

/// Whether a webhook may never reach `ip` unless the operator allows its host by name: this machine, the
/// operator's own network and anything not meant for one public host (loopback, private, shared, link-local,
/// unique-local, multicast, unspecified, broadcast, and IPv4 mapped into IPv6 the same way).
pub fn forbidden(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || a.is_multicast()
                || a.is_unspecified()
                || a.is_broadcast()
                || o[0] == 0
                // 100.64.0.0/10, shared address space (carrier-grade NAT, cloud metadata neighbours).
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(a) => {
            let first = a.segments()[0];
            a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || a.to_ipv4_mapped()
                    .is_some_and(|v4| forbidden(IpAddr::V4(v4)))
        }
    }
}

/// Hosts the operator lets webhooks reach on an internal address (an on-premises ERP), by name as in the URL.
#[derive(Clone, Debug, Default)]
pub struct AllowedHosts(pub std::sync::Arc<Vec<String>>);

impl AllowedHosts {
    fn allows(&self, host: &str) -> bool {
        self.0.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

/// Checks where a hook's URL leads, when it is saved: a host the operator allows, or one whose every address is
/// public. Errs with the refusal's code.
pub async fn check_target(url: &url::Url, allowed: &AllowedHosts) -> Result<(), &'static str> {
    use liveline_types::codes;
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_matches(|c| c == '[' || c == ']');
    if allowed.allows(host) {
        return Ok(());
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<std::net::SocketAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(a) => a.collect(),
        Err(_) => return Err(codes::WEBHOOK_HOST_UNKNOWN),
    };
    if addrs.is_empty() {
        return Err(codes::WEBHOOK_HOST_UNKNOWN);
    }
    if addrs.iter().any(|a| forbidden(a.ip())) {
        return Err(codes::WEBHOOK_ADDRESS_FORBIDDEN);
    }
    Ok(())
}

/// The resolver webhook deliveries use: a host's internal addresses are dropped (unless the operator allows the
/// host), so a name that resolved to a public address when the hook was saved cannot be pointed inside later.
struct PublicOnly(AllowedHosts);

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = self.0.allows(name.as_str());
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allowed || !forbidden(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err("no public address".into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether a delivery may go to `url` as written: an address given literally is judged here (the resolver sees
/// only names).
fn literal_allowed(url: &str, allowed: &AllowedHosts) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    let host = u.host_str().unwrap_or_default();
    if allowed.allows(host.trim_matches(|c| c == '[' || c == ']')) {
        return true;
    }
    match u.host() {
        Some(url::Host::Ipv4(a)) => !forbidden(a.into()),
        Some(url::Host::Ipv6(a)) => !forbidden(a.into()),
        Some(url::Host::Domain(_)) => true,
        None => false,
    }
}

/// Mentions a chat bot would act on (`@all`, `<at user_id="all">`) are written as text: a buyer's name comes from
/// whoever captured it.
fn no_mentions(text: &str) -> String {
    text.replace('@', "＠")
        .replace('<', "＜")
        .replace('>', "＞")
}

/// The kinds of hook a team can add.
pub const KINDS: [&str; 4] = ["wecom", "dingtalk", "feishu", "generic"];

/// How long one delivery attempt may take, and how many attempts a message gets.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
pub const ATTEMPTS: usize = 4;

/// Sends `events` to their teams' hooks in the background.
pub fn deliver<S: Store>(state: &AppState<S>, events: Vec<Event>) {
    if events.is_empty() {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        for e in events {
            let team = team_of(&e).to_string();
            let st = state.clone();
            let t = team.clone();
            let found = tokio::task::spawn_blocking(move || {
                let hooks = st.store.webhooks(&t)?;
                let members = st.store.members(&t)?;
                Ok::<_, crate::store::StoreError>((hooks, members))
            })
            .await;
            let Ok(Ok((hooks, members))) = found else {
                continue;
            };
            if hooks.is_empty() {
                continue;
            }
            let name = |id: &str| {
                members
                    .iter()
                    .find(|m| m.id == id)
                    .map(|m| m.name.clone())
                    .unwrap_or_else(|| id.to_string())
            };
            let text = no_mentions(&message(&e, &name));
            let allowed = state.webhook_allow_hosts.clone();
            for h in hooks {
                let st = state.clone();
                let text = text.clone();
                let json = event_json(&e);
                let allowed = allowed.clone();
                tokio::spawn(async move {
                    let outcome = send_with_retry(&h, &text, &json, &allowed).await;
                    let error = outcome.err().unwrap_or_default();
                    if !error.is_empty() {
                        tracing::warn!(hook = %h.id, kind = %h.kind, %error, "webhook delivery failed");
                    }
                    let id = h.id.clone();
                    let _ = tokio::task::spawn_blocking(move || {
                        st.store.webhook_delivered(&id, now_ms(), &error)
                    })
                    .await;
                });
            }
        }
    });
}

fn team_of(e: &Event) -> &str {
    match e {
        Event::Assigned { team, .. }
        | Event::Duplicate { team, .. }
        | Event::Overdue { team, .. }
        | Event::Flow { team, .. } => team,
    }
}

/// The chat text, in Chinese and English (a group chat has readers of both).
pub fn message(e: &Event, name: &dyn Fn(&str) -> String) -> String {
    match e {
        Event::Assigned {
            buyer,
            owner,
            rule,
            due_at,
            ..
        } => {
            let due = jiff::Timestamp::from_millisecond(*due_at)
                .map(|t| t.strftime("%H:%M UTC").to_string())
                .unwrap_or_default();
            format!(
                "新线索 {buyer} 已分配给 {o}（规则：{rule}），请在 {due} 前首次联系。\nNew lead {buyer} assigned to {o} (rule: {rule}); first contact due by {due}.",
                o = name(owner)
            )
        }
        Event::Duplicate { buyer, owner, .. } => format!(
            "老客户 {buyer} 再次留资，已转给原负责人 {o}。\nReturning buyer {buyer} came back; passed to their owner {o}.",
            o = name(owner)
        ),
        Event::Overdue {
            buyer,
            owner,
            reassigned_to,
            ..
        } if !reassigned_to.is_empty() => format!(
            "线索 {buyer} 超时未联系（{o}），已改派给 {r}。\nLead {buyer} was not contacted in time by {o}; reassigned to {r}.",
            o = name(owner),
            r = name(reassigned_to)
        ),
        Event::Overdue { buyer, owner, .. } => format!(
            "线索 {buyer} 超时未联系（负责人 {o}），请跟进。\nLead {buyer} is overdue for first contact (owner {o}); please follow up.",
            o = name(owner)
        ),
        Event::Flow { hook, title, .. } => {
            format!("审批流程：{title}（{hook}）。\nApproval flow: {title} ({hook}).")
        }
    }
}

fn event_json(e: &Event) -> serde_json::Value {
    match e {
        Event::Assigned {
            team,
            lead,
            owner,
            rule,
            due_at,
            ..
        } => {
            serde_json::json!({"event": "lead.assigned", "team": team, "lead": lead, "owner": owner, "rule": rule, "due_at": due_at})
        }
        Event::Duplicate {
            team, lead, owner, ..
        } => {
            serde_json::json!({"event": "lead.duplicate", "team": team, "lead": lead, "owner": owner})
        }
        Event::Overdue {
            team,
            lead,
            owner,
            reassigned_to,
            ..
        } => {
            serde_json::json!({"event": "task.overdue", "team": team, "lead": lead, "owner": owner, "reassigned_to": reassigned_to})
        }
        Event::Flow {
            team,
            record,
            form,
            hook,
            ..
        } => {
            serde_json::json!({"event": format!("record.{hook}"), "team": team, "record": record, "form": form})
        }
    }
}

/// DingTalk's signature: base64(HMAC-SHA256(secret, "{timestamp}\n{secret}")), percent-encoded in the URL.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Feishu's signature: base64(HMAC-SHA256(key = "{timestamp}\n{secret}", message = empty)), timestamp in seconds.
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    let mac = Hmac::<Sha256>::new_from_slice(format!("{timestamp_s}\n{secret}").as_bytes())
        .expect("any key length");
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The request a hook gets for a message: URL and JSON body.
pub fn request(
    h: &WebhookRow,
    text: &str,
    json: &serde_json::Value,
    now: i64,
) -> (String, serde_json::Value) {
    match h.kind.as_str() {
        "dingtalk" => {
            let mut url = h.url.clone();
            if !h.secret.is_empty() {
                let sign = dingtalk_sign(&h.secret, now);
                let sign: String = percent_encoding::utf8_percent_encode(
                    &sign,
                    percent_encoding::NON_ALPHANUMERIC,
                )
                .to_string();
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str(&format!("timestamp={now}&sign={sign}"));
            }
            (
                url,
                serde_json::json!({"msgtype": "text", "text": {"content": text}}),
            )
        }
        "wecom" => (
            h.url.clone(),
            serde_json::json!({"msgtype": "text", "text": {"content": text}}),
        ),
        "feishu" => {
            let mut body = serde_json::json!({"msg_type": "text", "content": {"text": text}});
            if !h.secret.is_empty() {
                let ts = now / 1000;
                body["timestamp"] = ts.to_string().into();
                body["sign"] = feishu_sign(&h.secret, ts).into();
            }
            (h.url.clone(), body)
        }
        _ => {
            let mut body = json.clone();
            body["text"] = text.into();
            (h.url.clone(), body)
        }
    }
}

/// The signature a generic hook's request carries when the hook has a secret: `v1=` and the hex HMAC-SHA256,
/// under the secret, of the timestamp (Unix seconds), a dot and the body, as sent in `X-Liveline-Timestamp` and
/// `X-Liveline-Signature`. The receiver recomputes it and refuses a timestamp far from its clock (replays).
pub fn generic_signature(secret: &str, timestamp_s: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp_s.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// One delivery with retries. `Err` says why the last attempt failed (status, the bot's own error code, or a
/// time-out), without the URL.
async fn send_with_retry(
    h: &WebhookRow,
    text: &str,
    json: &serde_json::Value,
    allowed: &AllowedHosts,
) -> Result<(), String> {
    // No redirects: a hook answering 3xx cannot send the delivery somewhere it was not saved to.
    let client = reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(std::sync::Arc::new(PublicOnly(allowed.clone())))
        .build()
        .map_err(|e| e.to_string())?;
    let attempt = || async {
        let now = now_ms();
        let (url, body) = request(h, text, json, now);
        if !literal_allowed(&url, allowed) {
            return Err("address forbidden".to_string());
        }
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut req = client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if h.kind == "generic" && !h.secret.is_empty() {
            let ts = now / 1000;
            req = req.header("x-liveline-timestamp", ts.to_string()).header(
                "x-liveline-signature",
                generic_signature(&h.secret, ts, &bytes),
            );
        }
        let resp = req.body(bytes).send().await.map_err(|e| {
            if e.is_timeout() {
                "timeout".to_string()
            } else {
                "unreachable".to_string()
            }
        })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(format!("http {}", status.as_u16()));
        }
        // The bots answer 200 with their own error code when they refuse a message (a bad signature, say).
        let reply: serde_json::Value = resp.json().await.unwrap_or_default();
        let code = reply
            .get("errcode")
            .or_else(|| reply.get("code"))
            .and_then(|c| c.as_i64())
            .unwrap_or(0);
        // The code only: the remote's own text is not shown to the admin (it could say anything).
        if code != 0 {
            return Err(format!("bot error {code}"));
        }
        Ok(())
    };
    attempt
        .retry(
            ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(200))
                .with_max_delay(Duration::from_secs(5))
                .with_max_times(ATTEMPTS - 1),
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dingtalk_signature_matches_the_documented_recipe() {
        // HMAC-SHA256 of "1700000000000\nSECxyz" keyed by "SECxyz", base64: computed independently with Python's
        // hmac module.
        assert_eq!(
            dingtalk_sign("SECxyz", 1_700_000_000_000),
            "0PUR1j8g85Xg3vlFV/UrEcxXfF5HpCAGzcjrNfyJoyg="
        );
        let h = WebhookRow {
            id: "h".into(),
            kind: "dingtalk".into(),
            url: "https://oapi.dingtalk.com/robot/send?access_token=abc".into(),
            secret: "SECxyz".into(),
        };
        let (url, body) = request(&h, "hi", &serde_json::json!({}), 1_700_000_000_000);
        assert_eq!(
            url,
            "https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1700000000000&sign=0PUR1j8g85Xg3vlFV%2FUrEcxXfF5HpCAGzcjrNfyJoyg%3D"
        );
        assert_eq!(body["text"]["content"], "hi");
    }
}
