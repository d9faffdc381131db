//! The one place where an `AppError` (stable code + args) becomes text in the user's language.

use crate::api;
use crate::i18n::*;
use crate::labels::{country_name, I18n};
use leptos::prelude::*;
use liveline_types::{codes, AppError};

/// The message for an error in the current language; unknown codes get a generic message with the code.
pub fn error_text(i18n: I18n, err: &AppError) -> String {
    let arg = |k: &str| err.args.get(k).cloned().unwrap_or_default();
    match err.code.as_str() {
        codes::REQUIRED => t_string!(i18n, err.field_required).to_string(),
        codes::TOO_LONG => t_string!(i18n, err.field_too_long, max = arg("max")).to_string(),
        codes::COUNTRY_UNKNOWN => t_string!(i18n, err.country_unknown).to_string(),
        codes::PHONE_INVALID => match err.args.get("country").filter(|c| !c.is_empty()) {
            Some(c) => {
                let country = country_name(i18n.get_locale(), c);
                t_string!(i18n, err.phone_invalid_for, country).to_string()
            }
            None => t_string!(i18n, err.phone_invalid).to_string(),
        },
        codes::PHONE_NEEDS_COUNTRY => t_string!(i18n, err.phone_needs_country).to_string(),
        codes::EMAIL_INVALID => t_string!(i18n, err.email_invalid).to_string(),
        codes::CONTACT_REQUIRED => t_string!(i18n, err.contact_required).to_string(),
        codes::CHANNEL_UNKNOWN => t_string!(i18n, err.channel_unknown).to_string(),
        codes::STATUS_UNKNOWN => t_string!(i18n, err.status_unknown).to_string(),
        codes::QUANTITY_INVALID => t_string!(i18n, err.quantity_invalid).to_string(),
        codes::OWNER_UNKNOWN => t_string!(i18n, err.owner_unknown).to_string(),
        codes::SESSION_UNKNOWN => t_string!(i18n, err.session_unknown).to_string(),
        codes::LANGUAGE_UNKNOWN => t_string!(i18n, err.language_unknown).to_string(),
        codes::RULE_CONDITION_INVALID => t_string!(
            i18n,
            err.rule_condition_invalid,
            rule = rule_name(i18n, &arg("rule")),
            field = crate::labels::field_label(i18n, &arg("field"))
        )
        .to_string(),
        codes::PERIOD_TIME_ZONE => {
            t_string!(i18n, err.period_time_zone, time_zone = arg("time_zone")).to_string()
        }
        codes::PERIOD_DATE => t_string!(i18n, err.period_date, value = arg("value")).to_string(),
        codes::PERIOD_RANGE => t_string!(i18n, err.period_range).to_string(),
        codes::PERIOD_PRESET => {
            t_string!(i18n, err.period_preset, value = arg("value")).to_string()
        }
        codes::DASHBOARD_TITLE => {
            t_string!(i18n, err.dashboard_title, max = arg("max")).to_string()
        }
        codes::DASHBOARD_TOO_MANY => {
            t_string!(i18n, err.dashboard_too_many, max = arg("max")).to_string()
        }
        codes::DASHBOARD_WIDGET => {
            t_string!(i18n, err.dashboard_widget, widget = arg("widget")).to_string()
        }
        codes::DASHBOARD_FORBIDDEN => t_string!(i18n, err.dashboard_forbidden).to_string(),
        codes::DASHBOARD_MISSING => t_string!(i18n, err.dashboard_missing).to_string(),
        codes::IMPORT_TOO_LARGE => {
            t_string!(i18n, err.import_too_large, max_mb = arg("max_mb")).to_string()
        }
        codes::IMPORT_UNREADABLE => {
            t_string!(i18n, err.import_unreadable, detail = arg("detail")).to_string()
        }
        codes::IMPORT_EMPTY => t_string!(i18n, err.import_empty).to_string(),
        codes::IMPORT_FORMULA => {
            t_string!(i18n, err.import_formula, cell = arg("cell")).to_string()
        }
        codes::IMPORT_UNMAPPED => t_string!(
            i18n,
            err.import_unmapped,
            field = crate::labels::field_label(i18n, &arg("field"))
        )
        .to_string(),
        codes::IMPORT_DUPLICATE => t_string!(i18n, err.import_duplicate).to_string(),
        codes::TEAM_CHANGE_FORBIDDEN => t_string!(i18n, err.team_change).to_string(),
        codes::FOREIGN_TEAM => t_string!(i18n, err.foreign_team).to_string(),
        codes::NOT_MEMBER => t_string!(i18n, err.not_member).to_string(),
        codes::KIND_CHANGE_FORBIDDEN => t_string!(i18n, err.kind_change).to_string(),
        codes::NOT_A_RECORD => t_string!(i18n, err.not_a_record).to_string(),
        codes::DOC_BAD_ID => t_string!(i18n, err.doc_bad_id).to_string(),
        codes::DOC_RESERVED_ID => t_string!(i18n, err.doc_reserved_id).to_string(),
        codes::FLOW_ROUTE_MISMATCH => t_string!(i18n, err.flow_route_mismatch).to_string(),
        codes::FLOW_TIME => t_string!(i18n, err.flow_time).to_string(),
        codes::ACTOR_MISMATCH => t_string!(i18n, err.actor_mismatch).to_string(),
        codes::MISSING_DEPENDENCY => t_string!(i18n, err.missing_dependency).to_string(),
        codes::BAD_CHANGE => t_string!(i18n, err.bad_change).to_string(),
        codes::BAD_MESSAGE => t_string!(i18n, err.bad_message).to_string(),
        codes::TOO_LARGE => t_string!(i18n, err.too_large).to_string(),
        codes::VERSION => t_string!(i18n, err.version).to_string(),
        codes::UNAUTHENTICATED => t_string!(i18n, err.unauthenticated).to_string(),
        codes::BAD_CREDENTIALS => t_string!(i18n, err.bad_credentials).to_string(),
        codes::DEVICE_REVOKED => t_string!(i18n, err.device_revoked).to_string(),
        codes::SERVER_UNREACHABLE => t_string!(i18n, err.unreachable).to_string(),
        codes::SERVER_ERROR => t_string!(i18n, err.server_error).to_string(),
        codes::RATE_LIMITED => t_string!(i18n, err.rate_limited).to_string(),
        codes::NOT_SIGNED_IN => t_string!(i18n, err.not_signed_in).to_string(),
        codes::NOT_FOUND => t_string!(i18n, err.not_found).to_string(),
        codes::ROLE_FORBIDDEN => t_string!(i18n, err.role_forbidden).to_string(),
        codes::NOT_VISIBLE => t_string!(i18n, err.not_visible).to_string(),
        codes::OWNER_CHANGE_FORBIDDEN => t_string!(i18n, err.owner_change).to_string(),
        codes::CREATOR_FORBIDDEN => t_string!(i18n, err.created_by).to_string(),
        codes::SERVER_FIELD => t_string!(i18n, err.server_field).to_string(),
        codes::DEF_EXPR_UNKNOWN_FIELD => t_string!(
            i18n,
            err.def_expr_unknown_field,
            field = arg("field"),
            name = arg("name")
        )
        .to_string(),
        codes::DEF_EXPR_SYNTAX => t_string!(
            i18n,
            err.def_expr_syntax,
            field = arg("field"),
            detail = arg("detail")
        )
        .to_string(),
        codes::DEF_FORMULA_CYCLE => {
            t_string!(i18n, err.def_formula_cycle, cycle = arg("cycle")).to_string()
        }
        codes::DEF_FLOW_CYCLE => {
            t_string!(i18n, err.def_flow_cycle, cycle = arg("cycle")).to_string()
        }
        codes::DEF_NO_APPROVER => {
            t_string!(i18n, err.def_no_approver, field = arg("field")).to_string()
        }
        codes::DEF_NODE_UNKNOWN => t_string!(
            i18n,
            err.def_node_unknown,
            field = arg("field"),
            to = arg("to")
        )
        .to_string(),
        codes::DEF_NODE_UNREACHABLE => {
            t_string!(i18n, err.def_node_unreachable, field = arg("field")).to_string()
        }
        codes::DEF_NODE_DUPLICATE => {
            t_string!(i18n, err.def_node_duplicate, field = arg("field")).to_string()
        }
        codes::DEF_KEY_INVALID => {
            t_string!(i18n, err.def_key_invalid, field = arg("field")).to_string()
        }
        codes::DEF_KEY_DUPLICATE => {
            t_string!(i18n, err.def_key_duplicate, field = arg("field")).to_string()
        }
        codes::DEF_OPTIONS => t_string!(i18n, err.def_options, field = arg("field")).to_string(),
        codes::DEF_CURRENCY_OF => t_string!(
            i18n,
            err.def_currency_of,
            field = arg("field"),
            name = arg("name")
        )
        .to_string(),
        codes::DEF_SUBTABLE => t_string!(i18n, err.def_subtable, field = arg("field")).to_string(),
        codes::DEF_COLUMN_READ => {
            t_string!(i18n, err.def_column_read, field = arg("field")).to_string()
        }
        codes::DEF_HIDDEN_INPUT => t_string!(
            i18n,
            err.def_hidden_input,
            field = arg("field"),
            name = arg("name")
        )
        .to_string(),
        codes::FIELD_RESTRICTED => t_string!(i18n, err.field_restricted).to_string(),
        codes::READERS_CHANGE_FORBIDDEN => t_string!(i18n, err.readers_change).to_string(),
        codes::DEF_ROLE_UNKNOWN => t_string!(
            i18n,
            err.def_role_unknown,
            field = arg("field"),
            role = arg("role")
        )
        .to_string(),
        codes::DEF_BOUNDS => t_string!(i18n, err.def_bounds, field = arg("field")).to_string(),
        codes::DEF_DEFAULT => t_string!(i18n, err.def_default, field = arg("field")).to_string(),
        codes::DEF_UNREADABLE => t_string!(i18n, err.def_unreadable).to_string(),
        codes::DEF_ADMIN_ONLY => t_string!(i18n, err.def_admin_only).to_string(),
        codes::FLOW_LOG_CHANGED => t_string!(i18n, err.flow_log_changed).to_string(),
        codes::FLOW_ACTOR => t_string!(i18n, err.flow_actor).to_string(),
        codes::NUMBER_INVALID => t_string!(i18n, err.number_invalid).to_string(),
        codes::NUMBER_SCALE => t_string!(i18n, err.number_scale, scale = arg("scale")).to_string(),
        codes::NUMBER_RANGE => {
            t_string!(i18n, err.number_range, min = arg("min"), max = arg("max")).to_string()
        }
        codes::CURRENCY_UNKNOWN => {
            t_string!(i18n, err.currency_unknown, currency = arg("currency")).to_string()
        }
        codes::MONEY_SCALE => t_string!(i18n, err.money_scale, scale = arg("scale")).to_string(),
        codes::OPTION_UNKNOWN => {
            t_string!(i18n, err.option_unknown, option = arg("option")).to_string()
        }
        codes::DATE_INVALID => t_string!(i18n, err.date_invalid).to_string(),
        codes::DATETIME_INVALID => t_string!(i18n, err.datetime_invalid).to_string(),
        codes::USER_NOT_MEMBER => {
            t_string!(i18n, err.user_not_member, user = arg("user")).to_string()
        }
        codes::FIELD_UNKNOWN => t_string!(i18n, err.field_unknown).to_string(),
        codes::FIELD_READ_ONLY => t_string!(i18n, err.field_read_only).to_string(),
        codes::FORMULA_FAILED => {
            t_string!(i18n, err.formula_failed, detail = arg("detail")).to_string()
        }
        codes::CURRENCY_MIXED => t_string!(
            i18n,
            err.currency_mixed,
            currency = arg("currency"),
            other = arg("other")
        )
        .to_string(),
        codes::VALUE_SHAPE => t_string!(i18n, err.value_shape).to_string(),
        codes::FLOW_NOT_PENDING => t_string!(i18n, err.flow_not_pending).to_string(),
        codes::FLOW_NOT_APPROVER => t_string!(i18n, err.flow_not_approver).to_string(),
        codes::FLOW_NOT_SUBMITTER => t_string!(i18n, err.flow_not_submitter).to_string(),
        codes::FLOW_ALREADY_DECIDED => t_string!(i18n, err.flow_already_decided).to_string(),
        codes::FLOW_REJECT_TARGET => {
            t_string!(i18n, err.flow_reject_target, to = arg("to")).to_string()
        }
        codes::FLOW_REQUIRES => {
            t_string!(i18n, err.flow_requires, fields = arg("fields")).to_string()
        }
        codes::FLOW_ROUTE => t_string!(i18n, err.flow_route, detail = arg("detail")).to_string(),
        codes::ADMIN_ONLY => t_string!(i18n, err.admin_only).to_string(),
        codes::ROLE_UNKNOWN => t_string!(i18n, err.role_unknown, role = arg("role")).to_string(),
        codes::EMAIL_TAKEN => t_string!(i18n, err.email_taken).to_string(),
        codes::ALREADY_MEMBER => t_string!(i18n, err.already_member).to_string(),
        codes::PASSWORD_SHORT => t_string!(i18n, err.password_short, min = arg("min")).to_string(),
        codes::USER_UNKNOWN => t_string!(i18n, err.user_unknown).to_string(),
        codes::LAST_ADMIN => t_string!(i18n, err.last_admin).to_string(),
        codes::STORAGE => t_string!(i18n, err.storage).to_string(),
        codes::VAULT => t_string!(i18n, err.vault, detail = arg("detail")).to_string(),
        codes::STORAGE_CORRUPT => t_string!(i18n, err.storage_corrupt).to_string(),
        codes::STORAGE_FULL => t_string!(i18n, err.storage_full).to_string(),
        codes::STORAGE_READ_ONLY => t_string!(i18n, err.storage_read_only).to_string(),
        codes::SERVER_STORAGE => t_string!(i18n, err.server_storage).to_string(),
        codes::TASK_STATE => {
            let status = crate::labels::task_status_name(i18n, &arg("status"));
            t_string!(i18n, err.task_state, status).to_string()
        }
        codes::TASK_TEXT_REQUIRED => t_string!(i18n, err.task_text_required).to_string(),
        codes::TASK_ASSIGNEE_UNKNOWN => t_string!(i18n, err.task_assignee_unknown).to_string(),
        codes::RULE_USER_UNKNOWN => t_string!(
            i18n,
            err.rule_user_unknown,
            rule = rule_name(i18n, &arg("rule")),
            user = arg("user")
        )
        .to_string(),
        codes::RULE_GROUP_UNKNOWN => t_string!(
            i18n,
            err.rule_group_unknown,
            rule = rule_name(i18n, &arg("rule")),
            group = arg("group")
        )
        .to_string(),
        codes::RULE_NO_TARGET => t_string!(
            i18n,
            err.rule_no_target,
            rule = rule_name(i18n, &arg("rule"))
        )
        .to_string(),
        codes::RULE_STRATEGY_UNKNOWN => t_string!(
            i18n,
            err.rule_strategy_unknown,
            rule = rule_name(i18n, &arg("rule")),
            strategy = arg("strategy")
        )
        .to_string(),
        codes::RULE_TIME_ZONE_UNKNOWN => t_string!(
            i18n,
            err.rule_time_zone_unknown,
            user = arg("user"),
            time_zone = arg("time_zone")
        )
        .to_string(),
        codes::RULE_HOURS_INVALID => {
            t_string!(i18n, err.rule_hours_invalid, user = arg("user")).to_string()
        }
        codes::RULE_SLA_INVALID => t_string!(
            i18n,
            err.rule_sla_invalid,
            rule = rule_name(i18n, &arg("rule"))
        )
        .to_string(),
        codes::RULE_GROUP_EMPTY => {
            t_string!(i18n, err.rule_group_empty, group = arg("group")).to_string()
        }
        codes::RULE_WEIGHT_INVALID => t_string!(
            i18n,
            err.rule_weight_invalid,
            group = arg("group"),
            user = arg("user")
        )
        .to_string(),
        codes::RULES_FORBIDDEN => t_string!(i18n, err.rules_forbidden).to_string(),
        codes::RULES_MISSING => t_string!(i18n, err.rules_missing).to_string(),
        codes::WEBHOOK_URL_INVALID => {
            t_string!(i18n, err.webhook_url_invalid, index = arg("index")).to_string()
        }
        codes::WEBHOOK_DUPLICATE => {
            t_string!(i18n, err.webhook_duplicate, index = arg("index")).to_string()
        }
        codes::WEBHOOK_ADDRESS_FORBIDDEN => {
            t_string!(i18n, err.webhook_address_forbidden, index = arg("index")).to_string()
        }
        codes::WEBHOOK_HOST_UNKNOWN => {
            t_string!(i18n, err.webhook_host_unknown, index = arg("index")).to_string()
        }
        codes::WEBHOOK_SECRET_REQUIRED => {
            t_string!(i18n, err.webhook_secret_required, index = arg("index")).to_string()
        }
        codes::WEBHOOK_KIND_UNKNOWN => t_string!(
            i18n,
            err.webhook_kind_unknown,
            index = arg("index"),
            kind = arg("kind")
        )
        .to_string(),
        api::NO_SHELL => t_string!(i18n, err.no_shell).to_string(),
        code => t_string!(i18n, err.unknown, code).to_string(),
    }
}

/// A rule as an error names it: the fallback by its role, any other rule by its name.
fn rule_name(i18n: I18n, rule: &str) -> String {
    if rule == "fallback" {
        t_string!(i18n, rules.fallback).to_string()
    } else {
        rule.to_string()
    }
}

/// The last refusal of a form or an action, shown where the user acted (nothing while there is none).
pub fn error_alert(i18n: I18n, failure: RwSignal<Option<AppError>>) -> impl IntoView {
    move || {
        failure.get().map(|e| {
            view! {
                <p class="form-error" role="alert">
                    {move || error_text(i18n, &e)}
                </p>
            }
        })
    }
}
