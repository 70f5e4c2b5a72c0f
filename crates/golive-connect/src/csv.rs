//! A CSV list export read as it streams in: bytes are fed in chunks of any
//! size and every complete row is handed over at once, so memory stays at
//! one row (each field capped) whatever the export's length. Quoted fields
//! may hold commas, quotes (`""`) and line breaks.

use csv_core::{ReadFieldResult, Reader};

/// Longest field kept (bytes): a row with a longer one is refused, naming
/// the column, without holding the rest of it.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;
/// Most columns a header or row may have.
pub const MAX_FIELDS: usize = 1024;

/// What the stream hands over.
#[derive(Debug, PartialEq, Eq)]
pub enum CsvItem<'a> {
    /// The header row (field names, trimmed, byte-order mark removed).
    Header(&'a [String]),
    /// Data row `number` (counted from 1 after the header), with the
    /// header its fields are named by.
    Row {
        number: usize,
        header: &'a [String],
        fields: &'a [String],
    },
    /// Data row `number` cannot be read: `column` names the field.
    Bad {
        number: usize,
        column: String,
        why: String,
    },
}

/// The streaming reader (see the module documentation).
pub struct CsvStream {
    reader: Reader,
    field: Vec<u8>,
    field_too_long: bool,
    row: Vec<String>,
    /// The first problem of the current row: (column index, why).
    row_problem: Option<(usize, String)>,
    header: Option<Vec<String>>,
    rows: usize,
    /// The first bytes, held until it is clear whether they are a UTF-8
    /// byte-order mark (which must not reach the parser: it would make the
    /// first header field unquotable); `None` once decided.
    start: Option<Vec<u8>>,
}

const BOM: &[u8] = b"\xef\xbb\xbf";

impl Default for CsvStream {
    fn default() -> Self {
        CsvStream::new()
    }
}

impl CsvStream {
    pub fn new() -> Self {
        CsvStream {
            reader: Reader::new(),
            field: Vec::new(),
            field_too_long: false,
            row: Vec::new(),
            row_problem: None,
            header: None,
            rows: 0,
            start: Some(Vec::new()),
        }
    }

    /// The header, once read.
    pub fn header(&self) -> Option<&[String]> {
        self.header.as_deref()
    }

    /// Reads `chunk`, handing over every row it completes.
    pub fn feed(&mut self, chunk: &[u8], on_item: &mut dyn FnMut(CsvItem<'_>)) {
        self.read(chunk, false, on_item);
    }

    /// The input ended: hands over a last row without a final newline.
    pub fn finish(&mut self, on_item: &mut dyn FnMut(CsvItem<'_>)) {
        self.read(&[], true, on_item);
    }

    fn read(&mut self, input: &[u8], at_end: bool, on_item: &mut dyn FnMut(CsvItem<'_>)) {
        let Some(mut start) = self.start.take() else {
            return self.parse(input, at_end, on_item);
        };
        let take = (BOM.len() - start.len()).min(input.len());
        start.extend_from_slice(&input[..take]);
        let rest = &input[take..];
        if start.len() < BOM.len() && BOM.starts_with(&start) && !at_end {
            self.start = Some(start);
            return;
        }
        if start != BOM {
            self.parse(&start, false, on_item);
        }
        self.parse(rest, at_end, on_item);
    }

    fn parse(&mut self, mut input: &[u8], at_end: bool, on_item: &mut dyn FnMut(CsvItem<'_>)) {
        let mut buffer = [0u8; 8192];
        loop {
            // An empty input tells the parser the stream ended.
            if input.is_empty() && !at_end {
                return;
            }
            let (result, read, written) = self.reader.read_field(input, &mut buffer);
            input = &input[read..];
            self.keep(&buffer[..written]);
            match result {
                ReadFieldResult::InputEmpty | ReadFieldResult::OutputFull => {}
                ReadFieldResult::Field { record_end } => {
                    self.end_field();
                    if record_end {
                        self.end_row(on_item);
                    }
                }
                ReadFieldResult::End => return,
            }
        }
    }

    fn keep(&mut self, bytes: &[u8]) {
        if self.field.len() + bytes.len() > MAX_FIELD_BYTES {
            self.field_too_long = true;
        } else {
            self.field.extend_from_slice(bytes);
        }
    }

    fn end_field(&mut self) {
        let column = self.row.len();
        let text = if self.field_too_long {
            self.problem(column, format!("is longer than {MAX_FIELD_BYTES} bytes"));
            String::new()
        } else {
            match std::str::from_utf8(&self.field) {
                Ok(text) => text.to_string(),
                Err(_) => {
                    self.problem(column, "is not UTF-8 text".to_string());
                    String::new()
                }
            }
        };
        self.field.clear();
        self.field_too_long = false;
        if self.row.len() < MAX_FIELDS {
            self.row.push(text);
        } else {
            self.problem(column, format!("is past the {MAX_FIELDS}-column limit"));
        }
    }

    fn problem(&mut self, column: usize, why: String) {
        if self.row_problem.is_none() {
            self.row_problem = Some((column, why));
        }
    }

    fn end_row(&mut self, on_item: &mut dyn FnMut(CsvItem<'_>)) {
        let problem = self.row_problem.take();
        let blank = self.row.iter().all(|f| f.trim().is_empty()) && problem.is_none();
        if blank {
            self.row.clear();
            return;
        }
        match &self.header {
            None => {
                let mut header: Vec<String> = self
                    .row
                    .drain(..)
                    .map(|name| name.trim().to_string())
                    .collect();
                if let Some(first) = header.first_mut() {
                    *first = first.trim_start_matches('\u{feff}').trim().to_string();
                }
                on_item(CsvItem::Header(&header));
                self.header = Some(header);
            }
            Some(header) => {
                self.rows += 1;
                let number = self.rows;
                let column_name = |index: usize| {
                    header
                        .get(index)
                        .cloned()
                        .unwrap_or_else(|| format!("column {}", index + 1))
                };
                if let Some((column, why)) = problem {
                    on_item(CsvItem::Bad {
                        number,
                        column: column_name(column),
                        why,
                    });
                } else if self.row.len() > header.len() {
                    on_item(CsvItem::Bad {
                        number,
                        column: column_name(header.len()),
                        why: format!(
                            "the row has {} fields, the header {}",
                            self.row.len(),
                            header.len()
                        ),
                    });
                } else {
                    on_item(CsvItem::Row {
                        number,
                        header,
                        fields: &self.row,
                    });
                }
                self.row.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every item as text, feeding `input` in chunks of `size` bytes.
    fn items(input: &[u8], size: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut stream = CsvStream::new();
        let mut push = |item: CsvItem<'_>| out.push(format!("{item:?}"));
        for chunk in input.chunks(size) {
            stream.feed(chunk, &mut push);
        }
        stream.finish(&mut push);
        out
    }

    #[test]
    fn quoted_multiline_fields_in_any_chunking() {
        let input = "\u{feff}\"number\",\"short_description\",\"priority\"\r\n\
            \"INC1\",\"line one\nline \"\"two\"\", with comma\",\"1 - Critical\"\r\n\
            \r\n\
            \"INC2\",\"\",\"2 - High\"";
        let whole = items(input.as_bytes(), input.len());
        assert_eq!(whole.len(), 3, "{whole:?}");
        assert!(whole[0].contains("\"number\""));
        assert!(whole[1].contains("line one\\nline \\\"two\\\", with comma"));
        assert!(whole[2].contains("number: 2"));
        assert!(whole[2].contains("header: [\"number\""));
        for size in [1, 2, 7, 64] {
            assert_eq!(items(input.as_bytes(), size), whole, "chunks of {size}");
        }
    }

    #[test]
    fn bad_rows_name_their_column_and_memory_stays_bounded() {
        let mut input = b"number,location\nINC1,".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_FIELD_BYTES + 10));
        input.extend(b"\nINC2,\xff\xfe\nINC3,a,b\nINC4,Main\n");
        let out = items(&input, 1000);
        assert!(out[1].contains("Bad") && out[1].contains("location") && out[1].contains("longer"));
        assert!(out[2].contains("UTF-8"));
        assert!(out[3].contains("3 fields"));
        assert!(out[4].contains("INC4"));
    }
}
