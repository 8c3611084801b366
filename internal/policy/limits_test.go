package policy

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// peakRSS is the process's peak resident set (VmHWM), in bytes; 0 when
// /proc is not there.
func peakRSS(t *testing.T) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	return 0
}

// TestBuiltinLimits: built-ins that would build far more than their input
// fail before they allocate, and the policy gets an error result naming
// the built-in, whatever it asked for: a 3 GB concat leaves the process far
// under the manager's 512 MiB limit.
func TestBuiltinLimits(t *testing.T) {
	cases := map[string]string{
		"concat 3 GB": `big := sprintf("%01000000d", [0])
	x := concat("", [big | some i in numbers.range(1, 3000)])`,
		"sprintf width":      `x := sprintf("%01000000000d", [0])`,
		"numbers.range":      `x := numbers.range(1, 10000000000)`,
		"numbers.range_step": `x := numbers.range_step(0, 100000000000, 2)`,
		"strings.replace_n":  `x := strings.replace_n({"a": sprintf("%01000000d", [0])}, concat("", ["a" | some i in numbers.range(1, 100)]))`,
		"replace":            `x := replace(concat("", ["a" | some i in numbers.range(1, 1000)]), "a", sprintf("%0100000d", [0]))`,
		"array.concat":       `x := array.concat(numbers.range(1, 1000000), numbers.range(1, 1000000))`,
	}
	builtin := map[string]string{
		"concat 3 GB": "concat", "sprintf width": "sprintf", "numbers.range": "numbers.range",
		"numbers.range_step": "numbers.range_step", "strings.replace_n": "strings.replace_n",
		"replace": "replace", "array.concat": "array.concat",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			e := newTestEngine(t, Options{Timeout: time.Minute, RequestBudget: time.Minute}) // a loaded machine must not turn the limit into a time-out
			setPolicies(t, e, guardrailPolicy("greedy", "package acme.greedy\n\nviolation contains \"never\" if {\n\t"+body+"\n\tcount(x) == 0\n}\n"))
			d := evaluate(t, e, request(workload()))
			rs := resultsOf(d, "greedy")
			if len(rs) != 1 || rs[0].Enforcement != EnforcementError || !strings.Contains(rs[0].Message, builtin[name]+" would build") {
				t.Fatalf("greedy: %+v", rs)
			}
			t.Log(rs[0].Message)
		})
	}
	rss := peakRSS(t)
	t.Logf("peak RSS %d MiB", rss>>20)
	if rss > 512<<20 {
		t.Errorf("peak RSS %d MiB, want under 512 MiB", rss>>20)
	}
}

// TestBuiltinLimitsLeaveOrdinaryUseAlone: the built-ins work as before
// under the limits.
func TestBuiltinLimitsLeaveOrdinaryUseAlone(t *testing.T) {
	e := newTestEngine(t, Options{})
	setPolicies(t, e, guardrailPolicy("ordinary", `package acme.ordinary

violation contains msg if {
	parts := [sprintf("%05d", [i]) | some i in numbers.range(1, 1000)]
	s := concat(",", parts)
	count(replace(s, ",", ";")) == count(s)
	strings.replace_n({"0": "o"}, "100") == "1oo"
	count(array.concat(parts, parts)) == 2000
	json.unmarshal("{\"a\": 1}").a == 1
	msg := "ordinary built-ins still work"
}
`))
	d := evaluate(t, e, request(workload()))
	if rs := resultsOf(d, "ordinary"); len(rs) != 1 || rs[0].Enforcement != "deny" {
		t.Fatalf("ordinary: %+v", rs)
	}
}

// TestRequestBudget: the budget covers the whole request. A workload whose
// ten integrations each meet a slow policy ends within the budget's reach:
// once it is spent, the policies not yet run give error results saying so.
func TestRequestBudget(t *testing.T) {
	e := newTestEngine(t, Options{Timeout: 150 * time.Millisecond, RequestBudget: 400 * time.Millisecond})
	setPolicies(t, e, guardrailPolicy("slow", slowPolicy, targeting(v1alpha1.KindSaaSIntegration)))
	var names []string
	var sis []*v1alpha1.SaaSIntegration
	for i := range 10 {
		n := "si-" + strconv.Itoa(i)
		names = append(names, n)
		sis = append(sis, integration(n))
	}
	d, err := e.Evaluate(context.Background(), request(workload(withIntegrations(names...)), withIntegrationObjects(sis...)))
	if err != nil {
		t.Fatal(err)
	}
	// The workload's own built-ins ran after the integrations: the budget
	// was spent by then.
	var spent int
	for _, r := range d.Results {
		if r.Enforcement == EnforcementError && strings.Contains(r.Message, "request's time budget of 400ms") {
			spent++
		}
	}
	if spent == 0 {
		t.Fatalf("no result says the request's budget was spent: %+v", d.Results)
	}
}
