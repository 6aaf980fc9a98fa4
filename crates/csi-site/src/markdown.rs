//! Markdown to HTML, with one set of options used everywhere (tables, footnotes,
//! strikethrough). Narrative files are written by the study's authors and trusted
//! like templates: raw HTML in them passes through. Text that comes from data never
//! goes through markdown; templates escape it.

use pulldown_cmark::{html, Options, Parser};

/// The markdown extensions csi enables.
pub fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_SMART_PUNCTUATION
}

/// Renders markdown `text` to HTML.
pub fn to_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    html::push_html(&mut out, Parser::new_ext(text, options()));
    out
}
