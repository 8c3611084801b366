package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, Ünïcødé 日本語 ✓":    "plain text, Ünïcødé 日本語 ✓",
		`back\slash "quotes" %q`:       `back\slash "quotes" %q`,
		"\x1b[2J\r\n\t\x00\x07\x7f":    `\x1b[2J\r\n\t\x00\x07\x7f`,
		"c1 \u009b31m nel \u0085":      `c1 \u009b31m nel \u0085`,
		"bidi \u202eevil\u202c \u2066": `bidi \u202eevil\u202c \u2066`,
		"bad utf-8 \xff\x9b":           `bad utf-8 \xff\x9b`,
		"ls \u2028 ps \u2029":          `ls \u2028 ps \u2029`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %q, want %q", in, got, want)
		}
	}
	if got := QuoteLines("a\x1b\nb\tc\r"); got != "a\\x1b\nb\\tc\\r" {
		t.Errorf("QuoteLines: %q", got)
	}
}

// The Terminal quotes what it is given whatever the writes' boundaries
// (a character cut in two), and leaves JSON as it is.
func TestTerminal(t *testing.T) {
	in := "ok\tline\n\x1b[31mred\u202e日本\u009b\n"
	want := "ok\tline\n\\x1b[31mred\\u202e日本\\u009b\n"
	for split := range len(in) + 1 {
		var b bytes.Buffer
		term := NewTerminal(&b)
		for _, part := range []string{in[:split], in[split:]} {
			if n, err := term.Write([]byte(part)); err != nil || n != len(part) {
				t.Fatalf("Write: %d, %v", n, err)
			}
		}
		if err := term.Flush(); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("split at %d: %q, want %q", split, b.String(), want)
		}
	}
	// A cut character never completed is written quoted by Flush.
	var b bytes.Buffer
	term := NewTerminal(&b)
	_, _ = term.Write([]byte("x\xe6\x97"))
	_ = term.Flush()
	if b.String() != `x\xe6\x97` {
		t.Errorf("flush: %q", b.String())
	}

	// JSON keeps its meaning.
	v := map[string]string{"msg": "a\x1b\r\n\u202e\u0085b"}
	j, _ := json.MarshalIndent(v, "", "\t")
	b.Reset()
	term = NewTerminal(&b)
	_, _ = term.Write(j)
	_ = term.Flush()
	var got map[string]string
	if err := json.Unmarshal(b.Bytes(), &got); err != nil || got["msg"] != v["msg"] {
		t.Errorf("JSON through the terminal: %q: %v %q", b.String(), err, got)
	}
	if strings.ContainsAny(b.String(), "\u202e\u0085") {
		t.Errorf("raw characters left: %q", b.String())
	}
}

// The text report quotes every field: a message cannot forge a line.
func TestTextQuotesFields(t *testing.T) {
	rs := reports()
	rs[0].File = "w\x1b[2J.yaml"
	rs[0].Results[0].Message = "tag latest\n  DENY   forged (high) \r"
	rs[0].Results[0].Remediation = "pin\x00"
	var b bytes.Buffer
	w := NewText(&b)
	if err := w.Object(rs[0]); err != nil {
		t.Fatal(err)
	}
	if err := w.End(Summary{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`w\x1b[2J.yaml:3: MarketingWorkload shop/promo`,
		`spec.image: tag latest\n  DENY   forged (high) \r`,
		`fix: pin\x00`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Count(b.String(), "\n  DENY ") != 1 {
		t.Errorf("a forged line:\n%s", b.String())
	}
}
