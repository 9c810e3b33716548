//! The shipper's routing, transport-neutral: blocks of complete lines in (from a file, a
//! stream or follow mode), one [`OutLine`] per non-empty line out — with the source the
//! engine will give the line (a JSON line's own `source` field, else the input's label),
//! its subject token and partition, its number in its file, and its message id. Reading
//! inputs is the caller's; publishing is the [`LineSink`]'s.

use crate::error::Result;
use crate::layout::Layout;
use crate::partition::partition_of;
use crate::transport::{LineSink, OutLine, ShipCounts};
use crate::{token, wire};
use trace_sentinel_core::engine::{InputFormat, LineParser};
use trace_sentinel_core::extract::LineMeter;
use trace_sentinel_core::input::Piece;
use trace_sentinel_core::LineCursor;

/// Routes lines to partitions and hands them to a [`LineSink`].
pub struct Shipper<S: LineSink> {
    sink: S,
    layout: Layout,
    format: InputFormat,
    /// Reads a JSON line's source exactly as the worker's engine will.
    parser: LineParser,
    /// Longest payload sent whole; longer lines go as their prefix with their measures.
    cap: usize,
    meter: LineMeter,
    source: String,
    token: String,
    msg_id: String,
    /// Lines shipped in this run (the id of a line whose number is unknown).
    ordinal: u64,
    lines: u64,
    bytes: u64,
    cut: u64,
}

impl<S: LineSink> Shipper<S> {
    /// A shipper publishing into `sink` by `layout`; JSON lines (`format`) are routed by
    /// their `source` field. Lines longer than `cap` bytes are sent as their first `cap`
    /// bytes with the whole line's measures.
    pub fn new(sink: S, layout: Layout, format: InputFormat, cap: usize) -> Self {
        Shipper {
            sink,
            layout,
            format,
            parser: LineParser::new(format, false),
            cap: cap.max(1),
            meter: LineMeter::new(),
            source: String::new(),
            token: String::new(),
            msg_id: String::new(),
            ordinal: 0,
            lines: 0,
            bytes: 0,
            cut: 0,
        }
    }

    /// Ship what a reader handed out: each line of a block (numbered by `cursor`, which
    /// moves past them), or one over-long line. `default_source` labels plain-text lines
    /// and JSON lines without a source; `tag` is the file's [`wire::file_tag`].
    pub fn ship_piece(
        &mut self,
        piece: Piece<'_>,
        default_source: &str,
        cursor: &mut LineCursor,
        tag: u64,
    ) -> Result<()> {
        match piece {
            Piece::Block(block) => {
                for (n, line) in cursor.lines(block) {
                    self.ship_line(line, n, default_source, tag, None)?;
                }
                Ok(())
            }
            Piece::Long {
                prefix,
                chars,
                words,
            } => {
                let n = cursor.next_line();
                cursor.advance_line();
                self.ship_line(prefix, n, default_source, tag, Some((chars, words)))
            }
        }
    }

    fn ship_line(
        &mut self,
        line: &[u8],
        number: Option<u64>,
        default_source: &str,
        tag: u64,
        mut long: Option<(u64, u64)>,
    ) -> Result<()> {
        let mut payload = line;
        if long.is_none() && line.len() > self.cap {
            self.meter.feed(line);
            long = Some(self.meter.finish());
            payload = &line[..self.cap];
        }
        if long.is_some() {
            self.cut += 1;
        }
        self.source.clear();
        match (self.format, long) {
            // The engine reads an over-long line as raw text, also in JSON-lines mode.
            (InputFormat::JsonLines, None) => {
                let source = &mut self.source;
                let parsed = self
                    .parser
                    .parse(payload, default_source, |ev| source.push_str(ev.source()));
                if parsed.is_none() {
                    // A blank line: the engine skips it, so it is not shipped.
                    return Ok(());
                }
            }
            _ => self.source.push_str(default_source),
        }
        self.token.clear();
        token::encode_into(&self.source, &mut self.token);
        let partition = partition_of(&self.token, self.layout.partitions);
        self.ordinal += 1;
        wire::line_msg_id(&mut self.msg_id, tag, number, self.ordinal, line);
        self.lines += 1;
        self.bytes += line.len() as u64;
        self.sink.send(&OutLine {
            partition,
            token: &self.token,
            source: &self.source,
            line: number,
            msg_id: &self.msg_id,
            payload,
            long,
            jsonl: self.format == InputFormat::JsonLines,
        })
    }

    /// Put the lines shipped so far on the wire, without waiting for their
    /// acknowledgements (when the input pauses).
    pub fn push(&mut self) -> Result<()> {
        self.sink.push()
    }

    /// Wait until every line shipped so far is stored.
    pub fn flush(&mut self) -> Result<()> {
        self.sink.flush()
    }

    /// Lines handed to the sink, their bytes, and how many went as a prefix.
    pub fn shipped(&self) -> (u64, u64, u64) {
        (self.lines, self.bytes, self.cut)
    }

    /// The sink's counts.
    pub fn counts(&self) -> ShipCounts {
        self.sink.counts()
    }

    /// The sink.
    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line as sent: partition, token, source, number, payload, whole-line measures.
    type KeptLine = (
        u32,
        String,
        String,
        Option<u64>,
        Vec<u8>,
        Option<(u64, u64)>,
    );

    /// Keeps what it is sent.
    #[derive(Default)]
    struct Kept(Vec<KeptLine>);

    impl LineSink for Kept {
        fn send(&mut self, l: &OutLine<'_>) -> Result<()> {
            self.0.push((
                l.partition,
                l.token.to_string(),
                l.source.to_string(),
                l.line,
                l.payload.to_vec(),
                l.long,
            ));
            Ok(())
        }
        fn flush(&mut self) -> Result<()> {
            Ok(())
        }
        fn counts(&self) -> ShipCounts {
            ShipCounts::default()
        }
    }

    #[test]
    fn json_lines_are_routed_by_their_source_and_numbered() {
        let mut s = Shipper::new(
            Kept::default(),
            Layout::new("logs", 4),
            InputFormat::JsonLines,
            64,
        );
        let mut cursor = LineCursor::default();
        let block = b"{\"source\": \"api.gw\", \"message\": \"a\"}\r\n\n  \n{\"message\": \"b\"}\nnot json\n";
        s.ship_piece(Piece::Block(block), "file.log", &mut cursor, 1)
            .unwrap();
        let long = vec![b'x'; 100];
        s.ship_piece(Piece::Block(&long), "file.log", &mut cursor, 1)
            .unwrap();
        let got = &s.sink.0;
        let sources: Vec<(&str, &str, Option<u64>)> = got
            .iter()
            .map(|g| (g.1.as_str(), g.2.as_str(), g.3))
            .collect();
        assert_eq!(
            sources,
            [
                ("api~2Egw", "api.gw", Some(1)),
                ("file~2Elog", "file.log", Some(4)),
                ("file~2Elog", "file.log", Some(5)),
                ("file~2Elog", "file.log", Some(6)),
            ]
        );
        for g in got {
            assert_eq!(g.0, partition_of(&g.1, 4));
        }
        assert_eq!(got[3].4.len(), 64);
        assert_eq!(got[3].5, Some((100, 1)));
        assert_eq!(s.shipped(), (4, 36 + 16 + 8 + 100, 1));
    }
}
