//! The forms and flows a new team starts with. They are ordinary definitions: an admin edits them like any other.

use liveline_types::forms::{
    Approver, Choice, Edge, FieldDef, FieldKind, FlowAction, FlowDef, FlowNode, FormDef,
    FormulaResult, LinkTarget, NodeKind, OnTimeout, Sign, Text,
};
use liveline_types::{Channel, LANGUAGES};
use rust_decimal::Decimal;

fn t(en: &str, zh: &str) -> Text {
    Text::new(en, zh)
}

fn field(key: &str, en: &str, zh: &str, kind: FieldKind) -> FieldDef {
    FieldDef::new(key, t(en, zh), kind)
}

fn choices(list: &[(&str, &str, &str)]) -> Vec<Choice> {
    list.iter()
        .map(|(code, en, zh)| Choice {
            code: code.to_string(),
            label: t(en, zh),
        })
        .collect()
}

fn codes(list: &[&str]) -> Vec<Choice> {
    list.iter()
        .map(|c| Choice {
            code: c.to_string(),
            label: t(c, c),
        })
        .collect()
}

const CURRENCIES: [&str; 10] = [
    "USD", "EUR", "GBP", "CNY", "JPY", "AUD", "CAD", "AED", "SAR", "BRL",
];

fn money2() -> FieldKind {
    FieldKind::Money
}

/// Lead registration: the capture form's fields, as data.
pub fn lead_form() -> FormDef {
    let channels: Vec<Choice> = Channel::ALL
        .iter()
        .map(|c| Choice {
            code: c.code().into(),
            label: t(c.code(), c.code()),
        })
        .collect();
    let mut quantity = field(
        "quantity",
        "Expected quantity",
        "预计数量",
        FieldKind::Number { scale: 0 },
    );
    quantity.min = Some(Decimal::ONE);
    FormDef {
        id: "lead".into(),
        name: t("Lead registration", "线索登记"),
        version: 1,
        fields: vec![
            field("buyer_name", "Buyer name", "买家姓名", FieldKind::Text).required(),
            field("company", "Company", "公司", FieldKind::Text),
            field("country", "Country", "国家/地区", FieldKind::Country).required(),
            field("phone", "Phone", "电话", FieldKind::Phone),
            field("email", "E-mail", "邮箱", FieldKind::Email),
            field(
                "contact_kind",
                "Other contact",
                "其他联系方式",
                FieldKind::Select {
                    options: choices(&[
                        ("whatsapp", "WhatsApp", "WhatsApp"),
                        ("wechat", "WeChat", "微信"),
                        ("other", "Other", "其他"),
                    ]),
                },
            ),
            field("contact", "Contact", "联系账号", FieldKind::Text),
            field(
                "channel",
                "Channel",
                "渠道",
                FieldKind::Select { options: channels },
            )
            .required(),
            field(
                "live_session",
                "Live session",
                "直播场次",
                FieldKind::Link {
                    to: LinkTarget::LiveSession,
                },
            ),
            field(
                "product_interest",
                "Product of interest",
                "意向产品",
                FieldKind::Text,
            ),
            field(
                "language",
                "Language",
                "语言",
                FieldKind::Select {
                    options: codes(&LANGUAGES),
                },
            ),
            quantity,
            field("notes", "Notes", "备注", FieldKind::LongText),
        ],
    }
}

/// An order taken on a live stream: buyer, lines, currency, address, payment and what was promised on stream.
pub fn order_form() -> FormDef {
    let mut qty = field(
        "quantity",
        "Quantity",
        "数量",
        FieldKind::Number { scale: 0 },
    )
    .required();
    qty.min = Some(Decimal::ONE);
    let mut price = field(
        "unit_price",
        "Unit price",
        "单价",
        FieldKind::Number { scale: 2 },
    )
    .required();
    price.min = Some(Decimal::ZERO);
    let mut tracking = field(
        "tracking_no",
        "Tracking number",
        "物流单号",
        FieldKind::Text,
    );
    tracking.write = vec!["warehouse".into(), "admin".into()];
    FormDef {
        id: "live_order".into(),
        name: t("Live order", "直播订单"),
        version: 1,
        fields: vec![
            field(
                "customer",
                "Customer",
                "客户",
                FieldKind::Link {
                    to: LinkTarget::Customer,
                },
            )
            .required(),
            field(
                "live_session",
                "Live session",
                "直播场次",
                FieldKind::Link {
                    to: LinkTarget::LiveSession,
                },
            ),
            field("sales_rep", "Sales rep", "销售", FieldKind::User).required(),
            field(
                "currency",
                "Currency",
                "币种",
                FieldKind::Select {
                    options: codes(&CURRENCIES),
                },
            )
            .required(),
            field(
                "lines",
                "Order lines",
                "订单明细",
                FieldKind::SubTable {
                    columns: vec![
                        field(
                            "sku",
                            "SKU",
                            "SKU",
                            FieldKind::Link {
                                to: LinkTarget::Product,
                            },
                        )
                        .required(),
                        qty,
                        price,
                        field(
                            "line_total",
                            "Line total",
                            "小计",
                            FieldKind::Formula {
                                expr: "quantity * unit_price".into(),
                                result: FormulaResult::Money {
                                    currency_of: "currency".into(),
                                },
                            },
                        ),
                    ],
                },
            )
            .required(),
            field(
                "total",
                "Total",
                "合计",
                FieldKind::Formula {
                    expr: "sum(lines, \"line_total\")".into(),
                    result: FormulaResult::Money {
                        currency_of: "currency".into(),
                    },
                },
            ),
            field("ship_to_name", "Recipient", "收件人", FieldKind::Text).required(),
            field(
                "ship_to_address",
                "Shipping address",
                "收货地址",
                FieldKind::LongText,
            )
            .required(),
            field(
                "ship_to_country",
                "Destination country",
                "目的国",
                FieldKind::Country,
            )
            .required(),
            field(
                "ship_to_phone",
                "Recipient phone",
                "收件人电话",
                FieldKind::Phone,
            ),
            field(
                "payment_method",
                "Payment method",
                "付款方式",
                FieldKind::Select {
                    options: choices(&[
                        ("bank_transfer", "Bank transfer", "银行转账"),
                        ("paypal", "PayPal", "PayPal"),
                        ("card", "Card", "信用卡"),
                        ("alipay", "Alipay", "支付宝"),
                        ("other", "Other", "其他"),
                    ]),
                },
            )
            .required(),
            field(
                "promised",
                "Promised on stream (gifts, discounts)",
                "直播承诺（赠品、折扣）",
                FieldKind::LongText,
            ),
            field(
                "payment_ref",
                "Payment reference",
                "付款凭证号",
                FieldKind::Text,
            ),
            tracking,
        ],
    }
}

/// A product proposed for a coming stream, with its profit worked out.
pub fn product_selection_form() -> FormDef {
    // Cost and what follows from it are the buyers' side's secret: hidden from reps (the server keeps them in a
    // part of the record that never reaches a rep's device), filled by the roles that read them, also while the
    // proposal is in review (the category lead prices it).
    let hidden_from_reps = |mut f: FieldDef| {
        f.read = vec![
            "sales_lead".into(),
            "manager".into(),
            "admin".into(),
            "finance".into(),
        ];
        if !matches!(f.kind, FieldKind::Formula { .. }) {
            f.write = f.read.clone();
        }
        f
    };
    FormDef {
        id: "product_selection".into(),
        name: t("Product selection", "选品提案"),
        version: 1,
        fields: vec![
            field("product", "Product", "产品", FieldKind::Text).required(),
            field("supplier", "Supplier", "供应商", FieldKind::Text).required(),
            field("price", "Live price", "直播价", money2()).required(),
            hidden_from_reps(field("cost", "Cost", "成本", money2()).required()),
            field("shipping", "Shipping per unit", "单件运费", money2()),
            field(
                "platform_fee",
                "Platform fee per unit",
                "单件平台费",
                money2(),
            ),
            hidden_from_reps(field(
                "profit",
                "Profit per unit",
                "单件利润",
                FieldKind::Formula {
                    expr: "price - cost - shipping - platform_fee".into(),
                    result: FormulaResult::Money {
                        currency_of: "price".into(),
                    },
                },
            )),
            hidden_from_reps(field(
                "margin",
                "Margin %",
                "利润率 %",
                FieldKind::Formula {
                    expr: "ratio(profit, price) * 100".into(),
                    result: FormulaResult::Percent { scale: 1 },
                },
            )),
            field(
                "sample_photos",
                "Sample photos",
                "样品照片",
                FieldKind::Attachment,
            ),
            field(
                "category_lead",
                "Category lead",
                "品类负责人",
                FieldKind::User,
            )
            .required(),
            field("notes", "Notes", "备注", FieldKind::LongText),
        ],
    }
}

/// A request for a supplier's sample.
pub fn sample_request_form() -> FormDef {
    let mut qty = field(
        "quantity",
        "Quantity",
        "数量",
        FieldKind::Number { scale: 0 },
    )
    .required();
    qty.min = Some(Decimal::ONE);
    FormDef {
        id: "sample_request".into(),
        name: t("Sample request", "样品申请"),
        version: 1,
        fields: vec![
            field("product", "Product", "产品", FieldKind::Text).required(),
            field("supplier", "Supplier", "供应商", FieldKind::Text).required(),
            qty,
            field("needed_by", "Needed by", "需要日期", FieldKind::Date).required(),
            field(
                "ship_to_address",
                "Deliver to",
                "送达地址",
                FieldKind::LongText,
            )
            .required(),
            field("reason", "Reason", "理由", FieldKind::LongText),
        ],
    }
}

/// A live script submitted for approval.
pub fn live_script_form() -> FormDef {
    FormDef {
        id: "live_script".into(),
        name: t("Live script", "直播脚本"),
        version: 1,
        fields: vec![
            field("title", "Title", "标题", FieldKind::Text).required(),
            field(
                "live_session",
                "Live session",
                "直播场次",
                FieldKind::Link {
                    to: LinkTarget::LiveSession,
                },
            )
            .required(),
            field("body", "Script", "脚本内容", FieldKind::LongText).required(),
        ],
    }
}

fn approve(id: &str, en: &str, zh: &str, approvers: Vec<Approver>, next: Vec<Edge>) -> FlowNode {
    FlowNode {
        id: id.into(),
        label: t(en, zh),
        kind: NodeKind::Approve {
            approvers,
            sign: Sign::Any,
            requires: Vec::new(),
            others_decide: false,
        },
        next,
        limit_minutes: None,
        on_timeout: OnTimeout::Nothing,
    }
}

fn to(node: &str) -> Edge {
    Edge {
        when: None,
        to: node.into(),
    }
}

/// Live order: the rep confirms, finance confirms the payment, the warehouse ships (a tracking number is needed to
/// finish); orders over 5,000 USD go to a manager before finance.
pub fn order_flow() -> FlowDef {
    let mut finance = approve(
        "finance",
        "Finance confirms payment",
        "财务确认收款",
        vec![Approver::Role("finance".into())],
        vec![to("warehouse")],
    );
    finance.limit_minutes = Some(24 * 60);
    finance.on_timeout = OnTimeout::Escalate;
    let mut warehouse = approve(
        "warehouse",
        "Warehouse ships",
        "仓库发货",
        vec![Approver::Role("warehouse".into())],
        vec![to("notify")],
    );
    if let NodeKind::Approve { requires, .. } = &mut warehouse.kind {
        requires.push("tracking_no".into());
    }
    FlowDef {
        id: "live_order".into(),
        name: t("Live order approval", "直播订单审批"),
        version: 1,
        form: "live_order".into(),
        start_when: None,
        start: "sales".into(),
        nodes: vec![
            approve(
                "sales",
                "Sales rep confirms",
                "销售确认",
                vec![Approver::FieldUser("sales_rep".into())],
                vec![
                    Edge {
                        when: Some("currency == \"USD\" && total > 5000".into()),
                        to: "manager".into(),
                    },
                    to("finance"),
                ],
            ),
            approve(
                "manager",
                "Manager approves a large order",
                "经理审批大额订单",
                vec![Approver::Role("manager".into())],
                vec![to("finance")],
            ),
            finance,
            warehouse,
            FlowNode {
                id: "notify".into(),
                label: t("Tell the ERP and the buyer", "通知 ERP 和买家"),
                kind: NodeKind::Action {
                    action: FlowAction::Webhook {
                        hook: "order_shipped".into(),
                    },
                },
                next: Vec::new(),
                limit_minutes: None,
                on_timeout: OnTimeout::Nothing,
            },
        ],
    }
}

/// Product selection: the category lead reviews; a margin under 15% also needs a manager.
pub fn product_selection_flow() -> FlowDef {
    // The category lead prices the proposal: the review does not pass without the cost (hidden from the rep who
    // proposed it, so filled at this step), on which the margin and the route depend.
    let mut review = approve(
        "category_lead",
        "Category lead reviews",
        "品类负责人审核",
        vec![Approver::FieldUser("category_lead".into())],
        vec![Edge {
            when: Some("margin < 15".into()),
            to: "manager".into(),
        }],
    );
    // The rep who proposes picks the category lead, but never reviews their own proposal.
    if let NodeKind::Approve {
        requires,
        others_decide,
        ..
    } = &mut review.kind
    {
        requires.push("cost".into());
        *others_decide = true;
    }
    FlowDef {
        id: "product_selection".into(),
        name: t("Product selection approval", "选品审批"),
        version: 1,
        form: "product_selection".into(),
        start_when: None,
        start: "category_lead".into(),
        nodes: vec![
            review,
            approve(
                "manager",
                "Manager approves a low margin",
                "经理审批低利润",
                vec![Approver::Role("manager".into())],
                Vec::new(),
            ),
        ],
    }
}

/// Sample request: the submitter's team lead approves, then the warehouse receives it.
pub fn sample_request_flow() -> FlowDef {
    FlowDef {
        id: "sample_request".into(),
        name: t("Sample request approval", "样品申请审批"),
        version: 1,
        form: "sample_request".into(),
        start_when: None,
        start: "lead".into(),
        nodes: vec![
            approve(
                "lead",
                "Team lead approves",
                "组长审批",
                vec![Approver::TeamLead],
                vec![to("warehouse")],
            ),
            approve(
                "warehouse",
                "Warehouse receives the sample",
                "仓库签收样品",
                vec![Approver::Role("warehouse".into())],
                Vec::new(),
            ),
        ],
    }
}

/// Live script: the team lead approves, the hosts are copied.
pub fn live_script_flow() -> FlowDef {
    FlowDef {
        id: "live_script".into(),
        name: t("Live script approval", "直播脚本审批"),
        version: 1,
        form: "live_script".into(),
        start_when: None,
        start: "lead".into(),
        nodes: vec![
            approve(
                "lead",
                "Team lead approves",
                "组长审批",
                vec![Approver::TeamLead],
                vec![to("hosts")],
            ),
            FlowNode {
                id: "hosts".into(),
                label: t("Copy the hosts", "抄送主播"),
                kind: NodeKind::Cc {
                    to: vec![Approver::Role("assistant".into())],
                },
                next: Vec::new(),
                limit_minutes: None,
                on_timeout: OnTimeout::Nothing,
            },
        ],
    }
}

pub fn forms() -> Vec<FormDef> {
    vec![
        lead_form(),
        order_form(),
        product_selection_form(),
        sample_request_form(),
        live_script_form(),
    ]
}

pub fn flows() -> Vec<FlowDef> {
    vec![
        order_flow(),
        product_selection_flow(),
        sample_request_flow(),
        live_script_flow(),
    ]
}
