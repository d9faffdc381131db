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
            let text = message(&e, &name);
            for h in hooks {
                let st = state.clone();
                let text = text.clone();
                let json = event_json(&e);
                tokio::spawn(async move {
                    let outcome = send_with_retry(&h, &text, &json).await;
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

/// One delivery with retries. `Err` says why the last attempt failed (status, the bot's own error code, or a
/// time-out), without the URL.
async fn send_with_retry(
    h: &WebhookRow,
    text: &str,
    json: &serde_json::Value,
) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let attempt = || async {
        let (url, body) = request(h, text, json, now_ms());
        let resp = client.post(&url).json(&body).send().await.map_err(|e| {
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
        if code != 0 {
            let msg = reply
                .get("errmsg")
                .or_else(|| reply.get("msg"))
                .and_then(|m| m.as_str())
                .unwrap_or("");
            return Err(format!(
                "bot error {code}: {}",
                msg.chars().take(120).collect::<String>()
            ));
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
