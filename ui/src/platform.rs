//! Small browser helpers (local storage, confirm, clipboard, date formatting, locale-aware sorting, focus),
//! so that components never touch JS or web-sys directly.

use js_sys::{Array, Date, JsString, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Reads a value from `localStorage`.
pub fn storage_get(key: &str) -> Option<String> {
    web_sys::window()?
        .local_storage()
        .ok()??
        .get_item(key)
        .ok()?
}

/// Writes a value to `localStorage` (ignored when storage is unavailable).
pub fn storage_set(key: &str, value: &str) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(key, value);
    }
}

/// A blocking yes/no question (`window.confirm`); false when it cannot be shown.
pub fn confirm(message: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.confirm_with_message(message).ok())
        .unwrap_or(false)
}

/// Copies text to the clipboard with `navigator.clipboard.writeText`.
pub async fn copy_text(text: &str) -> Result<(), ()> {
    let window: JsValue = web_sys::window().ok_or(())?.into();
    let navigator = Reflect::get(&window, &"navigator".into()).map_err(|_| ())?;
    let clipboard = Reflect::get(&navigator, &"clipboard".into()).map_err(|_| ())?;
    let write = Reflect::get(&clipboard, &"writeText".into())
        .map_err(|_| ())?
        .dyn_into::<js_sys::Function>()
        .map_err(|_| ())?;
    let promise = write
        .call1(&clipboard, &JsValue::from_str(text))
        .map_err(|_| ())?
        .dyn_into::<Promise>()
        .map_err(|_| ())?;
    JsFuture::from(promise).await.map(|_| ()).map_err(|_| ())
}

/// Formats a UTC millisecond timestamp as a date and time in the viewer's time zone and the given language.
pub fn format_time(ms: i64, lang: &str) -> String {
    if ms <= 0 {
        return String::new();
    }
    let date = Date::new(&JsValue::from_f64(ms as f64));
    let options = Object::new();
    let _ = Reflect::set(&options, &"dateStyle".into(), &"medium".into());
    let _ = Reflect::set(&options, &"timeStyle".into(), &"short".into());
    date.to_locale_string(lang, &options).into()
}

/// Compares two strings the way people of `lang` sort them (pinyin order for zh-CN).
pub fn collate(a: &str, b: &str, lang: &str) -> std::cmp::Ordering {
    let locales = Array::of1(&JsValue::from_str(lang));
    JsString::from(a)
        .locale_compare(b, &locales, &Object::new())
        .cmp(&0)
}

/// Moves keyboard focus to the element with this id, if present.
pub fn focus(id: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}

/// Groups digits with thousands separators: 1234 -> "1,234".
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::group_digits;

    #[test]
    fn groups() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1234), "1,234");
        assert_eq!(group_digits(1234567), "1,234,567");
    }
}
