package policy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// newTestEngine returns an engine of its own (with the embedded built-ins),
// for tests that change its custom policies. Tests that do not test the time
// budget get a generous one, so a loaded machine (or -race) never turns a
// verdict into a time-out error.
func newTestEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = time.Minute
	}
	e, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

const namingPolicy = `package acme.campaign_naming

violation contains {"msg": msg, "field": "spec.campaign.name", "remediation": "Prefix the campaign name with the team name."} if {
	input.kind == "MarketingWorkload"
	not startswith(input.object.spec.campaign.name, input.object.spec.owner.team)
	msg := sprintf("campaign %q does not start with the team name %q", [input.object.spec.campaign.name, input.object.spec.owner.team])
}
`

func TestRefusedBuiltins(t *testing.T) {
	e := builtinEngine(t)
	tests := []struct {
		builtin string
		call    string
	}{
		{"http.send", `http.send({"method": "GET", "url": "https://example.com"})`},
		{"net.lookup_ip_addr", `net.lookup_ip_addr("example.com")`},
		{"time.now_ns", `time.now_ns()`},
		{"rand.intn", `rand.intn("seed", 10)`},
		{"uuid.rfc4122", `uuid.rfc4122("seed")`},
		{"opa.runtime", `opa.runtime()`},
		{"io.jwt.decode_verify", `io.jwt.decode_verify("token", {"secret": "s"})`},
		{"trace", `trace("hello")`},
		{"print", `print("hello")`},
	}
	for _, tt := range tests {
		t.Run(tt.builtin, func(t *testing.T) {
			// The call is on line 6, after "\tx := " (the tab is one column).
			src := "package acme.outward\n\nviolation contains msg if {\n\tinput.kind == \"MarketingWorkload\"\n\tmsg := \"x\"\n\tx := " + tt.call + "\n\tx != null\n}\n"
			gp := guardrailPolicy("outward", src)
			errs := e.CheckPolicy(&gp)
			if len(errs) != 1 {
				t.Fatalf("errors = %v, want one", errs)
			}
			want := "outward/rego:6:7: undefined function " + tt.builtin + " (not allowed in GuardrailPolicy)"
			if got := errs[0].Error(); got != want {
				t.Errorf("error = %q\nwant    %q", got, want)
			}
			if errs[0].Line != 6 || errs[0].Column != 7 || errs[0].Module != "rego" || errs[0].Policy != "outward" {
				t.Errorf("position = %+v", errs[0])
			}
		})
	}
}

func TestRefusedBuiltinAsStatementAndInLib(t *testing.T) {
	e := builtinEngine(t)
	lib := "package acme.lib\n\nnow := time.now_ns()\n"
	src := "package acme.main\n\nimport data.acme.lib\n\nviolation contains \"late\" if {\n\tlib.now > 0\n\thttp.send({\"method\": \"GET\", \"url\": \"https://example.com\"})\n}\n"
	gp := guardrailPolicy("split", src)
	gp.Spec.Libs = []string{lib}
	errs := e.CheckPolicy(&gp)
	got := make([]string, len(errs))
	for i, err := range errs {
		got[i] = err.Error()
	}
	want := []string{
		"split/libs[0]:3:8: undefined function time.now_ns (not allowed in GuardrailPolicy)",
		"split/rego:7:2: undefined function http.send (not allowed in GuardrailPolicy)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCompileErrors(t *testing.T) {
	e := builtinEngine(t)
	tests := []struct {
		name string
		gp   v1alpha1.GuardrailPolicy
		want string // substring of the first error
	}{
		{
			name: "syntax error has line and column",
			gp:   guardrailPolicy("broken", "package acme.broken\n\nviolation contains msg if {\n\tmsg := \"x\" +\n}\n"),
			want: "broken/rego:5:1: ",
		},
		{
			name: "unknown function has line and column",
			gp:   guardrailPolicy("typo", "package acme.typo\n\nviolation contains msg if {\n\tmsg := sprintff(\"%v\", [1])\n}\n"),
			want: "typo/rego:4:9: undefined function sprintff",
		},
		{
			name: "no violation rule",
			gp:   guardrailPolicy("empty", "package acme.empty\n\ndeny contains \"x\"\n"),
			want: "empty/rego:1:1: package acme.empty does not define violation",
		},
		{
			name: "reserved package",
			gp:   guardrailPolicy("sneaky", "package guardrails.builtin.allowed_registries\n\nviolation contains \"x\"\n"),
			want: "sneaky/rego:1:1: package guardrails.builtin.allowed_registries is reserved",
		},
		{
			name: "name of a built-in",
			gp:   guardrailPolicy("ownership", namingPolicy),
			want: `ownership/metadata.name: "ownership" is the name of a built-in policy`,
		},
		{
			name: "unknown target kind",
			gp:   guardrailPolicy("pods", namingPolicy, targeting("Pod")),
			want: `pods/spec.targets[0]: unknown kind "Pod"`,
		},
		{
			name: "no target",
			gp:   guardrailPolicy("nothing", namingPolicy, targeting()),
			want: "nothing/spec.targets: at least one kind is required",
		},
		{
			name: "bad enforcement",
			gp:   guardrailPolicy("loud", namingPolicy, withEnforcement("block")),
			want: `loud/spec.enforcement: "block": want deny, warn or audit`,
		},
		{
			name: "parameters not an object",
			gp:   guardrailPolicy("params", namingPolicy, withParameters(`[1, 2]`)),
			want: "params/spec.parameters: must be an object",
		},
		{
			name: "unsafe variable",
			gp:   guardrailPolicy("unsafe", "package acme.unsafe\n\nviolation contains msg if {\n\tinput.kind == \"Vendor\"\n}\n"),
			want: "unsafe/rego:3:20: var msg is unsafe",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := e.CheckPolicy(&tt.gp)
			if len(errs) == 0 {
				t.Fatal("no error")
			}
			if got := errs[0].Error(); !strings.Contains(got, tt.want) {
				t.Errorf("error = %q, want it to contain %q (all: %v)", got, tt.want, errs)
			}
		})
	}
}

func TestCheckPolicyAcceptsGoodPolicyWithoutSwapping(t *testing.T) {
	e := newTestEngine(t, Options{})
	gp := guardrailPolicy("campaign-naming", namingPolicy)
	if errs := e.CheckPolicy(&gp); errs != nil {
		t.Fatalf("CheckPolicy: %v", errs)
	}
	if got := len(e.Policies()); got != 21 { // 18 in Rego, 3 in Go
		t.Errorf("CheckPolicy changed the set: %d policies", got)
	}
}

func TestPackageConflict(t *testing.T) {
	e := newTestEngine(t, Options{})
	first := guardrailPolicy("b-naming", namingPolicy)
	if errs := e.SetPolicies([]v1alpha1.GuardrailPolicy{first}); errs != nil {
		t.Fatalf("SetPolicies: %v", errs)
	}
	// a-naming sorts first but b-naming holds the package.
	second := guardrailPolicy("a-naming", namingPolicy)
	if errs := e.CheckPolicy(&second); len(errs) != 1 || !strings.Contains(errs[0].Error(), `already declared by policy "b-naming"`) {
		t.Errorf("CheckPolicy = %v, want a package conflict", errs)
	}
	errs := e.SetPolicies([]v1alpha1.GuardrailPolicy{second, first})
	if len(errs) != 1 || len(errs["a-naming"]) != 1 {
		t.Fatalf("SetPolicies = %v, want a conflict for a-naming", errs)
	}
	if !hasPolicy(e, "b-naming") || hasPolicy(e, "a-naming") {
		t.Errorf("policies in force: %v", names(e))
	}
}

func hasPolicy(e *Engine, name string) bool {
	for _, p := range e.Policies() {
		if p.Name == name {
			return true
		}
	}
	return false
}

func names(e *Engine) []string {
	var out []string
	for _, p := range e.Policies() {
		out = append(out, p.Name)
	}
	return out
}

func TestLastGoodVersionStays(t *testing.T) {
	e := newTestEngine(t, Options{})
	ctx := context.Background()
	good := guardrailPolicy("campaign-naming", namingPolicy)
	if errs := e.SetPolicies([]v1alpha1.GuardrailPolicy{good}); errs != nil {
		t.Fatalf("SetPolicies(good): %v", errs)
	}
	req := request(workload()) // campaign spring-sale, team growth: violates
	naming := func() []Result {
		d, err := e.Evaluate(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		var out []Result
		for _, r := range d.Results {
			if r.Policy == "campaign-naming" {
				out = append(out, r)
			}
		}
		return out
	}
	if got := naming(); len(got) != 1 || got[0].Enforcement != "deny" || got[0].Field != "spec.campaign.name" {
		t.Fatalf("good version: %+v", got)
	}

	broken := guardrailPolicy("campaign-naming", strings.Replace(namingPolicy, "startswith(", "startswith(input.now, ", 1)+"\nx := time.now_ns()\n", withEnforcement(v1alpha1.EnforcementWarn))
	errs := e.SetPolicies([]v1alpha1.GuardrailPolicy{broken})
	if len(errs["campaign-naming"]) == 0 {
		t.Fatalf("SetPolicies(broken) = %v, want errors for campaign-naming", errs)
	}
	if got := e.Errors("campaign-naming"); len(got) == 0 {
		t.Error("Errors() after the broken update is empty")
	}
	// The good version still evaluates, with its own (deny) enforcement.
	if got := naming(); len(got) != 1 || got[0].Enforcement != "deny" {
		t.Fatalf("after broken update: %+v, want the good version's deny", got)
	}

	fixed := guardrailPolicy("campaign-naming", namingPolicy, withEnforcement(v1alpha1.EnforcementAudit))
	if errs := e.SetPolicies([]v1alpha1.GuardrailPolicy{fixed}); errs != nil {
		t.Fatalf("SetPolicies(fixed): %v", errs)
	}
	if got := e.Errors("campaign-naming"); got != nil {
		t.Errorf("Errors() after fix = %v", got)
	}
	if got := naming(); len(got) != 1 || got[0].Enforcement != "audit" {
		t.Fatalf("after fix: %+v, want audit", got)
	}

	// A new policy that never compiled is not in force; removing a policy
	// takes it out of force.
	bad := guardrailPolicy("never-good", "package acme.never\n\nviolation contains x if {\n")
	errs = e.SetPolicies([]v1alpha1.GuardrailPolicy{bad})
	if len(errs["never-good"]) == 0 || hasPolicy(e, "never-good") || hasPolicy(e, "campaign-naming") {
		t.Errorf("errors %v, policies %v", errs, names(e))
	}
	if got := naming(); len(got) != 0 {
		t.Errorf("removed policy still evaluates: %+v", got)
	}
}

func TestBrokenBuiltinFailsNew(t *testing.T) {
	tests := map[string]string{
		"no metadata":    "package guardrails.builtin.x\n\nviolation contains \"x\"\n",
		"wrong package":  "# METADATA\n# custom:\n#   name: x-y\n#   enforcement: deny\n#   severity: low\n#   category: c\n#   targets: [MarketingWorkload]\npackage guardrails.builtin.other\n\nviolation contains \"x\"\n",
		"refused call":   "# METADATA\n# custom:\n#   name: x\n#   enforcement: deny\n#   severity: low\n#   category: c\n#   targets: [MarketingWorkload]\npackage guardrails.builtin.x\n\nviolation contains \"x\" if time.now_ns() > 0\n",
		"unknown target": "# METADATA\n# custom:\n#   name: x\n#   enforcement: deny\n#   severity: low\n#   category: c\n#   targets: [Pod]\npackage guardrails.builtin.x\n\nviolation contains \"x\"\n",
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := newEngine(Options{}, map[string]string{"x.rego": src}); err == nil {
				t.Error("newEngine succeeded")
			} else {
				t.Log(err)
			}
		})
	}
}
