//! State ids: building them from cloud ids, and parsing a written id back.

/// Characters ioBroker forbids in ids (js-controller's FORBIDDEN_CHARS) plus the dot,
/// which would split one cloud id into two levels. Each becomes `_`.
fn forbidden(c: char) -> bool {
    matches!(
        c,
        '.' | ' ' | '*' | ',' | ';' | '\'' | '"' | '`' | '<' | '>' | '\\' | '?' | '[' | ']'
    ) || c.is_control()
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
