//! Reads the interface texts, one file per language (`locales/fr.toml`, `locales/en.toml`),
//! into the `Texts` constants of `src/ui/i18n`. French is the reference: English must have the
//! same keys, each a phrase or a plural as in French, or the build stops and says which.

use std::{env, fs, path::Path};

/// The languages: file name and the constant it becomes. The first is the reference.
const LOCALES: [(&str, &str); 2] = [("fr", "FR"), ("en", "EN")];

/// Rust's keywords, which cannot name a field of `Texts`.
const RESERVED: [&str; 51] = [
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro", "match", "mod",
    "move", "mut", "override", "priv", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true",
    "try", "type", "typeof", "union", "unsafe", "unsized", "use", "virtual", "where", "while",
];

/// One text: a phrase, or a word or phrase whose form depends on a count.
enum Text {
    Phrase(String),
    Plural { one: String, other: String },
}

impl Text {
    fn kind(&self) -> &'static str {
        match self {
            Self::Phrase(_) => "a phrase",
            Self::Plural { .. } => "a plural",
        }
    }
}

/// One language's texts, by key.
struct Language {
    code: &'static str,
    constant: &'static str,
    texts: Vec<(String, Text)>,
}

fn main() {
    let languages: Vec<Language> =
        LOCALES.iter().map(|&(code, constant)| Language { code, constant, texts: read(code) }).collect();
    let (reference, keys) = (languages[0].code, &languages[0].texts);
    let mut problems = Vec::new();
    for Language { code, texts, .. } in &languages[1..] {
        for (key, text) in keys {
            match texts.iter().find(|(k, _)| k == key) {
                None => problems.push(format!("locales/{code}.toml has no `{key}` (locales/{reference}.toml has)")),
                Some((_, t)) if t.kind() != text.kind() => problems.push(format!(
                    "`{key}` is {} in locales/{code}.toml but {} in locales/{reference}.toml",
                    t.kind(),
                    text.kind()
                )),
                Some(_) => {}
            }
        }
        for (key, _) in texts.iter().filter(|(k, _)| !keys.iter().any(|(r, _)| r == k)) {
            problems.push(format!("locales/{code}.toml has `{key}`, which locales/{reference}.toml has not"));
        }
    }
    assert!(problems.is_empty(), "the languages differ:\n  {}", problems.join("\n  "));

    let names = |plural: bool| -> String {
        let names: Vec<&str> =
            keys.iter().filter(|(_, t)| matches!(t, Text::Plural { .. }) == plural).map(|(k, _)| k.as_str()).collect();
        names.join(", ")
    };
    let mut code = format!("texts! {{ phrases {{ {} }} plurals {{ {} }} }}\n", names(false), names(true));
    for Language { code: language, constant, texts } in &languages {
        code.push_str(&format!(
            "/// The texts of `locales/{language}.toml`.\npub const {constant}: Texts = Texts {{\n"
        ));
        for (key, text) in texts {
            code.push_str(&match text {
                Text::Phrase(s) => format!("    {key}: {s:?},\n"),
                Text::Plural { one, other } => format!("    {key}: Plural {{ one: {one:?}, other: {other:?} }},\n"),
            });
        }
        code.push_str("};\n");
    }
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("texts.rs");
    fs::write(&out, code).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}

/// The texts of `locales/{code}.toml`, by key.
fn read(code: &str) -> Vec<(String, Text)> {
    let path = format!("locales/{code}.toml");
    println!("cargo:rerun-if-changed={path}");
    let source = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let table: toml::Table = source.parse().unwrap_or_else(|e| panic!("{path}: {e}"));
    table
        .into_iter()
        .map(|(key, value)| {
            let identifier = key.starts_with(|c: char| c.is_ascii_lowercase())
                && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !RESERVED.contains(&key.as_str());
            assert!(identifier, "{path}: `{key}` is not a key (lower case letters, digits and _; not a Rust keyword)");
            let text = match value {
                toml::Value::String(phrase) => Text::Phrase(phrase),
                toml::Value::Table(mut forms) => {
                    let mut form = |name: &str| match forms.remove(name) {
                        Some(toml::Value::String(s)) => s,
                        _ => panic!("{path}: `{key}` needs `{name}`, a string"),
                    };
                    let (one, other) = (form("one"), form("other"));
                    assert!(forms.is_empty(), "{path}: `{key}` has forms other than `one` and `other`");
                    Text::Plural { one, other }
                }
                _ => panic!("{path}: `{key}` is neither a phrase (a string) nor a plural (`one` and `other`)"),
            };
            (key, text)
        })
        .collect()
}
