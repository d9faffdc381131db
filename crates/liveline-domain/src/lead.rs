//! The buyer lead: its document content, validation of what the capture form sends, and its view.

use automerge::AutoCommit;
use autosurgeon::{hydrate, reconcile, Hydrate, Reconcile};
use liveline_types::{
    codes, countries::COUNTRIES, AppError, Channel, ContactKind, FieldError, LeadInput, LeadStatus,
    LeadView,
};

use crate::doc::DocError;

/// A lead document's content. Field names are the same in the document, the SQL column and the form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hydrate, Reconcile)]
pub struct Lead {
    pub kind: String,
    pub team: String,
    pub buyer_name: String,
    pub company: String,
    pub country: String,
    /// E.164, or empty.
    pub phone: String,
    pub email: String,
    pub contact_kind: String,
    pub contact: String,
    pub channel: String,
    pub live_session: String,
    pub product_interest: String,
    /// The buyer's language (ISO 639-1), or empty.
    #[autosurgeon(missing = "Default::default")]
    pub language: String,
    pub quantity: Option<i64>,
    pub notes: String,
    pub status: String,
    pub owner: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Written by the server when its rules give the lead an owner: the rule, and when.
    #[autosurgeon(missing = "Default::default")]
    pub assigned_rule: String,
    #[autosurgeon(missing = "Default::default")]
    pub assigned_rule_name: String,
    #[autosurgeon(missing = "Default::default")]
    pub assigned_at: i64,
    /// An earlier lead of the team with the same phone or e-mail.
    #[autosurgeon(missing = "Default::default")]
    pub duplicate_of: String,
    /// The first-contact task the server opened for the owner.
    #[autosurgeon(missing = "Default::default")]
    pub first_task: String,
    /// Contacts with the buyer, appended by whoever made them (offline appends merge).
    #[autosurgeon(missing = "Default::default")]
    pub contacts: Vec<Contact>,
    /// Values of fields an admin added to the lead form: key → the value as JSON (`liveline_types::forms::Value`).
    /// One map entry per field, so edits of different added fields merge.
    #[autosurgeon(missing = "Default::default")]
    pub extra: std::collections::BTreeMap<String, String>,
}

/// One logged contact with the buyer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hydrate, Reconcile)]
pub struct Contact {
    pub at: i64,
    pub by: String,
    pub kind: String,
    pub note: String,
}

/// How a contact was made.
pub const CONTACT_KINDS: [&str; 5] = ["phone", "whatsapp", "wechat", "email", "other"];

/// The checked, normalised fields of a lead, as [`validate_lead`] returns them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeadFields {
    pub buyer_name: String,
    pub company: String,
    pub country: String,
    pub phone: String,
    pub email: String,
    pub contact_kind: String,
    pub contact: String,
    pub channel: String,
    pub live_session: String,
    pub product_interest: String,
    pub language: String,
    pub quantity: Option<i64>,
    pub notes: String,
    pub status: String,
    pub owner: String,
}

/// What validation needs to know about the team: who may own a lead, which sessions exist.
#[derive(Clone, Debug, Default)]
pub struct ValidationContext<'a> {
    pub members: &'a [String],
    pub live_sessions: &'a [String],
}

const SHORT: usize = 200;
const LONG: usize = 5000;

fn err(field: &str, code: &str) -> FieldError {
    FieldError {
        field: field.to_string(),
        error: AppError::new(code),
    }
}

fn too_long(field: &str, max: usize) -> FieldError {
    FieldError {
        field: field.to_string(),
        error: AppError::new(codes::TOO_LONG).with("max", max.to_string()),
    }
}

/// Checks what the form sent. Returns the normalised fields (phone as E.164, trimmed text) or every field error.
pub fn validate_lead(
    input: &LeadInput,
    ctx: &ValidationContext<'_>,
) -> Result<LeadFields, Vec<FieldError>> {
    let mut errors = Vec::new();
    let t = |s: &str| s.trim().to_string();
    let check_len = |field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>| {
        if value.chars().count() > max {
            errors.push(too_long(field, max));
        }
    };

    let buyer_name = t(&input.buyer_name);
    if buyer_name.is_empty() {
        errors.push(err("buyer_name", codes::REQUIRED));
    }
    check_len("buyer_name", &buyer_name, SHORT, &mut errors);
    let company = t(&input.company);
    check_len("company", &company, SHORT, &mut errors);

    let country = t(&input.country).to_ascii_uppercase();
    let country_ok = COUNTRIES
        .binary_search_by(|c| c.0.cmp(country.as_str()))
        .is_ok();
    if country.is_empty() {
        errors.push(err("country", codes::REQUIRED));
    } else if !country_ok {
        errors.push(FieldError {
            field: "country".into(),
            error: AppError::new(codes::COUNTRY_UNKNOWN).with("country", country.clone()),
        });
    }

    let phone_raw = t(&input.phone);
    let mut phone = String::new();
    // With a country that is not in the list, the country's error says it all; the phone is checked once it is fixed.
    if !phone_raw.is_empty() && (country_ok || country.is_empty()) {
        match normalize_phone(&phone_raw, country_ok.then_some(country.as_str())) {
            Ok(p) => phone = p,
            Err(e) => errors.push(FieldError {
                field: "phone".into(),
                error: e,
            }),
        }
    }

    let email = t(&input.email);
    if !email.is_empty() && !email_ok(&email) {
        errors.push(err("email", codes::EMAIL_INVALID));
    }
    check_len("email", &email, SHORT, &mut errors);

    let contact = t(&input.contact);
    check_len("contact", &contact, SHORT, &mut errors);
    let contact_kind = if contact.is_empty() {
        String::new()
    } else {
        let k = t(&input.contact_kind);
        if k.is_empty() {
            "other".to_string()
        } else if ContactKind::from_code(&k).is_some() {
            k
        } else {
            errors.push(err("contact_kind", codes::REQUIRED));
            k
        }
    };
    if phone_raw.is_empty() && email.is_empty() && contact.is_empty() {
        errors.push(err("phone", codes::CONTACT_REQUIRED));
    }

    let channel = t(&input.channel);
    if channel.is_empty() {
        errors.push(err("channel", codes::REQUIRED));
    } else if Channel::from_code(&channel).is_none() {
        errors.push(err("channel", codes::CHANNEL_UNKNOWN));
    }

    let live_session = t(&input.live_session);
    if !live_session.is_empty() && !ctx.live_sessions.contains(&live_session) {
        errors.push(err("live_session", codes::SESSION_UNKNOWN));
    }

    let product_interest = t(&input.product_interest);
    check_len("product_interest", &product_interest, SHORT, &mut errors);

    let language = t(&input.language).to_ascii_lowercase();
    if !language.is_empty() && !liveline_types::LANGUAGES.contains(&language.as_str()) {
        errors.push(err("language", codes::LANGUAGE_UNKNOWN));
    }

    let quantity_raw: String = input
        .quantity
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ',')
        .collect();
    let quantity = if quantity_raw.is_empty() {
        None
    } else {
        match quantity_raw.parse::<i64>() {
            Ok(q) if (0..=1_000_000_000).contains(&q) => Some(q),
            _ => {
                errors.push(err("quantity", codes::QUANTITY_INVALID));
                None
            }
        }
    };

    let notes = input.notes.trim_end().to_string();
    check_len("notes", &notes, LONG, &mut errors);

    let status = if input.status.trim().is_empty() {
        "new".to_string()
    } else {
        t(&input.status)
    };
    if LeadStatus::from_code(&status).is_none() {
        errors.push(err("status", codes::STATUS_UNKNOWN));
    }

    let owner = t(&input.owner);
    if !owner.is_empty() && !ctx.members.contains(&owner) {
        errors.push(err("owner", codes::OWNER_UNKNOWN));
    }

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(LeadFields {
        buyer_name,
        company,
        country,
        phone,
        email,
        contact_kind,
        contact,
        channel,
        live_session,
        product_interest,
        language,
        quantity,
        notes,
        status,
        owner,
    })
}

impl Lead {
    /// The server's judgement of a stored lead's fields that a push changed (`changed`: top-level keys): each holds
    /// what the capture form could have stored, with the same codes the device shows (`field.required` for an
    /// empty buyer name, `lead.phone` for a phone that is not the valid E.164 form of a number of the lead's
    /// country, a known country, channel, status, language and contact kind, a valid e-mail, texts within their
    /// lengths, a whole quantity). What the form asks for but the server need not insist on (a country, a channel,
    /// one way to reach the buyer) is left to the form. The first fault names its field.
    pub fn check_stored(&self, changed: &[String]) -> Result<(), FieldError> {
        // Added fields (`extra`, which a view leaves empty) are the published lead form's to judge.
        let input = self.view("").to_input();
        // Who may own it and which sessions exist are judged elsewhere (the write policy, the automations).
        let owner = [self.owner.clone()];
        let session = [self.live_session.clone()];
        let ctx = ValidationContext {
            members: &owner,
            live_sessions: &session,
        };
        let lenient = |e: &FieldError| {
            (e.error.code == codes::REQUIRED && matches!(e.field.as_str(), "country" | "channel"))
                || e.error.code == codes::CONTACT_REQUIRED
        };
        let mut errors: Vec<FieldError> = match validate_lead(&input, &ctx) {
            Ok(_) => Vec::new(),
            Err(e) => e.into_iter().filter(|e| !lenient(e)).collect(),
        };
        // The phone as stored must be the form's own result: E.164, valid for the lead's country.
        if !self.phone.is_empty() && !errors.iter().any(|e| e.field == "phone") {
            let country = (!self.country.is_empty()).then_some(self.country.as_str());
            match normalize_phone(&self.phone, country) {
                Ok(p) if p == self.phone => {}
                Ok(_) => errors.push(err("phone", codes::PHONE_INVALID)),
                Err(e) => errors.push(FieldError {
                    field: "phone".into(),
                    error: e,
                }),
            }
        }
        let touched = |field: &str| {
            changed.iter().any(|c| c == field)
                // A phone is judged by the lead's country too.
                || (field == "phone" && changed.iter().any(|c| c == "country"))
        };
        match errors.into_iter().find(|e| touched(&e.field)) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Parses a phone number with the country as the default region and returns it in E.164.
pub fn normalize_phone(raw: &str, country: Option<&str>) -> Result<String, AppError> {
    let region = country.and_then(|c| c.parse::<phonenumber::country::Id>().ok());
    if region.is_none() && !raw.starts_with('+') && !raw.starts_with("00") {
        return Err(AppError::new(codes::PHONE_NEEDS_COUNTRY));
    }
    let invalid = || {
        let e = AppError::new(codes::PHONE_INVALID);
        match country {
            Some(c) => e.with("country", c),
            None => e,
        }
    };
    let number = phonenumber::parse(region, raw).map_err(|_| invalid())?;
    if !phonenumber::is_valid(&number) {
        return Err(invalid());
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

pub fn email_ok(s: &str) -> bool {
    let options = email_address::Options {
        minimum_sub_domains: 2,
        allow_display_text: false,
        ..Default::default()
    };
    email_address::EmailAddress::parse_with_options(s, options).is_ok()
}

impl Lead {
    /// A new lead of `team`, captured by `user` at `now_ms`.
    pub fn create(fields: LeadFields, team: &str, user: &str, now_ms: i64) -> Self {
        let mut lead = Lead {
            kind: "lead".into(),
            team: team.into(),
            created_by: user.into(),
            created_at: now_ms,
            ..Default::default()
        };
        lead.set(fields, now_ms);
        lead
    }

    /// Writes the form's fields over this lead's.
    pub fn set(&mut self, f: LeadFields, now_ms: i64) {
        self.buyer_name = f.buyer_name;
        self.company = f.company;
        self.country = f.country;
        self.phone = f.phone;
        self.email = f.email;
        self.contact_kind = f.contact_kind;
        self.contact = f.contact;
        self.channel = f.channel;
        self.live_session = f.live_session;
        self.product_interest = f.product_interest;
        self.language = f.language;
        self.quantity = f.quantity;
        self.notes = f.notes;
        self.status = f.status;
        self.owner = f.owner;
        self.updated_at = now_ms;
    }

    /// Reads a lead from its document.
    pub fn load(doc: &AutoCommit) -> Result<Self, DocError> {
        hydrate(doc).map_err(|e| DocError::Shape(e.to_string()))
    }

    /// Writes this lead into `doc`, touching only the fields that differ, so concurrent edits of other fields merge.
    pub fn save_into(&self, doc: &mut AutoCommit) -> Result<(), DocError> {
        reconcile(doc, self).map_err(|e| DocError::Shape(e.to_string()))
    }

    /// A new lead's document as its one change, by `actor`, built straight from the fields: the same document
    /// `save_into` writes into an empty one, without an op set to write into and read the change back from (which
    /// was most of the time a capture or an imported row took).
    pub fn new_change(&self, actor: &automerge::ActorId, time: i64) -> automerge::Change {
        use automerge::legacy::{Key, ObjectId, Op, OpId, OpType, SortedVec};
        use automerge::{ObjType, ScalarValue};
        let str_ = |v: &str| ScalarValue::Str(v.into());
        let put = |obj: ObjectId, key: &str, value: ScalarValue| Op {
            action: OpType::Put(value),
            obj,
            key: Key::Map(key.into()),
            pred: SortedVec::new(),
            insert: false,
        };
        let root = |key: &str, value: ScalarValue| put(ObjectId::Root, key, value);
        let make = |key: &str, kind: ObjType| Op {
            action: OpType::Make(kind),
            obj: ObjectId::Root,
            key: Key::Map(key.into()),
            pred: SortedVec::new(),
            insert: false,
        };
        let mut ops = vec![
            root("kind", str_(&self.kind)),
            root("team", str_(&self.team)),
            root("buyer_name", str_(&self.buyer_name)),
            root("company", str_(&self.company)),
            root("country", str_(&self.country)),
            root("phone", str_(&self.phone)),
            root("email", str_(&self.email)),
            root("contact_kind", str_(&self.contact_kind)),
            root("contact", str_(&self.contact)),
            root("channel", str_(&self.channel)),
            root("live_session", str_(&self.live_session)),
            root("product_interest", str_(&self.product_interest)),
            root("language", str_(&self.language)),
            root(
                "quantity",
                self.quantity.map_or(ScalarValue::Null, ScalarValue::Int),
            ),
            root("notes", str_(&self.notes)),
            root("status", str_(&self.status)),
            root("owner", str_(&self.owner)),
            root("created_by", str_(&self.created_by)),
            root("created_at", ScalarValue::Int(self.created_at)),
            root("updated_at", ScalarValue::Int(self.updated_at)),
            root("assigned_rule", str_(&self.assigned_rule)),
            root("assigned_rule_name", str_(&self.assigned_rule_name)),
            root("assigned_at", ScalarValue::Int(self.assigned_at)),
            root("duplicate_of", str_(&self.duplicate_of)),
            root("first_task", str_(&self.first_task)),
        ];
        // A new lead has no contacts yet; logging one edits the document the usual way.
        debug_assert!(self.contacts.is_empty(), "a new lead has no contacts");
        ops.push(make("contacts", ObjType::List));
        ops.push(make("extra", ObjType::Map));
        let extra = ObjectId::Id(OpId::new(ops.len() as u64, actor));
        for (k, v) in &self.extra {
            ops.push(put(extra.clone(), k, str_(v)));
        }
        automerge::Change::from(automerge::ExpandedChange {
            operations: ops,
            actor_id: actor.clone(),
            hash: None,
            seq: 1,
            start_op: std::num::NonZeroU64::MIN,
            time,
            message: None,
            deps: Vec::new(),
            extra_bytes: Vec::new(),
            author: None,
        })
    }

    pub fn view(&self, id: &str) -> LeadView {
        LeadView {
            id: id.to_string(),
            team: self.team.clone(),
            buyer_name: self.buyer_name.clone(),
            company: self.company.clone(),
            country: self.country.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
            contact_kind: self.contact_kind.clone(),
            contact: self.contact.clone(),
            channel: self.channel.clone(),
            live_session: self.live_session.clone(),
            product_interest: self.product_interest.clone(),
            language: self.language.clone(),
            quantity: self.quantity,
            notes: self.notes.clone(),
            status: self.status.clone(),
            owner: self.owner.clone(),
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            assigned_rule: self.assigned_rule.clone(),
            assigned_rule_name: self.assigned_rule_name.clone(),
            assigned_at: self.assigned_at,
            duplicate_of: self.duplicate_of.clone(),
            contacts: self
                .contacts
                .iter()
                .map(|c| liveline_types::ContactLogView {
                    at: c.at,
                    by: c.by.clone(),
                    kind: c.kind.clone(),
                    note: c.note.clone(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    /// Logs a contact with the buyer by `user`. A new lead becomes `contacted`; the server then closes the lead's
    /// first-contact task.
    pub fn log_contact(
        &mut self,
        user: &str,
        kind: &str,
        note: &str,
        now: i64,
    ) -> Result<(), AppError> {
        let kind = kind.trim();
        if !CONTACT_KINDS.contains(&kind) {
            return Err(AppError::new(codes::REQUIRED).with("field", "kind"));
        }
        if note.chars().count() > LONG {
            return Err(AppError::new(codes::TOO_LONG).with("max", LONG.to_string()));
        }
        self.contacts.push(Contact {
            at: now,
            by: user.into(),
            kind: kind.into(),
            note: note.trim().into(),
        });
        if self.status == "new" {
            self.status = "contacted".into();
        }
        self.updated_at = now;
        Ok(())
    }

    /// What the assignment rules look at.
    pub fn facts(&self) -> crate::assign::LeadFacts {
        let mut fields = std::collections::BTreeMap::new();
        for (k, v) in [
            ("company", self.company.clone()),
            (
                "quantity",
                self.quantity.map(|q| q.to_string()).unwrap_or_default(),
            ),
            ("status", self.status.clone()),
            ("email", self.email.clone()),
            ("phone", self.phone.clone()),
            ("contact_kind", self.contact_kind.clone()),
            ("notes", self.notes.clone()),
            ("product_interest", self.product_interest.clone()),
            ("created_by", self.created_by.clone()),
        ] {
            fields.insert(k.to_string(), v);
        }
        crate::assign::LeadFacts {
            country: self.country.clone(),
            channel: self.channel.clone(),
            live_session: self.live_session.clone(),
            product_interest: self.product_interest.clone(),
            language: self.language.clone(),
            fields,
        }
    }

    /// When the buyer was first contacted (0 if never).
    pub fn first_contact_at(&self) -> i64 {
        self.contacts.iter().map(|c| c.at).min().unwrap_or(0)
    }

    /// Readable text of the lead, for the refused-edits inbox where a user copies what was refused.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for (k, v) in [
            ("buyer_name", self.buyer_name.as_str()),
            ("company", &self.company),
            ("country", &self.country),
            ("phone", &self.phone),
            ("email", &self.email),
            ("contact", &self.contact),
            ("channel", &self.channel),
            ("product_interest", &self.product_interest),
            ("status", &self.status),
            ("team", &self.team),
            ("notes", &self.notes),
        ] {
            if !v.is_empty() {
                out.push_str(&format!("{k}: {v}\n"));
            }
        }
        if let Some(q) = self.quantity {
            out.push_str(&format!("quantity: {q}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_stored_lead_is_judged_on_the_fields_a_push_changed() {
        let lead = Lead {
            kind: "lead".into(),
            team: "t".into(),
            buyer_name: "Ana".into(),
            country: "BR".into(),
            phone: "+5511987654321".into(),
            status: "new".into(),
            ..Default::default()
        };
        let all: Vec<String> = ["buyer_name", "phone", "status", "country"]
            .map(String::from)
            .to_vec();
        assert_eq!(lead.check_stored(&all), Ok(()));
        let spaced = Lead {
            phone: "+55 11 98765-4321".into(),
            ..lead.clone()
        };
        assert_eq!(
            spaced.check_stored(&all).unwrap_err().error.code,
            codes::PHONE_INVALID
        );
        // A field nobody touched is left alone (a lead stored before a check existed stays editable).
        assert_eq!(spaced.check_stored(&["notes".into()]), Ok(()));
        let nameless = Lead {
            buyer_name: " ".into(),
            ..lead.clone()
        };
        let e = nameless.check_stored(&all).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.error.code.as_str()),
            ("buyer_name", codes::REQUIRED)
        );
        let long = Lead {
            notes: "x".repeat(LONG + 1),
            ..lead
        };
        assert_eq!(
            long.check_stored(&["notes".into()]).unwrap_err().error.code,
            codes::TOO_LONG
        );
    }

    use super::*;
    use rstest::rstest;

    /// Every field of a document, as JSON, to compare two documents' content.
    fn content(doc: &AutoCommit) -> String {
        serde_json::to_string(&automerge::AutoSerde::from(doc)).unwrap()
    }

    #[rstest]
    #[case::every_field(Some(12), &[("budget", "\"5000\""), ("wechat_group", "\"B2\"")])]
    #[case::no_quantity_no_extras(None, &[])]
    fn a_new_leads_change_holds_what_saving_it_into_an_empty_document_holds(
        #[case] quantity: Option<i64>,
        #[case] extra: &[(&str, &str)],
    ) {
        let fields = validate_lead(
            &LeadInput {
                company: "Andes Imports".into(),
                email: "maria@example.com".into(),
                contact_kind: "whatsapp".into(),
                contact: "+52 55 1234 5678".into(),
                live_session: "s1".into(),
                product_interest: "LED strips".into(),
                language: "es".into(),
                notes: "wants samples".into(),
                owner: "u1".into(),
                ..input()
            },
            &ValidationContext {
                members: &["u1".to_string()],
                live_sessions: &["s1".to_string()],
            },
        )
        .unwrap();
        let mut lead = Lead::create(fields, "t1", "u9", 1_764_000_000_000);
        lead.quantity = quantity;
        lead.duplicate_of = "earlier".into();
        lead.extra = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let actor = automerge::ActorId::from(&[7u8; 16][..]);

        let change = lead.new_change(&actor, 0);
        let mut built = AutoCommit::load(change.raw_bytes()).unwrap();
        let mut saved = AutoCommit::new().with_actor(actor.clone());
        lead.save_into(&mut saved).unwrap();
        assert_eq!(content(&built), content(&saved));
        assert_eq!(Lead::load(&built).unwrap(), lead);
        assert_eq!(built.get_heads(), vec![change.hash()]);

        // The document edits and merges like any other.
        let mut a = built
            .clone()
            .with_actor(automerge::ActorId::from(&[1u8; 16][..]));
        let mut b = built
            .clone()
            .with_actor(automerge::ActorId::from(&[2u8; 16][..]));
        let mut on_a = lead.clone();
        on_a.notes = "called".into();
        on_a.save_into(&mut a).unwrap();
        let mut on_b = lead.clone();
        on_b.log_contact("u1", "phone", "", 1_764_000_100_000)
            .unwrap();
        on_b.save_into(&mut b).unwrap();
        a.merge(&mut b).unwrap();
        let merged = Lead::load(&a).unwrap();
        assert_eq!(
            (merged.notes.as_str(), merged.contacts.len()),
            ("called", 1)
        );
    }

    fn input() -> LeadInput {
        LeadInput {
            buyer_name: " Maria Lopez ".into(),
            country: "mx".into(),
            phone: "55 1234 5678".into(),
            channel: "tiktok_live".into(),
            ..Default::default()
        }
    }

    fn check(input: &LeadInput) -> Result<LeadFields, Vec<(String, String)>> {
        let members = ["u1".to_string()];
        let sessions = ["s1".to_string()];
        let ctx = ValidationContext {
            members: &members,
            live_sessions: &sessions,
        };
        validate_lead(input, &ctx)
            .map_err(|es| es.into_iter().map(|e| (e.field, e.error.code)).collect())
    }

    #[test]
    fn a_good_lead_is_normalised() {
        let f = check(&input()).unwrap();
        assert_eq!(f.buyer_name, "Maria Lopez");
        assert_eq!(f.country, "MX");
        assert_eq!(f.phone, "+525512345678");
        assert_eq!(f.status, "new");
    }

    #[rstest]
    #[case::us_national("US", "(201) 555-0123", "+12015550123")]
    #[case::cn_mobile("CN", "138 0013 8000", "+8613800138000")]
    #[case::international_overrides_country("DE", "+44 20 7946 0958", "+442079460958")]
    #[case::de_with_trunk_zero("DE", "030 901820", "+4930901820")]
    fn phones_become_e164(#[case] country: &str, #[case] typed: &str, #[case] e164: &str) {
        assert_eq!(normalize_phone(typed, Some(country)).unwrap(), e164);
    }

    #[rstest]
    #[case::too_short("US", "12345", codes::PHONE_INVALID)]
    #[case::letters("US", "call me", codes::PHONE_INVALID)]
    fn bad_phones_are_refused(#[case] country: &str, #[case] typed: &str, #[case] code: &str) {
        assert_eq!(
            normalize_phone(typed, Some(country)).unwrap_err().code,
            code
        );
    }

    #[test]
    fn national_phone_without_country_asks_for_the_country() {
        let e = normalize_phone("201 555 0123", None).unwrap_err();
        assert_eq!(e.code, codes::PHONE_NEEDS_COUNTRY);
    }

    #[rstest]
    #[case::missing_name(LeadInput { buyer_name: "".into(), ..input() }, "buyer_name", codes::REQUIRED)]
    #[case::missing_country(LeadInput { country: "".into(), phone: "+12015550123".into(), ..input() }, "country", codes::REQUIRED)]
    #[case::unknown_country(LeadInput { country: "XX".into(), ..input() }, "country", codes::COUNTRY_UNKNOWN)]
    #[case::bad_email(LeadInput { email: "maria@".into(), ..input() }, "email", codes::EMAIL_INVALID)]
    #[case::email_without_tld(LeadInput { email: "maria@localhost".into(), ..input() }, "email", codes::EMAIL_INVALID)]
    #[case::no_way_to_reach(LeadInput { phone: "".into(), ..input() }, "phone", codes::CONTACT_REQUIRED)]
    #[case::no_channel(LeadInput { channel: "".into(), ..input() }, "channel", codes::REQUIRED)]
    #[case::odd_channel(LeadInput { channel: "myspace".into(), ..input() }, "channel", codes::CHANNEL_UNKNOWN)]
    #[case::bad_quantity(LeadInput { quantity: "a dozen".into(), ..input() }, "quantity", codes::QUANTITY_INVALID)]
    #[case::negative_quantity(LeadInput { quantity: "-3".into(), ..input() }, "quantity", codes::QUANTITY_INVALID)]
    #[case::bad_status(LeadInput { status: "maybe".into(), ..input() }, "status", codes::STATUS_UNKNOWN)]
    #[case::stranger_owner(LeadInput { owner: "u9".into(), ..input() }, "owner", codes::OWNER_UNKNOWN)]
    #[case::unknown_session(LeadInput { live_session: "s9".into(), ..input() }, "live_session", codes::SESSION_UNKNOWN)]
    #[case::unknown_language(LeadInput { language: "klingon".into(), ..input() }, "language", codes::LANGUAGE_UNKNOWN)]
    #[case::long_name(LeadInput { buyer_name: "x".repeat(201), ..input() }, "buyer_name", codes::TOO_LONG)]
    fn bad_input_names_the_field(
        #[case] input: LeadInput,
        #[case] field: &str,
        #[case] code: &str,
    ) {
        let errors = check(&input).unwrap_err();
        assert_eq!(errors, vec![(field.to_string(), code.to_string())]);
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let errors = check(&LeadInput::default()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(fields, ["buyer_name", "country", "phone", "channel"]);
    }

    #[test]
    fn quantity_accepts_thousands_separators() {
        let f = check(&LeadInput {
            quantity: "1,200".into(),
            ..input()
        })
        .unwrap();
        assert_eq!(f.quantity, Some(1200));
    }

    #[test]
    fn document_round_trip_and_field_level_merge() {
        let f = check(&input()).unwrap();
        let lead = Lead::create(f, "team-a", "u1", 1_000);
        let mut a = AutoCommit::new();
        lead.save_into(&mut a).unwrap();
        a.commit();
        assert_eq!(Lead::load(&a).unwrap(), lead);

        // Two devices edit different fields offline; both edits survive the merge.
        let mut b = a.fork();
        let mut on_a = lead.clone();
        on_a.status = "contacted".into();
        on_a.save_into(&mut a).unwrap();
        a.commit();
        let mut on_b = lead.clone();
        on_b.notes = "wants samples".into();
        on_b.save_into(&mut b).unwrap();
        b.commit();
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        let merged = Lead::load(&a).unwrap();
        assert_eq!(merged.status, "contacted");
        assert_eq!(merged.notes, "wants samples");
        assert_eq!(merged, Lead::load(&b).unwrap());
    }

    #[test]
    fn saved_bytes_load_in_any_automerge() {
        let lead = Lead::create(check(&input()).unwrap(), "team-a", "u1", 1_000);
        let mut doc = AutoCommit::new();
        lead.save_into(&mut doc).unwrap();
        let bytes = doc.save();
        let plain = automerge::Automerge::load(&bytes).unwrap();
        use automerge::ReadDoc;
        let (value, _) = plain.get(automerge::ROOT, "buyer_name").unwrap().unwrap();
        assert_eq!(value.as_str(), Some("Maria Lopez"));
    }
}
