//! A last pass over a report before it is returned, for any Rust plugin (the
//! shipped analyses call [`tidy`] at the end of their `run`):
//!
//! - a table column whose every cell is empty is left out (a unit column where no
//!   row has a unit, counts where nothing was counted);
//! - in Chinese, no ASCII space between a bold name and the Chinese text around
//!   it (`**高额话费用户**的指数最低`, not `**高额话费用户** 的`), and a bold name
//!   that CommonMark would not render bold where it stands gets the one space that
//!   makes it bold (see [`tighten_bold`]).

use crate::prelude::*;

/// The report an analysis produced for `request`, tidied in the request's language
/// (errors pass through): the last line of a plugin's `run`, e.g.
/// `tidy::tidied(request, self.analyse(request, input))`.
pub fn tidied(request: &Request, report: Result<Report, String>) -> Result<Report, String> {
    let mut report = report?;
    tidy(&mut report, request.study.language.starts_with("zh"));
    Ok(report)
}

/// Tidies every table and, in Chinese (`zh`), every markdown block of `report`,
/// the blocks offered to the overview included.
pub fn tidy(report: &mut Report, zh: bool) {
    for block in report.blocks.iter_mut().chain(report.overview.iter_mut()) {
        match block {
            Block::Table(table) => drop_empty_columns(table),
            Block::Markdown { text } if zh => *text = tighten_bold(text),
            _ => {}
        }
    }
}

fn is_empty(cell: Option<&Cell>) -> bool {
    match cell {
        None | Some(Cell::Empty(())) => true,
        Some(Cell::Text(t)) => t.trim().is_empty(),
        Some(_) => false,
    }
}

/// Leaves out the columns of `table` whose every cell is empty (a table without
/// rows is left as it is), with their cells and flags.
pub fn drop_empty_columns(table: &mut Table) {
    if table.rows.is_empty() {
        return;
    }
    for j in (0..table.columns.len()).rev() {
        if table.columns.len() == 1 || !table.rows.iter().all(|r| is_empty(r.cells.get(j))) {
            continue;
        }
        table.columns.remove(j);
        for row in &mut table.rows {
            if j < row.cells.len() {
                row.cells.remove(j);
            }
            if j < row.flags.len() {
                row.flags.remove(j);
            }
        }
    }
}

/// Han characters and the punctuation of Chinese text: the text on the far side
/// of a space next to a bold name that the space is taken out of.
fn is_chinese(c: char) -> bool {
    matches!(c,
        '\u{2E80}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{FE30}'..='\u{FE4F}'
        | '\u{FF00}'..='\u{FFEF}' | '\u{20000}'..='\u{3FFFF}'
        | '“' | '”' | '‘' | '’' | '—' | '…')
}

/// How CommonMark's flanking rules see a character next to a `**`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Whitespace, or the start or end of the text.
    Space,
    /// A Unicode punctuation mark or symbol (CommonMark 0.31, as pulldown-cmark).
    Punctuation,
    /// A letter, digit or ideograph.
    Other,
    /// Not known here: the text is left as it is.
    Unknown,
}

fn kind(c: Option<char>) -> Kind {
    let Some(c) = c else { return Kind::Space };
    if c.is_whitespace() {
        Kind::Space
    } else if c.is_alphanumeric() && !('\u{24B6}'..='\u{24E9}').contains(&c) {
        // (Circled letters are symbols, though alphabetic.)
        Kind::Other
    } else if c.is_ascii_punctuation()
        || matches!(c,
            '\u{00A1}'..='\u{00A9}' | '\u{00AB}' | '\u{00AC}' | '\u{00AE}'..='\u{00B1}'
            | '\u{00B4}' | '\u{00B6}'..='\u{00B8}' | '\u{00BB}' | '\u{00BF}' | '\u{00D7}'
            | '\u{00F7}' | '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{205E}'
            | '\u{2190}'..='\u{23FF}' | '\u{25A0}'..='\u{27BF}' | '\u{3001}'..='\u{3004}'
            | '\u{3008}'..='\u{3020}' | '\u{3030}' | '\u{303D}' | '\u{30FB}'
            | '\u{FE30}'..='\u{FE4F}' | '\u{FF01}'..='\u{FF0F}' | '\u{FF1A}'..='\u{FF20}'
            | '\u{FF3B}'..='\u{FF40}' | '\u{FF5B}'..='\u{FF65}')
    {
        Kind::Punctuation
    } else {
        Kind::Unknown
    }
}

/// Whether a `**` between `before` and `after` can open bold (left-flanking).
fn opens(before: Kind, after: Kind) -> bool {
    after != Kind::Space && (after == Kind::Other || matches!(before, Kind::Space | Kind::Punctuation))
}

/// Whether a `**` between `before` and `after` can close bold (right-flanking).
fn closes(before: Kind, after: Kind) -> bool {
    before != Kind::Space && (before == Kind::Other || matches!(after, Kind::Space | Kind::Punctuation))
}

/// Chinese markdown with its bold names set tight: an ASCII space between a `**`
/// and Chinese text outside it is taken out where the `**` still opens (or
/// closes) after that — `是 **A** 的` becomes `是**A**的` — and kept where it would
/// not (`**（A）** 的`: a `**` after a closing bracket and before a Han character
/// does not close); a `**` that opens or closes nothing where it stands
/// (`的**（A）**的`) gets a space on its outer side. The text's `**` are read as
/// pairs in order; code spans and escaped asterisks are left alone.
pub fn tighten_bold(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    // The positions of the `**` runs (exactly two asterisks, outside code spans).
    let mut runs = Vec::new();
    let (mut i, mut code) = (0, false);
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '`' => code = !code,
            '*' if !code => {
                let start = i;
                while i + 1 < chars.len() && chars[i + 1] == '*' {
                    i += 1;
                }
                if i - start == 1 {
                    runs.push(start);
                }
            }
            _ => {}
        }
        i += 1;
    }
    // What to do just before each character: take out the space there, or put one.
    let mut remove = vec![false; chars.len()];
    let mut insert = vec![false; chars.len() + 1];
    let at = |i: isize| usize::try_from(i).ok().and_then(|i| chars.get(i).copied());
    for pair in runs.chunks_exact(2) {
        let (open, close) = (pair[0] as isize, pair[1] as isize);
        // The opener: the text before it and the first character inside.
        let inner = kind(at(open + 2));
        if at(open - 1) == Some(' ') && at(open - 2).is_some_and(is_chinese) {
            if opens(kind(at(open - 2)), inner) {
                remove[open as usize - 1] = true;
            }
        } else if !opens(kind(at(open - 1)), inner) && matches!(kind(at(open - 1)), Kind::Other) {
            insert[open as usize] = true;
        }
        // The closer: the last character inside and the text after it.
        let inner = kind(at(close - 1));
        if at(close + 2) == Some(' ') && at(close + 3).is_some_and(is_chinese) {
            if closes(inner, kind(at(close + 3))) {
                remove[close as usize + 2] = true;
            }
        } else if !closes(inner, kind(at(close + 2))) && matches!(kind(at(close + 2)), Kind::Other) {
            insert[close as usize + 2] = true;
        }
    }
    let mut out = String::with_capacity(text.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if insert[i] {
            out.push(' ');
        }
        if !remove[i] {
            out.push(c);
        }
    }
    if insert[chars.len()] {
        out.push(' ');
    }
    out
}

#[cfg(test)]
mod tidy_tests {
    use super::*;

    #[test]
    fn spaces_next_to_bold_names_go_where_the_bold_still_renders() {
        let cases = [
            (
                "- 用户类型：**高额话费用户** 的指数最低",
                "- 用户类型：**高额话费用户**的指数最低",
            ),
            (
                "差距最大的是 **话费额度限制**（-6.9）、**A**（-1.0）。",
                "差距最大的是**话费额度限制**（-6.9）、**A**（-1.0）。",
            ),
            // Closing after a bracket needs punctuation or a space after it.
            ("对 **顾客满意度指数（CSI）** 而言", "对**顾客满意度指数（CSI）** 而言"),
            ("对**顾客满意度指数（CSI）**而言", "对**顾客满意度指数（CSI）** 而言"),
            ("对**顾客满意度指数（CSI）**，", "对**顾客满意度指数（CSI）**，"),
            // Opening before a quotation mark needs punctuation or a space before it.
            ("的 **“新”业务** 很好", "的 **“新”业务**很好"),
            ("是**“新”业务**：", "是 **“新”业务**："),
            // English, numbers and code are left as they are.
            ("For **Overall**, 5 drivers", "For **Overall**, 5 drivers"),
            ("**A** 5 项", "**A** 5 项"),
            ("`a ** b` **A** 的", "`a ** b` **A**的"),
            ("**无法估计。** 每个", "**无法估计。** 每个"),
        ];
        for (given, want) in cases {
            assert_eq!(tighten_bold(given), want, "{given}");
        }
    }

    #[test]
    fn empty_columns_are_left_out() {
        let mut table = Table {
            title: "t".into(),
            columns: vec![Column::text("a"), Column::number("b", 1), Column::text("c")],
            rows: vec![
                Row {
                    cells: vec![Cell::Text("x".into()), Cell::Empty(()), Cell::Number(1.0)],
                    flags: vec![vec![], vec![Flag::LowBase], vec![Flag::SigUp]],
                },
                Row {
                    cells: vec![Cell::Text("y".into()), Cell::Text(String::new()), Cell::Empty(())],
                    flags: vec![],
                },
            ],
            note: None,
        };
        drop_empty_columns(&mut table);
        assert_eq!(table.columns.len(), 2);
        assert_eq!(table.columns[1].label, "c");
        assert_eq!(table.rows[0].cells, [Cell::Text("x".into()), Cell::Number(1.0)]);
        assert_eq!(table.rows[0].flags, [vec![], vec![Flag::SigUp]]);
    }
}
