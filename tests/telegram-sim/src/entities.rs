//! Formatting: HTML, MarkdownV2 and legacy Markdown parsed into plain text plus
//! MessageEntity objects, following Telegram's parser rules and error texts.
//! Offsets and lengths are UTF-16 code units, as in the Bot API.

use serde_json::{Value, json};

use crate::error::ApiError;

/// Text after entity parsing, as the recipient sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Formatted {
    pub text: String,
    pub entities: Vec<Value>,
}

/// Number of UTF-16 code units, which is how Telegram measures text length.
pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

#[derive(Debug, Clone)]
struct Entity {
    kind: &'static str,
    offset: usize,
    length: usize,
    extra: Option<(&'static str, Value)>,
}

impl Entity {
    fn to_json(&self) -> Value {
        let mut v = json!({ "type": self.kind, "offset": self.offset, "length": self.length });
        if let Some((key, value)) = &self.extra {
            v[*key] = value.clone();
        }
        v
    }
}

/// Output buffer that tracks its length in UTF-16 code units.
#[derive(Default)]
struct Out {
    text: String,
    units: usize,
    entities: Vec<Entity>,
}

impl Out {
    fn push(&mut self, c: char) {
        self.text.push(c);
        self.units += c.len_utf16();
    }

    fn push_str(&mut self, s: &str) {
        self.text.push_str(s);
        self.units += utf16_len(s);
    }

    fn entity(&mut self, kind: &'static str, start: usize, extra: Option<(&'static str, Value)>) {
        if self.units > start {
            self.entities.push(Entity {
                kind,
                offset: start,
                length: self.units - start,
                extra,
            });
        }
    }
}

/// Applies `parse_mode` (or explicit `entities`) to `text` and trims it like Telegram.
pub(crate) fn format(
    text: &str,
    parse_mode: Option<&str>,
    explicit_entities: Option<&Value>,
) -> Result<Formatted, ApiError> {
    let out = match parse_mode.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => {
            let entities = explicit_entities
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            return Ok(trim(Formatted {
                text: text.to_owned(),
                entities,
            }));
        }
        Some("html") => parse_html(text)?,
        Some("markdownv2") => parse_markdown_v2(text)?,
        Some("markdown") => parse_markdown(text)?,
        Some(_) => return Err(ApiError::bad_request("unsupported parse_mode")),
    };
    let mut entities = out.entities;
    entities.sort_by(|a, b| a.offset.cmp(&b.offset).then(b.length.cmp(&a.length)));
    Ok(trim(Formatted {
        text: out.text,
        entities: entities.iter().map(Entity::to_json).collect(),
    }))
}

/// Telegram strips leading and trailing whitespace from messages and captions.
fn trim(formatted: Formatted) -> Formatted {
    let trimmed_start = formatted.text.trim_start();
    let shift = utf16_len(&formatted.text[..formatted.text.len() - trimmed_start.len()]);
    let text = trimmed_start.trim_end().to_owned();
    let total = utf16_len(&text) as i64;
    let shift = shift as i64;
    let entities = formatted
        .entities
        .into_iter()
        .filter_map(|mut e| {
            let offset = e.get("offset")?.as_i64()?;
            let length = e.get("length")?.as_i64()?;
            let start = (offset - shift).max(0);
            let end = (offset + length - shift).min(total);
            if end <= start {
                return None;
            }
            e["offset"] = json!(start);
            e["length"] = json!(end - start);
            Some(e)
        })
        .collect();
    Formatted { text, entities }
}

fn char_at(text: &str, i: usize) -> char {
    text[i..].chars().next().unwrap_or('\0')
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

struct OpenTag {
    tag: String,
    kind: Option<&'static str>,
    extra: Option<(&'static str, Value)>,
    start: usize,
    /// `<code class="language-x">` directly inside `<pre>` sets the pre's language.
    language: Option<String>,
}

const HTML_TAGS: &[&str] = &[
    "a",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "tg-emoji",
    "tg-time",
    "code",
    "pre",
    "blockquote",
];

fn decode_html_entity(rest: &str) -> Option<(char, usize)> {
    let end = rest.get(1..rest.len().min(12))?.find(';')? + 1;
    let name = &rest[1..end];
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        _ => {
            let code =
                if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()?
                } else {
                    name.strip_prefix('#')?.parse::<u32>().ok()?
                };
            char::from_u32(code)?
        }
    };
    Some((c, end + 1))
}

fn decode_html_text(raw: &str) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < raw.len() {
        if raw.as_bytes()[i] == b'&'
            && let Some((c, used)) = decode_html_entity(&raw[i..])
        {
            out.push(c);
            i += used;
            continue;
        }
        let c = char_at(raw, i);
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn parse_html(text: &str) -> Result<Out, ApiError> {
    let b = text.as_bytes();
    let n = b.len();
    let mut out = Out::default();
    let mut stack: Vec<OpenTag> = Vec::new();
    let mut i = 0;
    while i < n {
        let c = b[i];
        if c == b'&' {
            if let Some((decoded, used)) = decode_html_entity(&text[i..]) {
                out.push(decoded);
                i += used;
            } else {
                out.push('&');
                i += 1;
            }
            continue;
        }
        if c != b'<' {
            let ch = char_at(text, i);
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        let tag_begin = i;
        i += 1;
        if i < n && b[i] == b'/' {
            i += 1;
            let name_start = i;
            while i < n && (b[i].is_ascii_alphanumeric() || b[i] == b'-') {
                i += 1;
            }
            let name = text[name_start..i].to_ascii_lowercase();
            while i < n && is_space(b[i]) {
                i += 1;
            }
            if i >= n || b[i] != b'>' {
                return Err(ApiError::entities(format!(
                    "Unclosed end tag at byte offset {tag_begin}"
                )));
            }
            i += 1;
            let Some(open) = stack.pop() else {
                return Err(ApiError::entities(format!(
                    "Unexpected end tag at byte offset {tag_begin}"
                )));
            };
            if open.tag != name {
                return Err(ApiError::entities(format!(
                    "Unmatched end tag at byte offset {tag_begin}, expected \"</{}>\", found \"</{name}>\"",
                    open.tag
                )));
            }
            close_html_tag(&mut out, &mut stack, open);
            continue;
        }
        let name_start = i;
        while i < n && (b[i].is_ascii_alphanumeric() || b[i] == b'-') {
            i += 1;
        }
        let name = text[name_start..i].to_ascii_lowercase();
        if !HTML_TAGS.contains(&name.as_str()) {
            return Err(ApiError::entities(format!(
                "Unsupported start tag \"{name}\" at byte offset {tag_begin}"
            )));
        }
        let mut attrs: Vec<(String, String)> = Vec::new();
        loop {
            while i < n && is_space(b[i]) {
                i += 1;
            }
            if i >= n {
                return Err(ApiError::entities(format!(
                    "Unclosed start tag at byte offset {tag_begin}"
                )));
            }
            if b[i] == b'>' {
                i += 1;
                break;
            }
            let attr_start = i;
            while i < n && (b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b'_') {
                i += 1;
            }
            if attr_start == i {
                return Err(ApiError::entities(format!(
                    "Empty attribute name in the tag \"{name}\" at byte offset {attr_start}"
                )));
            }
            let attr = text[attr_start..i].to_ascii_lowercase();
            while i < n && is_space(b[i]) {
                i += 1;
            }
            let mut value = String::new();
            if i < n && b[i] == b'=' {
                i += 1;
                while i < n && is_space(b[i]) {
                    i += 1;
                }
                if i >= n {
                    return Err(ApiError::entities(format!(
                        "Unclosed start tag at byte offset {tag_begin}"
                    )));
                }
                if b[i] == b'"' || b[i] == b'\'' {
                    let quote = b[i];
                    i += 1;
                    let value_start = i;
                    while i < n && b[i] != quote {
                        i += 1;
                    }
                    if i >= n {
                        return Err(ApiError::entities(format!(
                            "Unclosed start tag at byte offset {tag_begin}"
                        )));
                    }
                    value = decode_html_text(&text[value_start..i]);
                    i += 1;
                } else {
                    let value_start = i;
                    while i < n && !is_space(b[i]) && b[i] != b'>' {
                        i += 1;
                    }
                    value = decode_html_text(&text[value_start..i]);
                }
            }
            attrs.push((attr, value));
        }
        let attr = |key: &str| attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let (kind, extra): (Option<&'static str>, Option<(&'static str, Value)>) =
            match name.as_str() {
                "b" | "strong" => (Some("bold"), None),
                "i" | "em" => (Some("italic"), None),
                "u" | "ins" => (Some("underline"), None),
                "s" | "strike" | "del" => (Some("strikethrough"), None),
                "tg-spoiler" => (Some("spoiler"), None),
                "span" => {
                    if attr("class").as_deref() != Some("tg-spoiler") {
                        return Err(ApiError::entities(format!(
                            "Tag \"span\" must have class \"tg-spoiler\" at byte offset {tag_begin}"
                        )));
                    }
                    (Some("spoiler"), None)
                }
                "a" => match attr("href") {
                    Some(href) => match href
                        .strip_prefix("tg://user?id=")
                        .and_then(|id| id.parse::<i64>().ok())
                    {
                        Some(user_id) => (
                            Some("text_mention"),
                            Some((
                                "user",
                                json!({ "id": user_id, "is_bot": false, "first_name": "" }),
                            )),
                        ),
                        None => (Some("text_link"), Some(("url", Value::String(href)))),
                    },
                    None => (None, None),
                },
                "tg-emoji" => match attr("emoji-id") {
                    Some(id) => (
                        Some("custom_emoji"),
                        Some(("custom_emoji_id", Value::String(id))),
                    ),
                    None => (None, None),
                },
                "tg-time" => match attr("unix").and_then(|u| u.parse::<i64>().ok()) {
                    Some(unix) => (Some("date_time"), Some(("unix_time", json!(unix)))),
                    None => (None, None),
                },
                "code" => (Some("code"), None),
                "pre" => (Some("pre"), None),
                "blockquote" => {
                    if attr("expandable").is_some() {
                        (Some("expandable_blockquote"), None)
                    } else {
                        (Some("blockquote"), None)
                    }
                }
                _ => (None, None),
            };
        let language = if name == "code" {
            attr("class").and_then(|c| c.strip_prefix("language-").map(str::to_owned))
        } else {
            None
        };
        stack.push(OpenTag {
            tag: name,
            kind,
            extra,
            start: out.units,
            language,
        });
    }
    if let Some(open) = stack.last() {
        return Err(ApiError::entities(format!(
            "Can't find end tag corresponding to start tag \"{}\"",
            open.tag
        )));
    }
    Ok(out)
}

fn close_html_tag(out: &mut Out, stack: &mut [OpenTag], open: OpenTag) {
    if open.tag == "code"
        && let (Some(language), Some(parent)) = (&open.language, stack.last_mut())
        && parent.tag == "pre"
    {
        parent.extra = Some(("language", Value::String(language.clone())));
        return;
    }
    if let Some(kind) = open.kind {
        out.entity(kind, open.start, open.extra);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Md {
    Bold,
    Italic,
    Underline,
    Strikethrough,
    Spoiler,
    Code,
    Pre,
    TextUrl,
    CustomEmoji,
}

impl Md {
    fn name(self, has_language: bool) -> &'static str {
        match self {
            Md::Bold => "Bold",
            Md::Italic => "Italic",
            Md::Underline => "Underline",
            Md::Strikethrough => "Strikethrough",
            Md::Spoiler => "Spoiler",
            Md::Code => "Code",
            Md::Pre if has_language => "PreCode",
            Md::Pre => "Pre",
            Md::TextUrl => "TextUrl",
            Md::CustomEmoji => "CustomEmoji",
        }
    }
}

struct MdOpen {
    kind: Md,
    start: usize,
    byte_offset: usize,
    out_pos: usize,
    language: Option<String>,
}

fn reserved(c: char) -> ApiError {
    ApiError::entities(format!(
        "Character '{c}' is reserved and must be escaped with the preceding '\\'"
    ))
}

/// Reads a `(...)` URL starting at `i` (which points at `(`); returns it and the index of `)`.
fn md_url(text: &str, mut i: usize) -> Result<(String, usize), ApiError> {
    let b = text.as_bytes();
    i += 1;
    let begin = i;
    let mut url = String::new();
    while i < b.len() && b[i] != b')' {
        if b[i] == b'\\' && i + 1 < b.len() && (1..=126).contains(&b[i + 1]) {
            url.push(b[i + 1] as char);
            i += 2;
            continue;
        }
        let ch = char_at(text, i);
        url.push(ch);
        i += ch.len_utf8();
    }
    if i >= b.len() {
        return Err(ApiError::entities(format!(
            "Can't find end of a URL at byte offset {begin}"
        )));
    }
    Ok((url, i))
}

/// After an opening ```` ``` ````, reads an optional language and skips one newline.
fn pre_start(text: &str, mut i: usize) -> (Option<String>, usize) {
    let b = text.as_bytes();
    let at = |k: usize| b.get(k).copied().unwrap_or(0);
    let start = i;
    while i < b.len() && !is_space(b[i]) && b[i] != b'`' {
        i += 1;
    }
    let language = if start != i && i < b.len() && b[i] != b'`' {
        Some(text[start..i].to_owned())
    } else {
        i = start;
        None
    };
    if at(i) == b'\n' || at(i) == b'\r' {
        if (at(i + 1) == b'\n' || at(i + 1) == b'\r') && at(i) != at(i + 1) {
            i += 2;
        } else {
            i += 1;
        }
    }
    (language, i)
}

fn parse_markdown_v2(text: &str) -> Result<Out, ApiError> {
    let b = text.as_bytes();
    let n = b.len();
    let at = |k: usize| b.get(k).copied().unwrap_or(0);
    let mut out = Out::default();
    let mut stack: Vec<MdOpen> = Vec::new();
    // An open block quote: where it started and whether it is expandable.
    let mut quote: Option<(usize, bool)> = None;
    let mut line_start = true;
    let mut i = 0;
    while i < n {
        let in_code = matches!(stack.last(), Some(o) if matches!(o.kind, Md::Code | Md::Pre));
        if line_start && !in_code {
            let marker = if b[i] == b'>' {
                Some((1, false))
            } else if b[i] == b'*' && at(i + 1) == b'*' && at(i + 2) == b'>' {
                Some((3, true))
            } else {
                None
            };
            match marker {
                Some((len, expandable)) => {
                    quote.get_or_insert((out.units, expandable));
                    i += len;
                    line_start = false;
                    continue;
                }
                None => close_quote(&mut out, &mut quote),
            }
        }
        line_start = false;
        let c = b[i];
        if c == b'\\' && (1..=126).contains(&at(i + 1)) {
            out.push(at(i + 1) as char);
            i += 2;
            continue;
        }
        let reserved_set: &[u8] = if in_code { b"`" } else { b"_*[]()~`>#+-=|{}.!" };
        if !reserved_set.contains(&c) {
            let ch = char_at(text, i);
            out.push(ch);
            line_start = ch == '\n';
            i += ch.len_utf8();
            continue;
        }
        // `||` closing an expandable block quote at the end of its last line.
        if c == b'|'
            && at(i + 1) == b'|'
            && matches!(quote, Some((_, true)))
            && (i + 2 == n || at(i + 2) == b'\n')
            && !matches!(stack.last(), Some(o) if o.kind == Md::Spoiler)
        {
            i += 2;
            continue;
        }
        let is_end = match stack.last().map(|o| o.kind) {
            Some(Md::Bold) => c == b'*',
            Some(Md::Italic) => c == b'_' && at(i + 1) != b'_',
            Some(Md::Code) => c == b'`',
            Some(Md::Pre) => c == b'`' && at(i + 1) == b'`' && at(i + 2) == b'`',
            Some(Md::TextUrl) | Some(Md::CustomEmoji) => c == b']',
            Some(Md::Underline) => c == b'_' && at(i + 1) == b'_',
            Some(Md::Strikethrough) => c == b'~',
            Some(Md::Spoiler) => c == b'|' && at(i + 1) == b'|',
            None => false,
        };
        if !is_end {
            let byte_offset = i;
            let mut language = None;
            let kind = match c {
                b'_' if at(i + 1) == b'_' => {
                    i += 2;
                    Md::Underline
                }
                b'_' => {
                    i += 1;
                    Md::Italic
                }
                b'*' => {
                    i += 1;
                    Md::Bold
                }
                b'~' => {
                    i += 1;
                    Md::Strikethrough
                }
                b'|' if at(i + 1) == b'|' => {
                    i += 2;
                    Md::Spoiler
                }
                b'[' => {
                    i += 1;
                    Md::TextUrl
                }
                b'`' if at(i + 1) == b'`' && at(i + 2) == b'`' => {
                    let (lang, next) = pre_start(text, i + 3);
                    language = lang;
                    i = next;
                    Md::Pre
                }
                b'`' => {
                    i += 1;
                    Md::Code
                }
                b'!' if at(i + 1) == b'[' => {
                    i += 2;
                    Md::CustomEmoji
                }
                other => return Err(reserved(other as char)),
            };
            stack.push(MdOpen {
                kind,
                start: out.units,
                byte_offset,
                out_pos: out.text.len(),
                language,
            });
            continue;
        }
        let Some(open) = stack.pop() else {
            continue;
        };
        let mut extra = None;
        let kind = match open.kind {
            Md::Bold => "bold",
            Md::Italic => "italic",
            Md::Code => "code",
            Md::Strikethrough => "strikethrough",
            Md::Underline => {
                i += 1;
                "underline"
            }
            Md::Spoiler => {
                i += 1;
                "spoiler"
            }
            Md::Pre => {
                i += 2;
                extra = open.language.map(|l| ("language", Value::String(l)));
                "pre"
            }
            Md::TextUrl => {
                let url = if at(i + 1) == b'(' {
                    let (url, close) = md_url(text, i + 1)?;
                    i = close;
                    url
                } else {
                    out.text[open.out_pos..].to_owned()
                };
                extra = Some(("url", Value::String(url)));
                "text_link"
            }
            Md::CustomEmoji => {
                if at(i + 1) != b'(' {
                    return Err(ApiError::entities(
                        "Custom emoji entity must contain a tg://emoji URL",
                    ));
                }
                let (url, close) = md_url(text, i + 1)?;
                let Some(id) = url.strip_prefix("tg://emoji?id=") else {
                    return Err(ApiError::entities(
                        "Custom emoji entity must contain a tg://emoji URL",
                    ));
                };
                extra = Some(("custom_emoji_id", Value::String(id.to_owned())));
                i = close;
                "custom_emoji"
            }
        };
        out.entity(kind, open.start, extra);
        i += 1;
    }
    if let Some(open) = stack.last() {
        return Err(ApiError::entities(format!(
            "Can't find end of {} entity at byte offset {}",
            open.kind.name(open.language.is_some()),
            open.byte_offset
        )));
    }
    close_quote(&mut out, &mut quote);
    Ok(out)
}

fn close_quote(out: &mut Out, quote: &mut Option<(usize, bool)>) {
    if let Some((start, expandable)) = quote.take() {
        // The newline that ended the quote is not part of it.
        let trailing = usize::from(out.text.ends_with('\n'));
        let end = out.units - trailing;
        if end > start {
            let kind = if expandable {
                "expandable_blockquote"
            } else {
                "blockquote"
            };
            out.entities.push(Entity {
                kind,
                offset: start,
                length: end - start,
                extra: None,
            });
        }
    }
}

fn parse_markdown(text: &str) -> Result<Out, ApiError> {
    let b = text.as_bytes();
    let n = b.len();
    let at = |k: usize| b.get(k).copied().unwrap_or(0);
    let mut out = Out::default();
    let mut i = 0;
    while i < n {
        let c = b[i];
        if c == b'\\' && matches!(at(i + 1), b'_' | b'*' | b'`' | b'[') {
            out.push(at(i + 1) as char);
            i += 2;
            continue;
        }
        if !matches!(c, b'_' | b'*' | b'`' | b'[') {
            let ch = char_at(text, i);
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        let begin = i;
        let end_char = if c == b'[' { b']' } else { c };
        i += 1;
        let mut is_pre = false;
        let mut language = None;
        if c == b'`' && at(i) == b'`' && at(i + 1) == b'`' {
            is_pre = true;
            let (lang, next) = pre_start(text, i + 2);
            language = lang;
            i = next;
        }
        let start = out.units;
        let content_start = i;
        while i < n && (b[i] != end_char || (is_pre && !(at(i + 1) == b'`' && at(i + 2) == b'`'))) {
            i += char_at(text, i).len_utf8();
        }
        if i >= n {
            return Err(ApiError::entities(format!(
                "Can't find end of the entity starting at byte offset {begin}"
            )));
        }
        out.push_str(&text[content_start..i]);
        if is_pre {
            i += 2;
        }
        let (kind, extra): (Option<&'static str>, Option<(&'static str, Value)>) = match c {
            b'_' => (Some("italic"), None),
            b'*' => (Some("bold"), None),
            b'`' if is_pre => (
                Some("pre"),
                language.map(|l| ("language", Value::String(l))),
            ),
            b'`' => (Some("code"), None),
            _ => {
                if at(i + 1) == b'(' {
                    let close = text[i + 1..].find(')').map(|p| p + i + 1);
                    let Some(close) = close else {
                        return Err(ApiError::entities(format!(
                            "Can't find end of a URL at byte offset {}",
                            i + 2
                        )));
                    };
                    let url = text[i + 2..close].to_owned();
                    i = close;
                    (Some("text_link"), Some(("url", Value::String(url))))
                } else {
                    (None, None)
                }
            }
        };
        if let Some(kind) = kind {
            out.entity(kind, start, extra);
        }
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str, mode: &str) -> Formatted {
        match format(text, Some(mode), None) {
            Ok(f) => f,
            Err(e) => panic!("{text:?} in {mode}: {}", e.description),
        }
    }

    fn err(text: &str, mode: &str) -> String {
        match format(text, Some(mode), None) {
            Ok(f) => panic!("{text:?} in {mode} parsed to {f:?}"),
            Err(e) => e.description,
        }
    }

    #[test]
    fn html_tags_become_entities() {
        let f = ok(
            "<b>Total</b>: 5 &lt;UAH&gt; <a href=\"https://x.org\">pay</a>",
            "HTML",
        );
        assert_eq!(f.text, "Total: 5 <UAH> pay");
        assert_eq!(f.entities[0], json!({"type":"bold","offset":0,"length":5}));
        assert_eq!(
            f.entities[1],
            json!({"type":"text_link","offset":15,"length":3,"url":"https://x.org"})
        );
    }

    #[test]
    fn html_errors_match_telegram() {
        assert_eq!(
            err("<b>bold", "HTML"),
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""
        );
        assert_eq!(
            err("a <foo>x</foo>", "HTML"),
            "Bad Request: can't parse entities: Unsupported start tag \"foo\" at byte offset 2"
        );
        assert_eq!(
            err("<b><i>x</b></i>", "HTML"),
            "Bad Request: can't parse entities: Unmatched end tag at byte offset 7, expected \"</i>\", found \"</b>\""
        );
        assert_eq!(
            err("x</b>", "HTML"),
            "Bad Request: can't parse entities: Unexpected end tag at byte offset 1"
        );
    }

    #[test]
    fn html_pre_code_language() {
        let f = ok(
            "<pre><code class=\"language-rust\">fn x</code></pre>",
            "HTML",
        );
        assert_eq!(
            f.entities,
            vec![json!({"type":"pre","offset":0,"length":4,"language":"rust"})]
        );
    }

    #[test]
    fn markdown_v2_reserved_characters_must_be_escaped() {
        assert_eq!(
            err("Total: 5.00", "MarkdownV2"),
            "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'"
        );
        let f = ok(
            "Total: 5\\.00 *UAH* _x_ __u__ ||s|| [t](https://a.b/\\)) `a.b`",
            "MarkdownV2",
        );
        assert_eq!(f.text, "Total: 5.00 UAH x u s t a.b");
        let kinds: Vec<&str> = f
            .entities
            .iter()
            .filter_map(|e| e["type"].as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "bold",
                "italic",
                "underline",
                "spoiler",
                "text_link",
                "code"
            ]
        );
        assert_eq!(f.entities[4]["url"], "https://a.b/)");
    }

    #[test]
    fn markdown_v2_unclosed_entity() {
        assert_eq!(
            err("hello *world", "MarkdownV2"),
            "Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 6"
        );
    }

    #[test]
    fn markdown_v2_blockquote_and_pre() {
        let f = ok(
            ">quoted\n>more\nplain\n```rust\nlet x = 1;```",
            "MarkdownV2",
        );
        assert_eq!(f.text, "quoted\nmore\nplain\nlet x = 1;");
        assert_eq!(
            f.entities[0],
            json!({"type":"blockquote","offset":0,"length":11})
        );
        assert_eq!(
            f.entities[1],
            json!({"type":"pre","offset":18,"length":10,"language":"rust"})
        );
    }

    #[test]
    fn legacy_markdown() {
        let f = ok("*b* _i_ `c` [l](http://x.y) 5.00!", "Markdown");
        assert_eq!(f.text, "b i c l 5.00!");
        assert_eq!(f.entities.len(), 4);
        assert_eq!(
            err("*open", "Markdown"),
            "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 0"
        );
    }

    #[test]
    fn offsets_count_utf16_and_trim() {
        let f = ok("  😀 <b>hi</b>  ", "HTML");
        assert_eq!(f.text, "😀 hi");
        assert_eq!(
            f.entities,
            vec![json!({"type":"bold","offset":3,"length":2})]
        );
        assert_eq!(utf16_len("😀"), 2);
    }

    #[test]
    fn unknown_parse_mode() {
        assert_eq!(err("x", "Textile"), "Bad Request: unsupported parse_mode");
    }
}
