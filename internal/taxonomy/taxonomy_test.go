package taxonomy

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestKnown(t *testing.T) {
	tax := Default()
	tests := []struct {
		kind Kind
		key  string
		want bool
	}{
		{DataCategory, "user", true},
		{DataCategory, "user.contact.email", true},
		{DataCategory, "user.contact.address.city", true},
		{DataUse, "marketing.advertising", true},
		{DataUse, "marketing.advertising.third_party.targeted", true},
		{DataUse, "essential.service.notifications.email", true},
		{DataSubject, "customer", true},
		{DataSubject, "anonymous_user", true},
		// Unknown keys.
		{DataCategory, "user.contact.emial", false},
		{DataCategory, "user.contact.", false},
		{DataCategory, "", false},
		{DataCategory, "User.Contact.Email", false},
		{DataUse, "marketing.advertisingx", false},
		{DataSubject, "customers", false},
		// Known key, wrong kind.
		{DataUse, "user.contact.email", false},
		{DataCategory, "marketing.advertising", false},
		{DataCategory, "customer", false},
		// Unknown kind.
		{Kind("data_thing"), "user", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind)+"/"+tt.key, func(t *testing.T) {
			if got := tax.Known(tt.kind, tt.key); got != tt.want {
				t.Errorf("Known(%q, %q) = %v, want %v", tt.kind, tt.key, got, tt.want)
			}
			e, ok := tax.Lookup(tt.kind, tt.key)
			if ok != tt.want {
				t.Errorf("Lookup(%q, %q) ok = %v, want %v", tt.kind, tt.key, ok, tt.want)
			}
			if ok && (e.Kind != tt.kind || e.Key != tt.key || e.Name == "") {
				t.Errorf("Lookup(%q, %q) = %+v", tt.kind, tt.key, e)
			}
		})
	}
}

func TestLookupName(t *testing.T) {
	tests := []struct {
		kind Kind
		key  string
		name string
	}{
		{DataCategory, "user.contact.email", "User Contact Email"},
		{DataUse, "marketing.advertising", "Advertising, Marketing or Promotion"},
		{DataSubject, "supplier_vendor", "Supplier/Vendor"},
		{DataCategory, "user.childrens", "Children's Data"},
	}
	for _, tt := range tests {
		e, ok := Default().Lookup(tt.kind, tt.key)
		if !ok || e.Name != tt.name {
			t.Errorf("Lookup(%q, %q) = %+v, %v; want name %q", tt.kind, tt.key, e, ok, tt.name)
		}
	}
}

func TestCounts(t *testing.T) {
	tests := []struct {
		kind Kind
		want int
	}{
		{DataCategory, 85},
		{DataUse, 56},
		{DataSubject, 15},
		{Kind("nope"), 0},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			entries := Default().Entries(tt.kind)
			if len(entries) != tt.want {
				t.Errorf("len(Entries(%q)) = %d, want %d", tt.kind, len(entries), tt.want)
			}
			if !slices.IsSortedFunc(entries, func(a, b Entry) int { return strings.Compare(a.Key, b.Key) }) {
				t.Errorf("Entries(%q) not sorted by key", tt.kind)
			}
			for _, e := range entries {
				if e.Kind != tt.kind {
					t.Errorf("Entries(%q) contains %+v", tt.kind, e)
				}
			}
		})
	}
}

func TestEntriesReturnsCopy(t *testing.T) {
	tax := Default()
	entries := tax.Entries(DataSubject)
	entries[0].Key = "mutated"
	if tax.Entries(DataSubject)[0].Key == "mutated" {
		t.Fatal("Entries returned the internal slice")
	}
}

func TestWithin(t *testing.T) {
	tests := []struct {
		name          string
		key, ancestor string
		want          bool
	}{
		{"equal", "user.contact", "user.contact", true},
		{"equal root", "user", "user", true},
		{"child", "user.contact.email", "user.contact", true},
		{"grandchild", "user.contact.address.city", "user.contact", true},
		{"descendant of root", "user.contact.email", "user", true},
		{"sibling with shared prefix", "user.contactx", "user.contact", false},
		{"sibling child with shared prefix", "user.contactx.email", "user.contact", false},
		{"sibling", "user.account", "user.contact", false},
		{"parent of", "user", "user.contact", false},
		{"parent of with dot", "user.contact", "user.contact.email", false},
		{"unrelated", "system", "user", false},
		{"empty ancestor", "user", "", false},
		{"both empty", "", "", true},
		{"ancestor with trailing dot", "user.contact", "user.", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Within(tt.key, tt.ancestor); got != tt.want {
				t.Errorf("Within(%q, %q) = %v, want %v", tt.key, tt.ancestor, got, tt.want)
			}
		})
	}
}

func TestNearest(t *testing.T) {
	tests := []struct {
		kind  Kind
		key   string
		n     int
		first string // expected first suggestion
	}{
		{DataCategory, "user.contact.emial", 3, "user.contact.email"},
		{DataCategory, "user.contact.emal", 1, "user.contact.email"},
		{DataCategory, "usr.contact.email", 1, "user.contact.email"},
		{DataCategory, "user.contact.adress.city", 2, "user.contact.address.city"},
		{DataUse, "marketing.advertsing", 1, "marketing.advertising"},
		{DataUse, "marketing.advertising", 1, "marketing.advertising"}, // known key is its own nearest
		{DataSubject, "custmer", 2, "customer"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind)+"/"+tt.key, func(t *testing.T) {
			got := Default().Nearest(tt.kind, tt.key, tt.n)
			if len(got) != tt.n {
				t.Fatalf("Nearest(%q, %q, %d) = %q, want %d keys", tt.kind, tt.key, tt.n, got, tt.n)
			}
			if got[0] != tt.first {
				t.Errorf("Nearest(%q, %q, %d) = %q, want first %q", tt.kind, tt.key, tt.n, got, tt.first)
			}
			for _, k := range got {
				if !Default().Known(tt.kind, k) {
					t.Errorf("Nearest suggested unknown key %q", k)
				}
			}
		})
	}
}

func TestNearestEdgeCases(t *testing.T) {
	tax := Default()
	if got := tax.Nearest(DataCategory, "user", 0); got != nil {
		t.Errorf("Nearest n=0 = %q, want nil", got)
	}
	if got := tax.Nearest(DataCategory, "user", -1); got != nil {
		t.Errorf("Nearest n=-1 = %q, want nil", got)
	}
	if got := tax.Nearest(Kind("nope"), "user", 3); got != nil {
		t.Errorf("Nearest unknown kind = %q, want nil", got)
	}
	if got := tax.Nearest(DataSubject, "x", 1000); len(got) != 15 {
		t.Errorf("Nearest n>len returned %d keys, want 15", len(got))
	}
}

func TestNearestTieBreaks(t *testing.T) {
	tax, err := Parse(strings.NewReader(strings.Join([]string{
		"data_category\tz.x.c\tZXC",
		"data_category\tb.y.c\tBYC",
		"data_category\ta.y.c\tAYC",
		"data_category\tzz\tZZ",
	}, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		want []string
	}{
		// All three are at distance 1; "z.x.c" shares the leading segment
		// "z" so it comes first, then the rest by key order.
		{"z.y.c", []string{"z.x.c", "a.y.c", "b.y.c"}},
		// Distance first: "a.y.c" and "b.y.c" (1) before "z.x.c" (2); the
		// equal pair by key order.
		{"q.y.c", []string{"a.y.c", "b.y.c", "z.x.c"}},
	}
	for _, tt := range tests {
		if got := tax.Nearest(DataCategory, tt.key, 3); !slices.Equal(got, tt.want) {
			t.Errorf("Nearest(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	tax := Default()
	tests := []struct {
		name     string
		kind     Kind
		keys     []string
		wantErr  bool
		contains []string
		excludes []string
	}{
		{name: "all known", kind: DataCategory, keys: []string{"user", "user.contact.email", "system"}},
		{name: "empty", kind: DataUse, keys: nil},
		{
			name: "typo", kind: DataCategory, keys: []string{"user.contact.email", "user.contact.emial"}, wantErr: true,
			contains: []string{`unknown data_category "user.contact.emial" (did you mean user.contact.email?)`},
			excludes: []string{`"user.contact.email"`},
		},
		{
			name: "two unknown", kind: DataUse, keys: []string{"marketing.advertsing", "customer"}, wantErr: true,
			contains: []string{`unknown data_use "marketing.advertsing" (did you mean marketing.advertising`, `unknown data_use "customer"`},
		},
		{
			name: "no close match", kind: DataSubject, keys: []string{"zzzzzzzzzzzz"}, wantErr: true,
			contains: []string{`unknown data_subject "zzzzzzzzzzzz"`},
			excludes: []string{"did you mean"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tax.Validate(tt.kind, tt.keys)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate(%q, %q) = %v, wantErr %v", tt.kind, tt.keys, err, tt.wantErr)
			}
			if err == nil {
				return
			}
			msg := err.Error()
			for _, s := range tt.contains {
				if !strings.Contains(msg, s) {
					t.Errorf("Validate error %q does not contain %q", msg, s)
				}
			}
			for _, s := range tt.excludes {
				if strings.Contains(msg, s) {
					t.Errorf("Validate error %q contains %q", msg, s)
				}
			}
		})
	}
}

func TestValidateErrorDetails(t *testing.T) {
	err := Default().Validate(DataCategory, []string{"user.contact.emial", "nope.nope", "user.contact.emial"})
	if err == nil {
		t.Fatal("Validate returned nil")
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 2 {
		t.Errorf("Validate error has %d lines, want 2 (duplicates reported once):\n%v", n, err)
	}
	var uk *UnknownKeyError
	if !errors.As(err, &uk) {
		t.Fatalf("errors.As(%v, *UnknownKeyError) = false", err)
	}
	if uk.Kind != DataCategory || uk.Key != "user.contact.emial" || !slices.Equal(uk.Suggestions, []string{"user.contact.email"}) {
		t.Errorf("UnknownKeyError = %+v", uk)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		wantErr string // substring; "" means success
	}{
		{name: "ok", input: "# comment\n\ndata_use\tcollect\tCollect\r\ndata_subject\tcustomer\tCustomer\n"},
		{name: "too few fields", input: "# c\ndata_use\tcollect\n", wantErr: "line 2:"},
		{name: "too many fields", input: "data_use\ta\tA\nx\ty\tz\tw\n", wantErr: "line 2:"},
		{name: "spaces not tabs", input: "# a\n# b\n\ndata_use collect Collect\n", wantErr: "line 4:"},
		{name: "unknown kind", input: "data_usage\tcollect\tCollect\n", wantErr: `line 1: unknown kind "data_usage"`},
		{name: "empty key", input: "data_use\t\tCollect\n", wantErr: "line 1: empty key"},
		{name: "empty segment", input: "data_use\ta..b\tX\n", wantErr: "line 1:"},
		{name: "key with space", input: "data_use\ta b\tX\n", wantErr: "line 1:"},
		{name: "empty name", input: "data_use\ta\t \n", wantErr: "line 1:"},
		{name: "duplicate", input: "data_use\ta\tA\ndata_category\ta\tA\ndata_use\ta\tA2\n", wantErr: `line 3: duplicate data_use "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tax, err := Parse(strings.NewReader(tt.input))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if !tax.Known(DataUse, "collect") || !tax.Known(DataSubject, "customer") {
					t.Errorf("Parse lost entries: %+v", tax)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse succeeded, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestDefaultIsShared(t *testing.T) {
	if a, b := Default(), Default(); a != b {
		t.Error("Default returned different taxonomies")
	}
}

func TestAttribution(t *testing.T) {
	a := Attribution()
	for _, s := range []string{"CC BY 4.0", "Ethyca", "github.com/ethyca/fideslang", "40394c4"} {
		if !strings.Contains(a, s) {
			t.Errorf("Attribution() = %q, does not mention %q", a, s)
		}
	}
	if strings.Contains(a, "#") || strings.Contains(a, "\t") {
		t.Errorf("Attribution() = %q, want comment markers and the column header stripped", a)
	}

	md, err := os.ReadFile("ATTRIBUTION.md")
	if err != nil {
		t.Fatalf("ATTRIBUTION.md: %v", err)
	}
	for _, s := range []string{"CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/", "github.com/ethyca/fideslang", "src/fideslang/default_taxonomy", "40394c4"} {
		if !strings.Contains(string(md), s) {
			t.Errorf("ATTRIBUTION.md does not mention %q", s)
		}
	}
}

func BenchmarkKnown(b *testing.B) {
	tax := Default()
	keys := []string{"user.contact.email", "marketing.advertising", "user.contact.emial", "system.operations"}
	for i := 0; b.Loop(); i++ {
		tax.Known(DataCategory, keys[i%len(keys)])
	}
}

func ExampleTaxonomy_Validate() {
	err := Default().Validate(DataCategory, []string{"user.contact.email", "user.contact.emial", "user.biometic"})
	fmt.Println(err)
	// Output:
	// unknown data_category "user.contact.emial" (did you mean user.contact.email?)
	// unknown data_category "user.biometic" (did you mean user.biometric?)
}

func ExampleAttribution() {
	fmt.Println(Attribution())
	// Output:
	// Source: fideslang default taxonomy (github.com/ethyca/fideslang, src/fideslang/default_taxonomy, commit 40394c4, Dec 2025).
	// The taxonomy is licensed CC BY 4.0 by Ethyca; keep this attribution wherever it is embedded.
}
