//! State ids: building them from cloud ids, and parsing a written id back.

/// Characters ioBroker forbids in ids, plus the dot (which would split one cloud id into
/// two levels) and the space: each becomes `_`.
///
/// js-controller's FORBIDDEN_CHARS allows letters of the Unicode categories Ll and Lu,
/// digits of Nd, and `._-/ :!#$%&()+=@^{}|~`; everything else is forbidden, so not only
/// `*?[]"',;<>\` and control characters but also symbols (`✓`, `°`, emoji), letters
/// without case (CJK), modifier letters and combining marks. Rust has no test for a
/// general category, so outside ASCII a character is kept only when it is a cased letter
/// (lowercase or uppercase, which is Ll/Lu apart from the few characters listed below
/// that Unicode also calls lowercase or uppercase) or a decimal digit; when in doubt it is
/// replaced, which only makes an id differ, never makes it invalid.
fn forbidden(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric()
            || matches!(
                c,
                '_' | '-'
                    | '/'
                    | ':'
                    | '!'
                    | '#'
                    | '$'
                    | '%'
                    | '&'
                    | '('
                    | ')'
                    | '+'
                    | '='
                    | '@'
                    | '^'
                    | '{'
                    | '}'
                    | '|'
                    | '~'
            ));
    }
    let cased = c.is_alphabetic() && (c.is_lowercase() != c.is_uppercase());
    !(cased && !other_case(c) || decimal_digit(c))
}

/// Characters Unicode counts as lowercase or uppercase that are not of the categories
/// Ll or Lu (ordinal indicators, modifier letters, a combining mark, Roman numerals,
/// circled and squared letters).
fn other_case(c: char) -> bool {
    matches!(c,
        '\u{AA}' | '\u{BA}' | '\u{2B0}'..='\u{2FF}' | '\u{345}' | '\u{37A}'
        | '\u{10FC}' | '\u{1D2C}'..='\u{1DBF}' | '\u{2071}' | '\u{207F}' | '\u{2090}'..='\u{209C}'
        | '\u{2160}'..='\u{217F}' | '\u{24B6}'..='\u{24E9}' | '\u{2C7C}'..='\u{2C7D}'
        | '\u{A69C}'..='\u{A69D}' | '\u{A770}' | '\u{A7F2}'..='\u{A7F4}' | '\u{A7F8}'..='\u{A7F9}'
        | '\u{AB5C}'..='\u{AB5F}' | '\u{AB69}' | '\u{10780}'..='\u{107BA}'
        | '\u{1E030}'..='\u{1E06D}' | '\u{1F130}'..='\u{1F149}' | '\u{1F150}'..='\u{1F169}'
        | '\u{1F170}'..='\u{1F189}')
}

/// A decimal digit of any script (Unicode category Nd): the blocks of ten that
/// `char::to_digit` does not know outside ASCII, recognised by their zero.
fn decimal_digit(c: char) -> bool {
    // The zeros of the Nd blocks of the Basic Multilingual Plane (enough for ids).
    const ZEROS: &[u32] = &[
        0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
        0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0,
        0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0,
        0xAA50, 0xABF0, 0xFF10,
    ];
    let u = c as u32;
    ZEROS.iter().any(|&z| (z..z + 10).contains(&u))
}

/// One id segment from a cloud id or field name.
pub fn segment(raw: &str) -> String {
    if raw.is_empty() {
        return "_".into();
    }
    raw.chars()
        .map(|c| if forbidden(c) { '_' } else { c })
        .collect()
}

/// `<ns>.devices.<id>`
pub fn device(ns: &str, id: &str) -> String {
    format!("{ns}.devices.{}", segment(id))
}

/// `<ns>.groups.<id>`
pub fn group(ns: &str, id: &str) -> String {
    format!("{ns}.groups.{}", segment(id))
}

/// `<ns>.clients.<id>`
pub fn client(ns: &str, id: &str) -> String {
    format!("{ns}.clients.{}", segment(id))
}

/// `<ns>.homes.<id>`
pub fn home(ns: &str, id: &str) -> String {
    format!("{ns}.homes.{}", segment(id))
}

/// ioBroker.hmip names functional homes in camel case: `SECURITY_AND_ALARM` ->
/// `securityAndAlarm`.
pub fn solution_segment(solution: &str) -> String {
    let mut out = String::with_capacity(solution.len());
    let mut upper = false;
    for c in solution.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    segment(&out)
}

/// What a state id (relative to the instance) addresses.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// `devices.<device>.channels.<channel>.<field>`
    ChannelField {
        /// Device id segment.
        device: &'a str,
        /// Channel key.
        channel: &'a str,
        /// Field name.
        field: &'a str,
    },
    /// `groups.<group>.<field>`
    GroupField {
        /// Group id segment.
        group: &'a str,
        /// Field name.
        field: &'a str,
    },
    /// `homes.<home>.<field>` (section `None`), `homes.<home>.<section>.<field>` or
    /// `homes.<home>.functionalHomes.<solution>.<field>` (section `Some("functionalHomes.<solution>")`
    /// is given as the camel-case segment in `functional`).
    HomeField {
        /// Home id segment.
        home: &'a str,
        /// A nested object of the home (`weather`), if any.
        section: Option<&'a str>,
        /// A functional home's camel-case segment (`securityAndAlarm`), if any.
        functional: Option<&'a str>,
        /// Field name.
        field: &'a str,
    },
    /// Any other id of the tree.
    Other,
}

/// Parse an id relative to the instance (`devices.X.channels.1.on`).
pub fn parse(rel: &str) -> Option<Parsed<'_>> {
    let parts: Vec<&str> = rel.split('.').collect();
    match parts.as_slice() {
        ["devices", device, "channels", channel, field] => Some(Parsed::ChannelField {
            device,
            channel,
            field,
        }),
        ["groups", group, field] => Some(Parsed::GroupField { group, field }),
        ["homes", home, field] => Some(Parsed::HomeField {
            home,
            section: None,
            functional: None,
            field,
        }),
        ["homes", home, "functionalHomes", fh, field] => Some(Parsed::HomeField {
            home,
            section: None,
            functional: Some(fh),
            field,
        }),
        ["homes", home, section, field] => Some(Parsed::HomeField {
            home,
            section: Some(section),
            functional: None,
            field,
        }),
        [] => None,
        _ => Some(Parsed::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_parse() {
        assert_eq!(segment("a.b c*"), "a_b_c_");
        // What js-controller forbids becomes `_`; what it allows stays.
        assert_eq!(segment("[x]?\"it's\",;<>\\`"), "_x___it_s_______");
        assert_eq!(
            segment("a-b_c/d:e!#$%&()+=@^{}|~"),
            "a-b_c/d:e!#$%&()+=@^{}|~"
        );
        assert_eq!(
            segment("Küche Öl ß Ελλάδα Москва"),
            "Küche_Öl_ß_Ελλάδα_Москва"
        );
        assert_eq!(segment("٣३3"), "٣३3", "decimal digits of any script");
        assert_eq!(segment("✓°€²½ⓐʰª中😀\u{301}\u{a0}"), "____________");
        assert_eq!(segment("tab\there\nnl"), "tab_here_nl");
        assert_eq!(solution_segment("SECURITY_AND_ALARM"), "securityAndAlarm");
        assert_eq!(solution_segment("ENERGY"), "energy");
        assert_eq!(
            parse("devices.X.channels.1.on"),
            Some(Parsed::ChannelField {
                device: "X",
                channel: "1",
                field: "on"
            })
        );
        assert_eq!(
            parse("groups.G.setPointTemperature"),
            Some(Parsed::GroupField {
                group: "G",
                field: "setPointTemperature"
            })
        );
        assert_eq!(parse("info.connection"), Some(Parsed::Other));
    }
}
