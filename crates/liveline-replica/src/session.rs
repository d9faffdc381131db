//! The device's side of one sync session, without the socket: what to send on connecting, which pending changes
//! to push, and what each server message does to the replica. `client.rs` carries it over a WebSocket; the
//! deterministic simulator (`liveline-testkit::sim`) calls it directly, so both run the same steps.

use std::collections::HashSet;

use liveline_sync::{plan_push, ClientMsg, Hash, ServerMsg};
use liveline_types::AppError;

use crate::replica::{Replica, Result};

/// The state of one connection: changes sent and not yet answered, and how far each bucket has caught up.
#[derive(Default)]
pub struct ClientSession {
    inflight: HashSet<Hash>,
    buckets: Option<Vec<String>>,
    caught_up: HashSet<String>,
    /// Documents and log entries received on this connection.
    pub received: u64,
}

/// What the connection does after a server message.
#[derive(Debug, PartialEq)]
pub enum Next {
    Continue,
    /// Push what is pending (an answer freed the way, or the server asked for changes again).
    Push,
    /// The server could not handle what we sent (its storage failed, say): what was in flight may not be stored,
    /// so reconnect after a pause and send it again.
    Retry(AppError),
    /// Do not retry with these credentials (the device was revoked).
    Fatal(AppError),
}

impl ClientSession {
    /// The first message on a connection: where the device stands in each bucket.
    pub fn hello(&self, r: &Replica) -> Result<ClientMsg> {
        Ok(ClientMsg::Hello {
            cursors: r.cursors()?,
        })
    }

    /// Pushes for the pending changes that are not already on their way (none when nothing is new).
    pub fn push(&mut self, r: &Replica) -> Result<Vec<ClientMsg>> {
        let fresh: Vec<_> = r
            .pending(5000)?
            .into_iter()
            .filter(|p| !self.inflight.contains(&p.hash))
            .collect();
        self.inflight.extend(fresh.iter().map(|p| p.hash));
        Ok(plan_push(&fresh))
    }

    /// Every bucket caught up and nothing on its way.
    pub fn settled(&self) -> bool {
        let done = self
            .buckets
            .as_ref()
            .is_some_and(|b| b.iter().all(|b| self.caught_up.contains(b)));
        done && self.inflight.is_empty()
    }

    /// Applies one server message to the replica; `now` stamps refusals in the inbox.
    pub fn on_message(&mut self, r: &mut Replica, msg: ServerMsg, now: i64) -> Result<Next> {
        match msg {
            ServerMsg::Welcome {
                user_name,
                role,
                team_id,
                team_name,
                members,
                buckets,
                ..
            } => {
                r.apply_welcome(
                    &user_name,
                    &role,
                    (&team_id, &team_name),
                    &members,
                    &buckets,
                )?;
                self.caught_up.retain(|b| buckets.contains(b));
                self.buckets = Some(buckets);
            }
            ServerMsg::Snapshot {
                bucket,
                docs,
                upto,
                last,
                ..
            } => {
                self.received += docs.len() as u64;
                r.apply_snapshot(&bucket, &docs, upto, last)?;
            }
            ServerMsg::Changes {
                bucket,
                entries,
                upto,
            } => {
                self.received += entries.len() as u64;
                r.apply_changes(&bucket, &entries, upto)?;
            }
            ServerMsg::CaughtUp { bucket, .. } => {
                self.caught_up.insert(bucket);
            }
            ServerMsg::Ack { doc, hashes } => {
                for h in &hashes {
                    self.inflight.remove(h);
                }
                r.ack(&doc, &hashes)?;
                if self.inflight.is_empty() {
                    return Ok(Next::Push);
                }
            }
            ServerMsg::Refused {
                doc,
                hashes,
                path,
                error,
            } => {
                tracing::info!(doc = %doc, code = %error.code, "edit refused by the server");
                for h in &hashes {
                    self.inflight.remove(h);
                }
                // Dependents of the refused changes are dropped locally; they are no longer in flight either.
                for h in r.refuse(&doc, &hashes, &path, &error, now)? {
                    self.inflight.remove(&h);
                }
            }
            ServerMsg::MissingDeps {
                doc,
                hashes,
                missing,
            } => {
                for h in &hashes {
                    self.inflight.remove(h);
                }
                if r.missing_deps(&doc, &hashes, &missing, now)? {
                    for h in r.pending_for(&doc)? {
                        self.inflight.remove(&h);
                    }
                    return Ok(Next::Push);
                }
            }
            ServerMsg::Error { error, fatal } => {
                if fatal {
                    return Ok(Next::Fatal(error));
                }
                tracing::warn!(code = %error.code, "server reported an error");
                self.inflight.clear();
                return Ok(Next::Retry(error));
            }
            ServerMsg::Pong => {}
        }
        Ok(Next::Continue)
    }
}
