//! Themes: tera templates plus a stylesheet and the version-switcher script. The
//! default theme (`themes/default` in the repository) is compiled into the binary so
//! csi works from anywhere. Theme folders are layered over it file by file, as Zola
//! layers a site over its theme: a study's own `templates/` folder overrides the
//! theme it selects, which overrides the default.

use std::path::{Path, PathBuf};

use crate::chart::Palette;
use crate::SiteError;

macro_rules! default_templates {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../../themes/default/templates/", $name)))),*]
    };
}

/// The templates of the default theme: a theme may override any of them.
const DEFAULT_TEMPLATES: [(&str, &str); 9] = default_templates!(
    "base.html",
    "wave_nav.html",
    "wave_tabs.html",
    "wave.html",
    "analysis.html",
    "method.html",
    "downloads.html",
    "study.html",
    "index.html",
);
const DEFAULT_CSS: &str = include_str!("../../../themes/default/static/style.css");
const DEFAULT_JS: &str = include_str!("../../../themes/default/static/switcher.js");

/// A loaded theme, ready to render.
pub struct Theme {
    tera: tera::Tera,
    css: String,
    css_name: String,
    js: String,
    js_name: String,
    digest: String,
    brand: Brand,
    logo_name: Option<String>,
}

/// Site-wide branding, from the site settings (`site.yaml` beside the studies): who
/// publishes the reports. It is part of the theme, so a wave's build record covers
/// it and every page carries it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Brand {
    /// Title of the site index (the firm's or the site's name); the index's own
    /// heading when absent.
    pub title: Option<csi_study::Label>,
    /// Who publishes the reports (the research firm), named in every page's masthead
    /// and footer.
    pub publisher: Option<csi_study::Label>,
    /// The publisher's logo: its file extension (`svg`, `png`, `jpg`, `webp`) and
    /// bytes, published as `assets/logo.<fingerprint>.<ext>`.
    pub logo: Option<(String, Vec<u8>)>,
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

/// The `#rrggbb` value of the custom property `name` in `css`, if set.
fn css_colour(css: &str, name: &str) -> Option<plotters::style::RGBColor> {
    let at = css.find(&format!("{name}:"))? + name.len() + 1;
    let value = css[at..].trim_start();
    let hex = value.strip_prefix('#')?.get(..6)?;
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some(plotters::style::RGBColor(byte(0)?, byte(2)?, byte(4)?))
}

fn read(path: &Path) -> Result<String, SiteError> {
    std::fs::read_to_string(path).map_err(|source| SiteError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads `path`, a file of the theme layer `layer`, refusing it when a symbolic
/// link takes it outside the layer's folder (a study's templates must not read
/// the machine's files).
fn read_inside(layer: &Path, path: &Path) -> Result<String, SiteError> {
    let io = |source| SiteError::Io {
        path: path.to_path_buf(),
        source,
    };
    let home = layer.canonicalize().map_err(io)?;
    let real = path.canonicalize().map_err(io)?;
    if !real.starts_with(&home) {
        return Err(SiteError::Outside {
            path: path.to_path_buf(),
            target: real,
            folder: home,
        });
    }
    read(path)
}

impl Theme {
    /// The built-in default theme.
    pub fn builtin() -> Self {
        Self::load(None).expect("the built-in theme is valid")
    }

    /// The default theme with one theme folder layered over it (see
    /// [`Theme::layered`]).
    pub fn load(dir: Option<&Path>) -> Result<Self, SiteError> {
        Self::layered(dir.into_iter())
    }

    /// The default theme with the folders `layers` over it, later ones winning:
    /// `templates/<name>.html` replaces a template (new names may be added and
    /// included), `static/style.css` and `static/switcher.js` replace the assets.
    /// A template error names the template file and line.
    pub fn layered<'a>(layers: impl Iterator<Item = &'a Path>) -> Result<Self, SiteError> {
        let mut templates: Vec<(String, String, Option<PathBuf>)> = DEFAULT_TEMPLATES
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string(), None))
            .collect();
        let mut css = DEFAULT_CSS.to_string();
        let mut js = DEFAULT_JS.to_string();
        for dir in layers {
            let tdir = dir.join("templates");
            if tdir.is_dir() {
                let mut found: Vec<PathBuf> = std::fs::read_dir(&tdir)
                    .map_err(|source| SiteError::Io {
                        path: tdir.clone(),
                        source,
                    })?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "html"))
                    .collect();
                found.sort();
                for p in found {
                    let name = p.file_name().expect("a file").to_string_lossy().into_owned();
                    let body = read_inside(dir, &p)?;
                    match templates.iter_mut().find(|(n, _, _)| *n == name) {
                        Some(t) => *t = (name, body, Some(p)),
                        None => templates.push((name, body, Some(p))),
                    }
                }
            }
            let p = dir.join("static/style.css");
            if p.is_file() {
                css = read_inside(dir, &p)?;
            }
            let p = dir.join("static/switcher.js");
            if p.is_file() {
                js = read_inside(dir, &p)?;
            }
        }
        let mut tera = tera::Tera::default();
        tera.autoescape_on(vec![".html"]);
        // Templates come from folders a study may bring: they render the report's
        // data and nothing of the machine. tera's `get_env` is replaced by a refusal
        // (tera has no function that reads files; `include` names only the
        // templates of the theme layers).
        tera.register_function("get_env", |_: &std::collections::HashMap<String, tera::Value>| {
            Err(tera::Error::msg(
                "templates cannot read environment variables: `get_env` is disabled in csi themes",
            ))
        });
        // Parse one by one first, so an error names the file it is in.
        for (name, body, path) in &templates {
            if let Err(e) = tera::Template::new(name, None, body) {
                let at = path
                    .as_ref()
                    .map_or(format!("{name} (built-in)"), |p| p.display().to_string());
                return Err(SiteError::Template(format!("{at}: {}", describe(&e))));
            }
        }
        let mut all = String::new();
        for (name, body, _) in &templates {
            all.push_str(name);
            all.push('\0');
            all.push_str(body);
            all.push('\0');
        }
        all.push_str(&css);
        all.push('\0');
        all.push_str(&js);
        let digest = crate::provenance::sha256(all.as_bytes());
        tera.add_raw_templates(templates.into_iter().map(|(n, b, _)| (n, b)))
            .map_err(|e| SiteError::Template(describe(&e)))?;
        let css_name = format!("style.{}.css", fingerprint(css.as_bytes()));
        let js_name = format!("switcher.{}.js", fingerprint(js.as_bytes()));
        Ok(Self {
            tera,
            css,
            css_name,
            js,
            js_name,
            digest,
            brand: Brand::default(),
            logo_name: None,
        })
    }

    /// The theme carrying `brand`; the digest then covers the brand too.
    pub fn with_brand(mut self, brand: Brand) -> Self {
        let mut all = self.digest.clone();
        let text = |l: &Option<csi_study::Label>| l.as_ref().map(|l| format!("{l:?}")).unwrap_or_default();
        all.push_str(&text(&brand.title));
        all.push('\0');
        all.push_str(&text(&brand.publisher));
        all.push('\0');
        if let Some((ext, bytes)) = &brand.logo {
            all.push_str(&crate::provenance::sha256(bytes));
            self.logo_name = Some(format!("logo.{}.{ext}", fingerprint(bytes)));
        }
        self.digest = crate::provenance::sha256(all.as_bytes());
        self.brand = brand;
        self
    }

    /// The site's branding.
    pub fn brand(&self) -> &Brand {
        &self.brand
    }

    /// The logo's fingerprinted file name under `assets/`, when there is a logo.
    pub fn logo_name(&self) -> Option<&str> {
        self.logo_name.as_deref()
    }

    /// The stylesheet's fingerprinted file name.
    pub fn stylesheet_name(&self) -> &str {
        &self.css_name
    }

    /// The switcher script's fingerprinted file name.
    pub fn script_name(&self) -> &str {
        &self.js_name
    }

    /// The static files to publish under `assets/`: (fingerprinted name, content).
    pub fn assets(&self) -> Vec<(&str, &[u8])> {
        let mut out = vec![
            (self.css_name.as_str(), self.css.as_bytes()),
            (self.js_name.as_str(), self.js.as_bytes()),
        ];
        if let (Some(name), Some((_, bytes))) = (&self.logo_name, &self.brand.logo) {
            out.push((name.as_str(), bytes.as_slice()));
        }
        out
    }

    /// SHA-256 over every template, the stylesheet and the script: what a wave's
    /// build record names as its theme.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Chart colours: the stylesheet's `--chart-bar`, `--chart-whisker`,
    /// `--chart-ink` and `--chart-reference` custom properties (`#rrggbb`), so charts
    /// and pages take their colours from one place; the default palette for any not
    /// set.
    pub fn palette(&self) -> Palette {
        let mut p = Palette::default();
        for (name, slot) in [
            ("--chart-bar", &mut p.bar),
            ("--chart-whisker", &mut p.whisker),
            ("--chart-ink", &mut p.ink),
            ("--chart-reference", &mut p.reference),
        ] {
            if let Some(c) = css_colour(&self.css, name) {
                *slot = c;
            }
        }
        p
    }

    /// Renders template `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: &tera::Context) -> Result<String, SiteError> {
        self.tera
            .render(name, ctx)
            .map_err(|e| SiteError::Template(describe(&e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_colours_come_from_the_stylesheet() {
        let c = css_colour(":root { --chart-bar: #12ab3C; --ink: #000000; }", "--chart-bar").unwrap();
        assert_eq!((c.0, c.1, c.2), (0x12, 0xab, 0x3c));
        assert!(css_colour("--chart-bar: red;", "--chart-bar").is_none());
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("static")).unwrap();
        std::fs::write(dir.path().join("static/style.css"), ":root { --chart-bar: #102030; }").unwrap();
        let theme = Theme::load(Some(dir.path())).unwrap();
        let p = theme.palette();
        assert_eq!((p.bar.0, p.bar.1, p.bar.2), (0x10, 0x20, 0x30));
        assert_eq!(p.ink.0, Palette::default().ink.0);
    }

    #[test]
    fn templates_cannot_read_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("templates")).unwrap();
        std::fs::write(
            dir.path().join("templates/probe.html"),
            "{{ get_env(name=\"HOME\", default=\"none\") }}",
        )
        .unwrap();
        let theme = Theme::load(Some(dir.path())).unwrap();
        let err = theme.render("probe.html", &tera::Context::new()).unwrap_err();
        assert!(err.to_string().contains("`get_env` is disabled"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_theme_file_linking_outside_its_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let theme = dir.path().join("theme");
        std::fs::create_dir_all(theme.join("templates")).unwrap();
        std::fs::create_dir_all(theme.join("static")).unwrap();
        let secret = dir.path().join("secret.txt");
        std::fs::write(&secret, "not for the site").unwrap();
        for link in ["templates/footer.html", "static/style.css"] {
            let _ = std::fs::remove_file(theme.join("templates/footer.html"));
            std::os::unix::fs::symlink(&secret, theme.join(link)).unwrap();
            let err = Theme::load(Some(&theme)).err().expect("refused");
            let msg = err.to_string();
            assert!(
                matches!(err, SiteError::Outside { .. }) && msg.contains("secret.txt") && msg.contains(link),
                "{link}: {msg}"
            );
        }
        // A link that stays inside the theme folder is fine.
        std::fs::remove_file(theme.join("static/style.css")).unwrap();
        std::fs::write(theme.join("static/base.css"), ":root{}").unwrap();
        std::os::unix::fs::symlink(theme.join("static/base.css"), theme.join("static/style.css")).unwrap();
        Theme::load(Some(&theme)).unwrap();
    }
}
