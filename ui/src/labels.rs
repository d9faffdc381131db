//! Display names for stable codes: channels, statuses, contact kinds, roles, countries and form fields,
//! in the current language.

use crate::i18n::*;
use crate::platform;
use liveline_types::{countries::COUNTRIES, Channel, ContactKind, LeadStatus};
use std::{cell::RefCell, rc::Rc};

/// The i18n context of this app.
pub type I18n = leptos_i18n::I18nContext<Locale>;

/// The BCP 47 tag of a locale, for `Intl` formatting.
pub fn lang_tag(locale: Locale) -> &'static str {
    match locale {
        Locale::en => "en",
        Locale::zh_CN => "zh-CN",
    }
}

pub fn channel_name(i18n: I18n, code: &str) -> String {
    match Channel::from_code(code) {
        Some(Channel::TiktokLive) => t_string!(i18n, channel.tiktok_live).to_string(),
        Some(Channel::AlibabaLive) => t_string!(i18n, channel.alibaba_live).to_string(),
        Some(Channel::Facebook) => t_string!(i18n, channel.facebook).to_string(),
        Some(Channel::Youtube) => t_string!(i18n, channel.youtube).to_string(),
        Some(Channel::Instagram) => t_string!(i18n, channel.instagram).to_string(),
        Some(Channel::Other) => t_string!(i18n, channel.other).to_string(),
        None => code.to_string(),
    }
}

pub fn status_name(i18n: I18n, code: &str) -> String {
    match LeadStatus::from_code(code) {
        Some(LeadStatus::New) => t_string!(i18n, status.new).to_string(),
        Some(LeadStatus::Contacted) => t_string!(i18n, status.contacted).to_string(),
        Some(LeadStatus::Qualified) => t_string!(i18n, status.qualified).to_string(),
        Some(LeadStatus::Quoted) => t_string!(i18n, status.quoted).to_string(),
        Some(LeadStatus::Won) => t_string!(i18n, status.won).to_string(),
        Some(LeadStatus::Lost) => t_string!(i18n, status.lost).to_string(),
        None => code.to_string(),
    }
}

pub fn contact_kind_name(i18n: I18n, code: &str) -> String {
    match ContactKind::from_code(code) {
        Some(ContactKind::Whatsapp) => t_string!(i18n, contact_kind.whatsapp).to_string(),
        Some(ContactKind::Wechat) => t_string!(i18n, contact_kind.wechat).to_string(),
        Some(ContactKind::Other) => t_string!(i18n, contact_kind.other).to_string(),
        None => code.to_string(),
    }
}

/// One role's name, or several (a comma-separated list as the server sends it) joined with " · ".
pub fn role_name(i18n: I18n, code: &str) -> String {
    if code.contains(',') {
        return code
            .split(',')
            .filter(|c| !c.is_empty())
            .map(|c| role_name(i18n, c))
            .collect::<Vec<_>>()
            .join(" · ");
    }
    match code {
        "assistant" => t_string!(i18n, role.assistant).to_string(),
        "sales_rep" => t_string!(i18n, role.sales_rep).to_string(),
        "sales_lead" => t_string!(i18n, role.sales_lead).to_string(),
        "finance" => t_string!(i18n, role.finance).to_string(),
        "warehouse" => t_string!(i18n, role.warehouse).to_string(),
        "manager" => t_string!(i18n, role.manager).to_string(),
        "admin" => t_string!(i18n, role.admin).to_string(),
        other => other.to_string(),
    }
}

/// The label of a `LeadInput` field; unknown names are shown as they are.
pub fn field_label(i18n: I18n, field: &str) -> String {
    match field {
        "buyer_name" => t_string!(i18n, field.buyer_name).to_string(),
        "company" => t_string!(i18n, field.company).to_string(),
        "country" => t_string!(i18n, field.country).to_string(),
        "phone" => t_string!(i18n, field.phone).to_string(),
        "email" => t_string!(i18n, field.email).to_string(),
        "contact_kind" => t_string!(i18n, field.contact_kind).to_string(),
        "contact" => t_string!(i18n, field.contact).to_string(),
        "channel" => t_string!(i18n, field.channel).to_string(),
        "live_session" => t_string!(i18n, field.live_session).to_string(),
        "product_interest" => t_string!(i18n, field.product_interest).to_string(),
        "quantity" => t_string!(i18n, field.quantity).to_string(),
        "notes" => t_string!(i18n, field.notes).to_string(),
        "status" => t_string!(i18n, field.status).to_string(),
        "owner" => t_string!(i18n, field.owner).to_string(),
        "language" => t_string!(i18n, field.language).to_string(),
        "created_by" => t_string!(i18n, field.created_by).to_string(),
        "assigned_rule" => t_string!(i18n, field.assigned_rule).to_string(),
        "assigned_rule_name" => t_string!(i18n, field.assigned_rule_name).to_string(),
        "assigned_at" => t_string!(i18n, field.assigned_at).to_string(),
        "duplicate_of" => t_string!(i18n, field.duplicate_of).to_string(),
        "first_task" => t_string!(i18n, field.first_task).to_string(),
        "contacts" => t_string!(i18n, field.contacts).to_string(),
        other => other.to_string(),
    }
}

/// The name of a country (ISO alpha-2 code) in the given language; unknown codes are returned as they are.
pub fn country_name(locale: Locale, code: &str) -> String {
    let upper = code.trim().to_ascii_uppercase();
    match COUNTRIES.binary_search_by(|c| c.0.cmp(upper.as_str())) {
        Ok(i) => match locale {
            Locale::en => COUNTRIES[i].1.to_string(),
            Locale::zh_CN => COUNTRIES[i].2.to_string(),
        },
        Err(_) => code.to_string(),
    }
}

type CountryList = Rc<Vec<(&'static str, &'static str)>>;

thread_local! {
    static SORTED: RefCell<[Option<CountryList>; 2]> = const { RefCell::new([None, None]) };
}

/// `(code, name)` of every country, sorted by the name as people of that language sort (computed once per language).
pub fn sorted_countries(locale: Locale) -> CountryList {
    let slot = match locale {
        Locale::en => 0,
        Locale::zh_CN => 1,
    };
    SORTED.with(|cell| {
        if let Some(list) = &cell.borrow()[slot] {
            return list.clone();
        }
        let tag = lang_tag(locale);
        let mut list: Vec<(&'static str, &'static str)> = COUNTRIES
            .iter()
            .map(|(code, en, zh)| (*code, if slot == 0 { *en } else { *zh }))
            .collect();
        list.sort_by(|a, b| platform::collate(a.1, b.1, tag));
        let list = Rc::new(list);
        cell.borrow_mut()[slot] = Some(list.clone());
        list
    })
}

/// A task type's name (`first_contact`, `overdue`, `duplicate`, `todo`).
pub fn task_type_name(i18n: I18n, code: &str) -> String {
    match code {
        "first_contact" => t_string!(i18n, task_type.first_contact).to_string(),
        "overdue" => t_string!(i18n, task_type.overdue).to_string(),
        "duplicate" => t_string!(i18n, task_type.duplicate).to_string(),
        "todo" => t_string!(i18n, task_type.todo).to_string(),
        other => other.to_string(),
    }
}

/// A task status's name, as the task center's tabs call it.
pub fn task_status_name(i18n: I18n, code: &str) -> String {
    match code {
        "open" => t_string!(i18n, tasks.upcoming).to_string(),
        "done" | "cancelled" => t_string!(i18n, tasks.done).to_string(),
        other => other.to_string(),
    }
}

/// How a contact was made (`phone`, `whatsapp`, `wechat`, `email`, `other`).
pub fn contact_way_name(i18n: I18n, code: &str) -> String {
    match code {
        "phone" => t_string!(i18n, contact.phone).to_string(),
        "whatsapp" => t_string!(i18n, contact.whatsapp).to_string(),
        "wechat" => t_string!(i18n, contact.wechat).to_string(),
        "email" => t_string!(i18n, contact.email).to_string(),
        "other" => t_string!(i18n, contact.other).to_string(),
        other => other.to_string(),
    }
}

/// A span of time in words: "12 min", "3 h", "2 d".
pub fn span(i18n: I18n, ms: i64) -> String {
    let minutes = (ms.abs() / 60_000).max(1);
    if minutes < 60 {
        t_string!(i18n, tasks.minutes, n = minutes).to_string()
    } else if minutes < 48 * 60 {
        t_string!(i18n, tasks.hours, n = minutes / 60).to_string()
    } else {
        t_string!(i18n, tasks.days, n = minutes / (24 * 60)).to_string()
    }
}

/// A buyer language's name (ISO 639-1 code).
pub fn language_name(i18n: I18n, code: &str) -> String {
    match code {
        "en" => t_string!(i18n, language.en),
        "es" => t_string!(i18n, language.es),
        "pt" => t_string!(i18n, language.pt),
        "fr" => t_string!(i18n, language.fr),
        "de" => t_string!(i18n, language.de),
        "ar" => t_string!(i18n, language.ar),
        "ru" => t_string!(i18n, language.ru),
        "zh" => t_string!(i18n, language.zh),
        "ja" => t_string!(i18n, language.ja),
        "ko" => t_string!(i18n, language.ko),
        "vi" => t_string!(i18n, language.vi),
        "id" => t_string!(i18n, language.id),
        "th" => t_string!(i18n, language.th),
        "tr" => t_string!(i18n, language.tr),
        "hi" => t_string!(i18n, language.hi),
        "it" => t_string!(i18n, language.it),
        other => return other.to_string(),
    }
    .to_string()
}

/// A rule condition's operator in words.
pub fn op_name(i18n: I18n, op: &str) -> String {
    match op {
        "eq" => t_string!(i18n, rules.op_eq),
        "contains" => t_string!(i18n, rules.op_contains),
        "gte" => t_string!(i18n, rules.op_gte),
        "lte" => t_string!(i18n, rules.op_lte),
        "empty" => t_string!(i18n, rules.op_empty),
        "not_empty" => t_string!(i18n, rules.op_not_empty),
        other => return other.to_string(),
    }
    .to_string()
}
