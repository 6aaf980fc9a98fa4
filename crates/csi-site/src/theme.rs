//! Themes: tera templates plus a stylesheet. The default theme (`themes/default` in
//! the repository) is compiled into the binary so csi works from anywhere; a theme
//! folder given at run time overrides it template by template.

use std::path::Path;

use crate::chart::Palette;
use crate::SiteError;

const DEFAULT_TEMPLATES: [(&str, &str); 5] = [
    (
        "analysis.html",
        include_str!("../../../themes/default/templates/analysis.html"),
    ),
    ("base.html", include_str!("../../../themes/default/templates/base.html")),
    ("wave.html", include_str!("../../../themes/default/templates/wave.html")),
    (
        "study.html",
        include_str!("../../../themes/default/templates/study.html"),
    ),
    (
        "index.html",
        include_str!("../../../themes/default/templates/index.html"),
    ),
];
const DEFAULT_CSS: &str = include_str!("../../../themes/default/static/style.css");

/// A loaded theme, ready to render.
pub struct Theme {
    tera: tera::Tera,
    css: String,
    css_name: String,
}

/// FNV-1a, 64 bit: a stable content fingerprint for asset file names.
fn fingerprint(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:010x}", h >> 24)
}

/// Formats a tera error with its whole chain (template name, line, cause).
fn describe(e: &tera::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

impl Theme {
    /// The built-in default theme.
    pub fn builtin() -> Self {
        Self::load(None).expect("the built-in theme is valid")
    }

    /// The default theme, with templates and stylesheet overridden by the files in
    /// `dir/templates/*.html` and `dir/static/style.css` when `dir` is given.
    pub fn load(dir: Option<&Path>) -> Result<Self, SiteError> {
        let mut tera = tera::Tera::default();
        tera.autoescape_on(vec![".html"]);
        let mut templates: Vec<(String, String)> = DEFAULT_TEMPLATES
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        let mut css = DEFAULT_CSS.to_string();
        if let Some(dir) = dir {
            for (name, body) in templates.iter_mut() {
                let p = dir.join("templates").join(&*name);
                if p.is_file() {
                    *body = std::fs::read_to_string(&p).map_err(|source| SiteError::Io {
                        path: p.clone(),
                        source,
                    })?;
                }
            }
            let p = dir.join("static/style.css");
            if p.is_file() {
                css = std::fs::read_to_string(&p).map_err(|source| SiteError::Io {
                    path: p.clone(),
                    source,
                })?;
            }
        }
        tera.add_raw_templates(templates)
            .map_err(|e| SiteError::Template(describe(&e)))?;
        let css_name = format!("style.{}.css", fingerprint(css.as_bytes()));
        Ok(Self { tera, css, css_name })
    }

    /// The stylesheet's fingerprinted file name and its content.
    pub fn stylesheet(&self) -> (&str, &str) {
        (&self.css_name, &self.css)
    }

    /// Chart colours.
    pub fn palette(&self) -> Palette {
        Palette::default()
    }

    /// Renders template `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: &tera::Context) -> Result<String, SiteError> {
        self.tera
            .render(name, ctx)
            .map_err(|e| SiteError::Template(describe(&e)))
    }
}
