package report

import (
	"io"
	"strconv"
	"unicode/utf8"
)

// Text output reaches terminals. A file name, an object name or a policy's
// message is text the user does not control (a repository, a custom
// policy's sprintf), so a control character in it must not reach the
// terminal raw: ESC starts a terminal escape (clear the screen, set the
// title, move the cursor), CR returns to the start of the line, LF starts a
// line that could pass for a DENY or PASS line, NUL and C1 codes confuse
// terminals and log viewers, and the bidi overrides reorder what is shown.
//
// Quote writes those as Go escapes (\n, \r, \t, \x1b, \u009b, \u202e),
// like strconv.Quote but for them only: printable text, Unicode
// included, is kept as it is, and so are backslashes and quotes. Bytes that
// are not UTF-8 are written \xNN.

// Quote returns s with its control characters escaped, for one field of a
// line of text output.
func Quote(s string) string {
	if !needsQuote(s, quoteAll) {
		return s
	}
	return string(appendQuoted(make([]byte, 0, len(s)+8), s, quoteAll))
}

// QuoteLines is Quote but keeps the newlines: for text made of lines, each
// of which is printed as a line of its own.
func QuoteLines(s string) string {
	if !needsQuote(s, keepLF) {
		return s
	}
	return string(appendQuoted(make([]byte, 0, len(s)+8), s, keepLF))
}

// mode tells which characters of the control set are kept as they are.
type mode uint8

const (
	quoteAll     mode = iota // a field: every control character
	keepLF                   // lines: newlines kept
	keepLFAndTab             // a stream (Terminal): newlines and tabs kept
)

// escaped reports whether r is written escaped in mode m.
func escaped(r rune, m mode) bool {
	switch {
	case r == '\n':
		return m == quoteAll
	case r == '\t':
		return m != keepLFAndTab
	case r < 0x20, r == 0x7f: // C0, DEL
		return true
	case r >= 0x80 && r < 0xa0: // C1: 0x9b is CSI, 0x9d OSC
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c: // bidi controls
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}

func needsQuote(s string, m mode) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if escaped(rune(c), m) {
				return true
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || escaped(r, m) {
			return true
		}
		i += n
	}
	return false
}

func appendQuoted(b []byte, s string, m mode) []byte {
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
		}
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, `\x`...)
			b = appendHex(b, uint64(s[i]), 2)
		case !escaped(r, m):
			b = append(b, s[i:i+n]...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r < utf8.RuneSelf:
			b = append(b, `\x`...)
			b = appendHex(b, uint64(r), 2) //nolint:gosec // r < utf8.RuneSelf here: not negative
		default:
			b = append(b, `\u`...)
			b = appendHex(b, uint64(r), 4)
		}
		i += n
	}
	return b
}

func appendHex(b []byte, v uint64, width int) []byte {
	h := strconv.FormatUint(v, 16)
	for range width - len(h) {
		b = append(b, '0')
	}
	return append(b, h...)
}

// Terminal is a writer that quotes the control characters of what is
// written through it, newlines and tabs excepted (see Quote), whatever
// wrote it: the CLI puts it in front of its standard output and error, so
// that a line no writer quoted still cannot drive the terminal. A newline
// in a field must be quoted by the writer of that line (Quote), since here
// it cannot be told from the end of a line. JSON, SARIF and JUnit pass
// unchanged: they hold no raw control character but newlines and tabs
// (and a raw C1 or bidi character in a JSON string becomes its \u escape,
// the same string).
//
// A character split across two writes is held until the next write or
// Flush.
type Terminal struct {
	w       io.Writer
	pending []byte // the start of a UTF-8 sequence cut by a write
	buf     []byte
}

// NewTerminal returns a Terminal writing to w.
func NewTerminal(w io.Writer) *Terminal { return &Terminal{w: w} }

func (t *Terminal) Write(p []byte) (int, error) {
	n := len(p)
	if len(t.pending) > 0 {
		p = append(t.pending, p...)
		t.pending = nil
	}
	// Hold an incomplete UTF-8 sequence at the end for the next write.
	if cut := incompleteTail(p); cut > 0 {
		t.pending = append([]byte(nil), p[len(p)-cut:]...)
		p = p[:len(p)-cut]
	}
	s := string(p)
	if !needsQuote(s, keepLFAndTab) {
		_, err := t.w.Write(p)
		return n, err
	}
	t.buf = appendQuoted(t.buf[:0], s, keepLFAndTab)
	_, err := t.w.Write(t.buf)
	return n, err
}

// Flush writes a held incomplete character, quoted.
func (t *Terminal) Flush() error {
	if len(t.pending) == 0 {
		return nil
	}
	b := appendQuoted(nil, string(t.pending), keepLFAndTab)
	t.pending = nil
	_, err := t.w.Write(b)
	return err
}

// incompleteTail is the length of an incomplete UTF-8 sequence at the end
// of p that a later byte could complete, or 0.
func incompleteTail(p []byte) int {
	for i := 1; i <= utf8.UTFMax-1 && i <= len(p); i++ {
		c := p[len(p)-i]
		if c < utf8.RuneSelf {
			return 0
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(p[len(p)-i:]) {
				return i
			}
			return 0
		}
	}
	return 0
}

// Unwrap returns the writer under t, for output whose own format keeps
// control characters out (an iCalendar feed, whose lines end in CRLF).
// Anything held for t must be flushed first.
func (t *Terminal) Unwrap() io.Writer { return t.w }
