//! "Export to Excel" for any list or table on screen: the table is made here, in the viewer's language, and the
//! shell writes it as `.xlsx` (times in the viewer's time zone, money with its currency) to Downloads.

use crate::api;
use crate::i18n::*;
use crate::labels::I18n;
use leptos::prelude::*;
use leptos::task::spawn_local;
use liveline_types::sheets::{Cell, ExportTable};
use liveline_types::AppError;

/// Where the last export went, or why it failed.
pub type Saved = RwSignal<Option<Result<String, AppError>>>;

/// Writes `table` and notes where it went.
pub fn save(table: ExportTable, saved: Saved) {
    spawn_local(async move { saved.set(Some(api::export_xlsx(&table).await)) });
}

/// The line under an export button: the file's path, or the refusal.
pub fn note(i18n: I18n, saved: Saved, id: &'static str) -> impl IntoView {
    move || {
        saved.get().map(|r| match r {
            Ok(path) => view! { <p class="saved" id=id>{t!(i18n, imp.saved, path = path.clone())}</p> }.into_any(),
            Err(e) => view! { <p class="form-error" role="alert">{crate::errors::error_text(i18n, &e)}</p> }.into_any(),
        })
    }
}

/// Text, or an empty cell.
pub fn text(s: &str) -> Cell {
    if s.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(s.to_string())
    }
}
