//! The report's labels, in English and in the campaign languages this
//! program has translations for (Chinese, simplified and traditional). A
//! campaign language without a translation gets its statement in that
//! language and the labels in English.

/// Label keys and their English text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L {
    Packet,
    Statement,
    Addressees,
    Headline,
    Counts,
    Credible,
    Credentialed,
    Vouched,
    Unverified,
    Withdrawals,
    Distinct,
    OverBound,
    ByRegistrar,
    Trend,
    Log,
    Witnesses,
    Auditors,
    Registrars,
    HowToVerify,
    Month,
    Size,
    Declarations,
}

fn en(l: L) -> &'static str {
    match l {
        L::Packet => "Evidence packet",
        L::Statement => "The statement",
        L::Addressees => "Addressed to",
        L::Headline => "What this packet proves",
        L::Counts => "Counts",
        L::Credible => "Credible headcount",
        L::Credentialed => "with a credential",
        L::Vouched => "vouched for by a registrar",
        L::Unverified => "unverified (shown apart, not counted)",
        L::Withdrawals => "withdrawals",
        L::Distinct => "distinct people, at least",
        L::OverBound => "over a registrar's logged bound (not counted)",
        L::ByRegistrar => "By registrar and month of issuance",
        L::Trend => "Credible headcount over time",
        L::Log => "The log and its witnesses",
        L::Witnesses => "Witnesses that cosigned this checkpoint",
        L::Auditors => "Independent auditors",
        L::Registrars => "Registrars",
        L::HowToVerify => "How to verify this yourself",
        L::Month => "month",
        L::Size => "credentials issued",
        L::Declarations => "declarations",
    }
}

fn zh_hans(l: L) -> &'static str {
    match l {
        L::Packet => "证据包",
        L::Statement => "声明",
        L::Addressees => "致",
        L::Headline => "本证据包证明了什么",
        L::Counts => "人数",
        L::Credible => "可信人数",
        L::Credentialed => "持凭证",
        L::Vouched => "经登记机构担保",
        L::Unverified => "未验证（单列，不计入）",
        L::Withdrawals => "撤回",
        L::Distinct => "不同的人，至少",
        L::OverBound => "超出登记机构公布的上限（不计入）",
        L::ByRegistrar => "按登记机构和发证月份",
        L::Trend => "可信人数随时间变化",
        L::Log => "日志及其见证者",
        L::Witnesses => "联署此检查点的见证者",
        L::Auditors => "独立审计者",
        L::Registrars => "登记机构",
        L::HowToVerify => "如何亲自核验",
        L::Month => "月份",
        L::Size => "发出的凭证",
        L::Declarations => "声明",
    }
}

fn zh_hant(l: L) -> &'static str {
    match l {
        L::Packet => "證據包",
        L::Statement => "聲明",
        L::Addressees => "致",
        L::Headline => "本證據包證明了什麼",
        L::Counts => "人數",
        L::Credible => "可信人數",
        L::Credentialed => "持憑證",
        L::Vouched => "經登記機構擔保",
        L::Unverified => "未驗證（單列，不計入）",
        L::Withdrawals => "撤回",
        L::Distinct => "不同的人，至少",
        L::OverBound => "超出登記機構公佈的上限（不計入）",
        L::ByRegistrar => "按登記機構和發證月份",
        L::Trend => "可信人數隨時間變化",
        L::Log => "日誌及其見證者",
        L::Witnesses => "聯署此檢查點的見證者",
        L::Auditors => "獨立審計者",
        L::Registrars => "登記機構",
        L::HowToVerify => "如何親自核驗",
        L::Month => "月份",
        L::Size => "發出的憑證",
        L::Declarations => "聲明",
    }
}

/// A language's labels: its BCP 47 tag and its translation function.
pub type Table = (&'static str, fn(L) -> &'static str);

/// A translation table for a BCP 47 tag, if this program has one.
pub fn table(lang: &str) -> Option<Table> {
    let lower = lang.to_ascii_lowercase();
    if lower == "zh-hant" || lower.starts_with("zh-hant-") || lower == "zh-tw" || lower == "zh-hk" {
        Some(("zh-Hant", zh_hant))
    } else if lower == "zh" || lower.starts_with("zh-") {
        Some(("zh-Hans", zh_hans))
    } else {
        None
    }
}

/// The labels for a report: English, then each distinct translation the
/// campaign's languages call for, in the campaign's order.
pub fn labels(langs: &[&str]) -> Vec<Table> {
    let mut out: Vec<Table> = vec![("en", en)];
    for l in langs {
        if let Some(t) = table(l)
            && !out.iter().any(|(tag, _)| *tag == t.0)
        {
            out.push(t);
        }
    }
    out
}
