// Package taxonomy embeds the fideslang default taxonomy (data categories,
// data uses and data subjects) and answers questions about its keys: whether
// a key is known, which known keys are nearest to a misspelt one, and whether
// one dotted key lies within another.
//
// The taxonomy is by Ethyca (github.com/ethyca/fideslang) and is licensed
// CC BY 4.0; see ATTRIBUTION.md and Attribution.
package taxonomy

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// Kind is the kind of a taxonomy entry.
type Kind string

// The three kinds of entry in the fideslang taxonomy.
const (
	DataCategory Kind = "data_category"
	DataUse      Kind = "data_use"
	DataSubject  Kind = "data_subject"
)

// valid reports whether k is one of the three known kinds.
func (k Kind) valid() bool {
	switch k {
	case DataCategory, DataUse, DataSubject:
		return true
	}
	return false
}

// Entry is one row of the taxonomy.
type Entry struct {
	Kind Kind
	Key  string // dotted fides_key, e.g. "user.contact.email"
	Name string // human-readable name, e.g. "User Contact Email"
}

// Taxonomy is a parsed taxonomy. It is immutable after Parse and safe for
// concurrent use.
type Taxonomy struct {
	byKey  map[Kind]map[string]Entry
	sorted map[Kind][]Entry // sorted by Key
}

//go:embed fideslang-default-taxonomy.tsv
var defaultTSV []byte

var (
	defaultOnce sync.Once
	defaultTax  *Taxonomy
)

// Default returns the embedded fideslang default taxonomy. It is parsed once;
// Default panics only if the embedded file is malformed.
func Default() *Taxonomy {
	defaultOnce.Do(func() {
		t, err := Parse(bytes.NewReader(defaultTSV))
		if err != nil {
			panic("taxonomy: embedded fideslang-default-taxonomy.tsv: " + err.Error())
		}
		defaultTax = t
	})
	return defaultTax
}

// Attribution returns the attribution text of the embedded taxonomy: its
// comment lines with the leading "#" (and one following space) removed,
// joined by newlines. The column-header comment ("kind<TAB>key<TAB>name") is
// left out, since it is not part of the attribution.
func Attribution() string {
	var lines []string
	for line := range strings.Lines(string(defaultTSV)) {
		line = strings.TrimRight(line, "\r\n")
		if !strings.HasPrefix(line, "#") {
			continue
		}
		text := strings.TrimPrefix(strings.TrimPrefix(line, "#"), " ")
		if strings.Join(strings.Fields(text), " ") == "kind key name" {
			continue
		}
		lines = append(lines, text)
	}
	return strings.Join(lines, "\n")
}

// Parse reads a taxonomy in TSV form: one entry per line with the three
// tab-separated columns kind, key and name. Lines starting with '#' are
// comments and blank lines are ignored. Errors name the offending line
// number (counting from 1).
func Parse(r io.Reader) (*Taxonomy, error) {
	t := &Taxonomy{
		byKey:  make(map[Kind]map[string]Entry),
		sorted: make(map[Kind][]Entry),
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		e, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("taxonomy: line %d: %w", lineNo, err)
		}
		m := t.byKey[e.Kind]
		if m == nil {
			m = make(map[string]Entry)
			t.byKey[e.Kind] = m
		}
		if _, dup := m[e.Key]; dup {
			return nil, fmt.Errorf("taxonomy: line %d: duplicate %s %q", lineNo, e.Kind, e.Key)
		}
		m[e.Key] = e
		t.sorted[e.Kind] = append(t.sorted[e.Kind], e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("taxonomy: line %d: %w", lineNo+1, err)
	}
	for _, entries := range t.sorted {
		slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Key, b.Key) })
	}
	return t, nil
}

func parseLine(line string) (Entry, error) {
	fields := strings.Split(line, "\t")
	if len(fields) != 3 {
		return Entry{}, fmt.Errorf("want 3 tab-separated fields (kind, key, name), got %d", len(fields))
	}
	kind, key, name := Kind(fields[0]), fields[1], fields[2]
	if !kind.valid() {
		return Entry{}, fmt.Errorf("unknown kind %q (want %s, %s or %s)", fields[0], DataCategory, DataUse, DataSubject)
	}
	if key == "" {
		return Entry{}, errors.New("empty key")
	}
	if strings.ContainsFunc(key, isSpace) {
		return Entry{}, fmt.Errorf("key %q contains whitespace", key)
	}
	if slices.Contains(strings.Split(key, "."), "") {
		return Entry{}, fmt.Errorf("key %q has an empty dotted segment", key)
	}
	if strings.TrimSpace(name) == "" {
		return Entry{}, fmt.Errorf("empty name for key %q", key)
	}
	return Entry{Kind: kind, Key: key, Name: name}, nil
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\v', '\f', 0x85, 0xA0:
		return true
	}
	return false
}

// Known reports whether key is a known key of the given kind.
func (t *Taxonomy) Known(kind Kind, key string) bool {
	_, ok := t.byKey[kind][key]
	return ok
}

// Lookup returns the entry for key of the given kind, if known.
func (t *Taxonomy) Lookup(kind Kind, key string) (Entry, bool) {
	e, ok := t.byKey[kind][key]
	return e, ok
}

// Entries returns the entries of the given kind sorted by key. The returned
// slice is a copy and may be modified by the caller.
func (t *Taxonomy) Entries(kind Kind) []Entry {
	return slices.Clone(t.sorted[kind])
}

// Nearest returns up to n known keys of the given kind that are closest to
// key, for "did you mean" messages. Keys are ranked by Levenshtein distance
// (in runes); among equally distant keys, those sharing more leading dotted
// segments with key come first, and remaining ties are broken by key order.
// If key is itself known it is returned first (distance 0). Nearest returns
// nil if n <= 0 or the kind has no entries.
func (t *Taxonomy) Nearest(kind Kind, key string, n int) []string {
	entries := t.sorted[kind]
	if n <= 0 || len(entries) == 0 {
		return nil
	}
	cands := rank(entries, func(e Entry) string { return e.Key }, key)
	n = min(n, len(cands))
	out := make([]string, n)
	for i := range out {
		out[i] = cands[i].key
	}
	return out
}

type candidate struct {
	key    string
	dist   int
	shared int // leading dotted segments in common with the query
}

// rank scores every item's key against key and sorts best first.
func rank[T any](items []T, keyOf func(T) string, key string) []candidate {
	q := []rune(key)
	qSegs := strings.Split(key, ".")
	cands := make([]candidate, len(items))
	row := make([]int, len(q)+1)
	for i, it := range items {
		k := keyOf(it)
		cands[i] = candidate{
			key:    k,
			dist:   levenshtein(q, []rune(k), row),
			shared: sharedSegments(qSegs, k),
		}
	}
	slices.SortStableFunc(cands, func(a, b candidate) int {
		if a.dist != b.dist {
			return a.dist - b.dist
		}
		if a.shared != b.shared {
			return b.shared - a.shared
		}
		return strings.Compare(a.key, b.key)
	})
	return cands
}

// sharedSegments counts the leading dotted segments that key has in common
// with the already split query segments.
func sharedSegments(qSegs []string, key string) int {
	n := 0
	for _, seg := range qSegs {
		head, rest, found := strings.Cut(key, ".")
		if head != seg {
			break
		}
		n++
		if !found {
			break
		}
		key = rest
	}
	return n
}

// levenshtein returns the edit distance between a and b. row is scratch space
// of length at least len(a)+1.
func levenshtein(a, b []rune, row []int) int {
	row = row[:len(a)+1]
	for i := range row {
		row[i] = i
	}
	for j := 1; j <= len(b); j++ {
		prevDiag := row[0] // distance(a[:0], b[:j-1])
		row[0] = j
		for i := 1; i <= len(a); i++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur := min(row[i]+1, row[i-1]+1, prevDiag+cost)
			prevDiag = row[i]
			row[i] = cur
		}
	}
	return row[len(a)]
}

// Within reports whether key equals ancestor or lies below it in the dotted
// hierarchy: "user.contact.email" is within "user.contact" and "user", but
// "user.contactx" is not within "user.contact", and "user" is not within
// "user.contact". An empty ancestor contains nothing but the empty key.
func Within(key, ancestor string) bool {
	if key == ancestor {
		return true
	}
	return ancestor != "" && len(key) > len(ancestor) &&
		key[len(ancestor)] == '.' && strings.HasPrefix(key, ancestor)
}

// maxSuggestions is how many nearest keys Validate offers per unknown key.
const maxSuggestions = 3

// suggestionDistance is the largest Levenshtein distance at which Validate
// still offers a known key as a suggestion for an unknown key, so that
// "did you mean" messages do not propose unrelated keys.
func suggestionDistance(key string) int {
	return max(2, len([]rune(key))/4)
}

// UnknownKeyError describes one unknown key found by Validate. Validate joins
// one UnknownKeyError per unknown key with errors.Join, so callers can
// retrieve them with errors.As or by unwrapping.
type UnknownKeyError struct {
	Kind        Kind
	Key         string
	Suggestions []string // nearest known keys, best first; may be empty
}

func (e *UnknownKeyError) Error() string {
	msg := fmt.Sprintf("unknown %s %q", e.Kind, e.Key)
	if len(e.Suggestions) > 0 {
		msg += " (did you mean " + strings.Join(e.Suggestions, ", ") + "?)"
	}
	return msg
}

// Validate returns nil if every key is a known key of the given kind.
// Otherwise it returns an error with one line per distinct unknown key (in
// order of first appearance) naming the key and its nearest known keys, e.g.
//
//	unknown data_category "user.contact.emial" (did you mean user.contact.email?)
//
// Suggestions are the nearest known keys (see Nearest), at most three, each
// within a small edit distance of the unknown key (max(2, len(key)/4)) and
// at most one edit further than the best match; a key with no close match
// gets no suggestion.
func (t *Taxonomy) Validate(kind Kind, keys []string) error {
	var errs []error
	seen := make(map[string]bool)
	for _, key := range keys {
		if t.Known(kind, key) || seen[key] {
			continue
		}
		seen[key] = true
		sugg := suggestions(rank(t.sorted[kind], func(e Entry) string { return e.Key }, key), key)
		errs = append(errs, &UnknownKeyError{Kind: kind, Key: key, Suggestions: sugg})
	}
	return errors.Join(errs...)
}

// Suggest returns the names of known nearest to name by the rule Validate
// uses for taxonomy keys (at most three, within a small edit distance, at
// most one edit worse than the best); the engine uses it for policy names.
func Suggest(name string, known []string) []string {
	return suggestions(rank(known, func(k string) string { return k }, name), name)
}

// suggestions keeps the ranked candidates within the absolute limit and at
// most one edit worse than the best match, so a clear typo gets a single
// suggestion.
func suggestions(cands []candidate, key string) []string {
	if len(cands) == 0 {
		return nil
	}
	var out []string
	limit := min(suggestionDistance(key), cands[0].dist+1)
	for _, c := range cands {
		if c.dist > limit || len(out) == maxSuggestions {
			break
		}
		out = append(out, c.key)
	}
	return out
}
