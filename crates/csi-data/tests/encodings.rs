//! Text encodings: a CSV file saved as GB18030, Big5 or UTF-16 reads as its UTF-8
//! copy does when the study declares the encoding (or a byte-order mark says it),
//! and a file that is not UTF-8 with no encoding declared is refused with the
//! likely encoding named and the key to set.

use arrow_array::{Array, Float64Array, StringArray};
use csi_data::{scan, ColumnKind, ColumnPlan, DataFile, DataPolicy};

/// The plan of a measure, a weight and a city, named in simplified or traditional
/// characters.
fn plan(traditional: bool) -> Vec<ColumnPlan> {
    let [measure, weight] = if traditional {
        ["滿意度", "權重"]
    } else {
        ["满意度", "权重"]
    };
    vec![
        ColumnPlan {
            name: measure.into(),
            kind: ColumnKind::Measure {
                min: 1.0,
                max: 10.0,
                missing: vec![99.0],
            },
        },
        ColumnPlan {
            name: weight.into(),
            kind: ColumnKind::Weight,
        },
        ColumnPlan {
            name: "城市".into(),
            kind: ColumnKind::Category {
                codes: vec!["北京".into(), "上海".into(), "臺北".into()],
            },
        },
    ]
}

const TEXT: &str =
    "编号,满意度,权重,城市,备注\n1,7,1.5,北京,很好\n2,99,0.5,上海,\"一般,还行\"\n3,,2,臺北,\n4,9,1,北京,满意\n";

/// The same answers in traditional characters (Big5 has no simplified ones).
const TRADITIONAL: &str =
    "編號,滿意度,權重,城市,備註\n1,7,1.5,北京,很好\n2,99,0.5,上海,\"一般,還行\"\n3,,2,臺北,\n4,9,1,北京,滿意\n";

type Rows = Vec<(Option<f64>, f64, Option<String>)>;

fn read(file: &DataFile) -> Result<Rows, String> {
    read_as(file, false)
}

fn read_as(file: &DataFile, traditional: bool) -> Result<Rows, String> {
    let mut rows = Vec::new();
    scan(file, &plan(traditional), &DataPolicy::default(), &mut |b| {
        let q = b.column(0).as_any().downcast_ref::<Float64Array>().unwrap();
        let w = b.column(1).as_any().downcast_ref::<Float64Array>().unwrap();
        let s = b.column(2).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            rows.push((
                (!q.is_null(i)).then(|| q.value(i)),
                w.value(i),
                (!s.is_null(i)).then(|| s.value(i).to_string()),
            ));
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    Ok(rows)
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn utf16(text: &str, little_endian: bool, mark: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    let units = mark.then_some(0xFEFF).into_iter().chain(text.encode_utf16());
    for u in units {
        bytes.extend(if little_endian {
            u.to_le_bytes()
        } else {
            u.to_be_bytes()
        });
    }
    bytes
}

#[test]
fn declared_encodings_read_as_the_utf8_copy() {
    let dir = tempfile::tempdir().unwrap();
    let want = read(&DataFile::new(write(&dir, "utf8.csv", TEXT.as_bytes()))).unwrap();
    assert_eq!(want.len(), 4);
    assert_eq!(want[2].2.as_deref(), Some("臺北"));
    let (gb, _, lossy) = encoding_rs::GB18030.encode(TEXT);
    assert!(!lossy);
    let (big5, _, lossy) = encoding_rs::BIG5.encode(TRADITIONAL);
    assert!(!lossy);
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        ("gb18030.csv", gb.to_vec(), Some("gb18030")),
        ("gbk.csv", gb.to_vec(), Some("GBK")),
        ("utf16le-mark.csv", utf16(TEXT, true, true), None),
        ("utf16be-mark.csv", utf16(TEXT, false, true), None),
        ("utf16le.csv", utf16(TEXT, true, false), Some("utf-16le")),
        ("utf16be.csv", utf16(TEXT, false, false), Some("utf-16be")),
        // A UTF-16 mark decides the byte order of a file declared UTF-16.
        (
            "utf16be-mark-declared-le.csv",
            utf16(TEXT, false, true),
            Some("utf-16le"),
        ),
        ("utf8-declared.csv", TEXT.as_bytes().to_vec(), Some("utf-8")),
    ];
    for (name, bytes, label) in cases {
        let mut file = DataFile::new(write(&dir, name, &bytes));
        if let Some(label) = label {
            file = file.with_encoding(label).expect("a known label");
        }
        assert_eq!(read(&file).as_ref(), Ok(&want), "{name}");
    }
    let file = DataFile::new(write(&dir, "big5.csv", &big5))
        .with_encoding("big5")
        .unwrap();
    assert_eq!(read_as(&file, true), Ok(want));
    // A mark that says another encoding than the one declared is refused.
    let marked = [&[0xEF, 0xBB, 0xBF][..], TEXT.as_bytes()].concat();
    let file = DataFile::new(write(&dir, "marked-utf8-declared-gb.csv", &marked))
        .with_encoding("gb18030")
        .unwrap();
    let err = read(&file).unwrap_err();
    assert!(
        err.contains(":1:") && err.contains("UTF-8 byte-order mark") && err.contains("`encoding: gb18030`"),
        "{err}"
    );
    // HZ (a label WHATWG maps to its replacement encoding) cannot be declared.
    assert!(DataFile::new(&file.path).with_encoding("hz-gb-2312").is_none());
}

/// A problem in a decoded file is reported at its line in the file.
#[test]
fn problems_in_decoded_text_are_at_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let text = TEXT.replacen("1,7,1.5", "1,七,1.5", 1);
    let (gb, _, _) = encoding_rs::GB18030.encode(&text);
    for (name, bytes, label) in [
        ("bad-gb.csv", gb.to_vec(), "gb18030"),
        ("bad-utf16.csv", utf16(&text, true, false), "utf-16le"),
    ] {
        let file = DataFile::new(write(&dir, name, &bytes)).with_encoding(label).unwrap();
        let utf8 = DataFile::new(write(&dir, "bad.csv", text.as_bytes()));
        let (err, want) = (read(&file).unwrap_err(), read(&utf8).unwrap_err());
        assert_eq!(err.replace(name, "bad.csv"), want, "{name}");
        assert!(err.contains("line 2: `七`"), "{err}");
    }
}

#[test]
fn text_that_is_not_utf8_names_its_likely_encoding() {
    let dir = tempfile::tempdir().unwrap();
    // Enough text for the guess to be sure of itself.
    let mut text = TEXT.to_string();
    for i in 5..200 {
        text.push_str(&format!("{i},8,1,上海,服务态度很好，网络信号稳定，资费比较合理\n"));
    }
    let (gb, _, _) = encoding_rs::GB18030.encode(&text);
    let path = write(&dir, "gbk.csv", &gb);
    let err = read(&DataFile::new(&path)).unwrap_err();
    assert!(
        err.contains("not UTF-8") && err.contains("looks like gb18030 text") && err.contains("`encoding: gb18030`"),
        "{err}"
    );
    assert!(DataFile::new(&path).with_encoding("klingon").is_none());
    // Two Chinese characters are too little to guess from: the common encodings.
    let (few, _, _) = encoding_rs::GB18030.encode("编号,满意度,权重,城市,备注\n1,8,1,上海,\n");
    let err = read(&DataFile::new(write(&dir, "few.csv", &few))).unwrap_err();
    assert!(
        !err.contains("looks like") && err.contains("`encoding: big5`") && err.contains("`encoding: windows-1252`"),
        "{err}"
    );
    // UTF-16 without a mark, ASCII header (valid UTF-8 bytes, with zeros).
    for (name, little, label) in [("le.csv", true, "utf-16le"), ("be.csv", false, "utf-16be")] {
        let err = read(&DataFile::new(write(&dir, name, &utf16(TEXT, little, false)))).unwrap_err();
        assert!(err.contains(&format!("looks like {label} text")), "{name}: {err}");
    }
}
