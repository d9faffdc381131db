//! The live session record: a stream the team runs, which captured leads point to.

use autosurgeon::{Hydrate, Reconcile};
use liveline_types::LiveSessionView;

/// A live session document's content.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hydrate, Reconcile)]
pub struct LiveSession {
    pub kind: String,
    pub team: String,
    pub title: String,
    pub platform: String,
    pub host: String,
    /// Milliseconds since the Unix epoch (UTC).
    pub starts_at: i64,
    pub ends_at: i64,
    #[autosurgeon(missing = "Default::default")]
    pub owner: String,
    #[autosurgeon(missing = "Default::default")]
    pub created_by: String,
    /// User ids of the people who work the stream (host and assistants): they read it.
    #[autosurgeon(missing = "Default::default")]
    pub staff: Vec<String>,
}

impl LiveSession {
    pub fn view(&self, id: &str) -> LiveSessionView {
        LiveSessionView {
            id: id.to_string(),
            title: self.title.clone(),
            platform: self.platform.clone(),
            host: self.host.clone(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
        }
    }
}

/// The session in progress at `now_ms`: the one that started most recently among those running.
pub fn current<'a>(sessions: &'a [LiveSessionView], now_ms: i64) -> Option<&'a LiveSessionView> {
    sessions
        .iter()
        .filter(|s| s.starts_at <= now_ms && now_ms < s.ends_at)
        .max_by_key(|s| s.starts_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(id: &str, a: i64, b: i64) -> LiveSessionView {
        LiveSessionView {
            id: id.into(),
            starts_at: a,
            ends_at: b,
            ..Default::default()
        }
    }

    #[test]
    fn current_picks_the_latest_running_session() {
        let all = [s("a", 0, 100), s("b", 50, 200), s("c", 300, 400)];
        assert_eq!(current(&all, 60).map(|s| s.id.as_str()), Some("b"));
        assert_eq!(current(&all, 10).map(|s| s.id.as_str()), Some("a"));
        assert_eq!(current(&all, 250), None);
        assert_eq!(current(&all, 200), None, "end is exclusive");
    }
}
