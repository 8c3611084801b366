package policy

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Repros of built-ins whose output is far larger than their input (issue
// 26, item 4). Each runs in a process of its own, so that its peak RSS is
// its own: the child evaluates the policy and prints one line saying what
// the policy's result was, how long it took and the peak RSS; a watchdog in
// the child ends it as soon as its RSS passes reproRSSCap, so a repro that
// is not guarded fails on memory, never on time.

// reproRSSCap is the most a repro may hold: the manager's memory limit.
const reproRSSCap = 512 << 20

// sharedChain builds a0 = numbers.range(1, 1000) and a1..an, each ten times the
// one before (the same term ten times: a DAG of a few thousand nodes that
// expands to 1000·10^n).
func sharedChain(n int, indent string) string { //nolint:unparam // any indentation; the cases sit in rule bodies today
	var b strings.Builder
	b.WriteString(indent + "a0 := numbers.range(1, 1000)\n")
	for i := 1; i <= n; i++ {
		prev := fmt.Sprintf("a%d", i-1)
		fmt.Fprintf(&b, "%sa%d := [%s]\n", indent, i, strings.TrimSuffix(strings.Repeat(prev+", ", 10), ", "))
	}
	return b.String()
}

// ladder is a graph of 41 rungs: l_i → r_i, l_{i+1} and r_i → l_i, r_{i+1}.
// It has 2^41 simple paths from l0.
const ladder = `gl := {sprintf("l%d", [i]): [sprintf("r%d", [i]), sprintf("l%d", [i + 1])] | i := numbers.range(0, 40)[_]}
	gr := {sprintf("r%d", [i]): [sprintf("l%d", [i]), sprintf("r%d", [i + 1])] | i := numbers.range(0, 40)[_]}
	g := object.union(gl, gr)
`

// layers is a graph of 41 layers of two nodes, each node with an edge to
// both nodes of the next layer: OPA's graph.reachable queues a node once per
// path to it (2^40 times for the last layer).
const layers = `g := {sprintf("%s%d", [s, i]): [sprintf("l%d", [i + 1]), sprintf("r%d", [i + 1])] | i := numbers.range(0, 40)[_]; s := ["l", "r"][_]}
`

// reproCases are the repros: a Rego body binding x (a GuardrailPolicy's,
// and a ConstraintTemplate's when gk) and the built-in that must refuse
// (none: the built-in must answer).
var reproCases = []struct {
	name, body, builtin string
	gk                  bool // also as a ConstraintTemplate
}{
	{"json.marshal", sharedChain(6, "\t") + "\tx := json.marshal(a6)\n", "json.marshal", true},
	{"json.marshal_with_options", sharedChain(6, "\t") + "\tx := json.marshal_with_options(a6, {\"pretty\": true})\n", "json.marshal_with_options", true},
	{"json.marshal_with_options indent", "\ta := numbers.range(1, 200000)\n\tx := json.marshal_with_options([[[[[[[a]]]]]]], {\"indent\": sprintf(\"%0100d\", [0])})\n", "json.marshal_with_options", false},
	{"yaml.marshal", sharedChain(6, "\t") + "\tx := yaml.marshal(a6)\n", "yaml.marshal", false},
	{"sprintf %v", sharedChain(5, "\t") + "\tx := sprintf(\"%v\", [a5])\n", "sprintf", true},
	{"graph.reachable_paths", "\t" + ladder + "\tx := graph.reachable_paths(g, {\"l0\"})\n", "graph.reachable_paths", true},
	{"graph.reachable", "\t" + layers + "\tx := graph.reachable(g, {\"l0\"})\n", "", false},
	{"array.flatten", "\ta := numbers.range(1, 1000000)\n\tx := array.flatten([a | numbers.range(1, 1000)[_]])\n", "array.flatten", false},
	{"split", "\ts := concat(\"\", [sprintf(\"%0999999d\", [0]) | numbers.range(1, 16)[_]])\n\tx := split(s, \"\")\n", "split", false},
	{"strings.split_n", "\ts := concat(\"\", [sprintf(\"%0999999d\", [0]) | numbers.range(1, 16)[_]])\n\tx := strings.split_n(s, \"\", -1)\n", "strings.split_n", false},
	{"indexof_n", "\ts := concat(\"\", [sprintf(\"%0999999d\", [0]) | numbers.range(1, 16)[_]])\n\tx := indexof_n(s, \"0\")\n", "indexof_n", false},
	{"regex.split", "\ts := concat(\"\", [sprintf(\"%0999999d\", [0]) | numbers.range(1, 16)[_]])\n\tx := regex.split(\"\", s)\n", "regex.split", false},
	{"regex.find_n", "\ts := concat(\"\", [sprintf(\"%0999999d\", [0]) | numbers.range(1, 16)[_]])\n\tx := regex.find_n(\".\", s, -1)\n", "regex.find_n", false},
	{"regex.find_all_string_submatch_n", "\ts := concat(\"\", [sprintf(\"%0999999d\", [0]) | numbers.range(1, 16)[_]])\n\tx := regex.find_all_string_submatch_n(\"(.)(.?)\", s, -1)\n", "regex.find_all_string_submatch_n", false},
	{"regex.replace", "\ts := concat(\"\", [sprintf(\"%0999999d\", [0]) | numbers.range(1, 16)[_]])\n\tx := regex.replace(s, \"0\", \"$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0\")\n", "regex.replace", false},
	{"hex.encode", "\ts := concat(\"\", [sprintf(\"%0999999d\", [0]) | numbers.range(1, 16)[_]])\n\tx := hex.encode(hex.encode(hex.encode(hex.encode(hex.encode(s)))))\n", "hex.encode", false},
	{"base64.encode", "\ts := concat(\"\", [sprintf(\"%0999999d\", [0]) | numbers.range(1, 16)[_]])\n\tx := base64.encode(base64.encode(base64.encode(base64.encode(base64.encode(base64.encode(s))))))\n", "base64.encode", false},
	{"urlquery.encode", "\ts := concat(\"\", [sprintf(\"%999999s\", [\"\"]) | numbers.range(1, 16)[_]])\n\tx := urlquery.encode(urlquery.encode(urlquery.encode(s)))\n", "urlquery.encode", false},
	{"json.marshal string", "\ts := concat(\"\", [sprintf(\"%999999s\", [\"<\"]) | numbers.range(1, 16)[_]])\n\tx := json.marshal([s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s])\n", "json.marshal", false},
	{"strings.render_template", sharedChain(5, "\t") + "\tx := strings.render_template(\"{{range .a}}{{range .}}{{range .}}{{.}}{{end}}{{end}}{{end}}\", {\"a\": a5})\n", "strings.render_template", false},
	{"bits.lsh", "\tx := format_int(bits.lsh(1, 8000000000), 2)\n", "bits.lsh", false},
	{"violation message", sharedChain(6, "\t") + "\tx := {\"msg\": a6}\n", "violation message", true},
}

// TestBuiltinOutputGuards runs each repro in a child process: the policy
// gets an error result naming the built-in that refused (or, for the last
// case, a message saying the violation is too large), and the child's peak
// RSS stays under the manager's 512 MiB.
func TestBuiltinOutputGuards(t *testing.T) {
	if os.Getenv("GUARDRAILS_REPRO") != "" {
		runRepro(t, os.Getenv("GUARDRAILS_REPRO"))
		return
	}
	if testing.Short() {
		t.Skip("starts a process per repro")
	}
	line := regexp.MustCompile(`REPRO (\S+) (\S+) (\d+) ms, peak (\d+) MiB: (.*)`)
	for _, c := range reproCases {
		doors := []string{"GuardrailPolicy"}
		if c.gk {
			doors = append(doors, "ConstraintTemplate")
		}
		for _, door := range doors {
			t.Run(door+"/"+c.name, func(t *testing.T) {
				cmd := exec.Command(os.Args[0], "-test.run", "^TestBuiltinOutputGuards$", "-test.v") //nolint:gosec // the test binary itself, in a child process
				cmd.Env = append(os.Environ(), "GUARDRAILS_REPRO="+door+"/"+c.name)
				out, err := cmd.CombinedOutput()
				m := line.FindSubmatch(out)
				if m == nil {
					t.Fatalf("child: %v\n%s", err, tail(out, 2000))
				}
				ms, _ := strconv.Atoi(string(m[3]))
				peak, _ := strconv.Atoi(string(m[4]))
				msg := string(m[5])
				t.Logf("%s %s: %d ms, peak %d MiB: %s", door, c.name, ms, peak, msg)
				if peak<<20 >= reproRSSCap {
					t.Errorf("peak RSS %d MiB, want under %d MiB", peak, reproRSSCap>>20)
				}
				want := c.builtin + " would build"
				switch c.builtin {
				case "violation message":
					want = "violation of"
				case "": // no longer exponential: it ends with its answer
					want = "0 results"
				}
				if !strings.Contains(msg, want) {
					t.Errorf("result %q, want an error saying %q", msg, want)
				}
			})
		}
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// runRepro is the child: it evaluates one repro and prints one REPRO line.
func runRepro(t *testing.T, which string) {
	door, name, _ := strings.Cut(which, "/")
	var body string
	for _, c := range reproCases {
		if c.name == name {
			body = c.body
		}
	}
	if body == "" {
		t.Fatalf("no repro %q", name)
	}
	start := time.Now()
	report := func(msg string) {
		fmt.Printf("REPRO %s %s %d ms, peak %d MiB: %s\n", door, strings.ReplaceAll(name, " ", "_"), time.Since(start).Milliseconds(), peakRSS(t)>>20, strings.ReplaceAll(msg, "\n", " "))
	}
	go func() { // the watchdog
		for {
			time.Sleep(5 * time.Millisecond)
			if rss := currentRSS(); rss >= reproRSSCap {
				report(fmt.Sprintf("killed: RSS %d MiB passed %d MiB", rss>>20, reproRSSCap>>20))
				os.Exit(3)
			}
		}
	}()
	// The policy's own time budget is generous: what ends these
	// evaluations is a guard, not a time-out.
	e := newTestEngine(t, Options{Timeout: 30 * time.Second, RequestBudget: 30 * time.Second})
	var rs []Result
	switch door {
	case "GuardrailPolicy":
		src := "package acme.greedy\n\nviolation contains x if {\n" + body + "\tcount(x) == -1\n}\n"
		if name == "violation message" {
			src = "package acme.greedy\n\nviolation contains x if {\n" + body + "}\n"
		}
		setPolicies(t, e, guardrailPolicy("greedy", src))
		start = time.Now()
		d := evaluate(t, e, request(workload()))
		rs = resultsOf(d, "greedy")
	case "ConstraintTemplate":
		rego := "package k8sgreedy\n\nviolation contains {\"msg\": msg} if {\n" + body + "\tcount(x) == -1\n\tmsg := \"never\"\n}\n"
		if name == "violation message" {
			rego = "package k8sgreedy\n\nviolation contains x if {\n" + body + "}\n"
		}
		tmpl := "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: k8sgreedy\nspec:\n  crd:\n    spec:\n      names:\n        kind: K8sGreedy\n  targets:\n    - target: admission.k8s.gatekeeper.sh\n      code:\n        - engine: Rego\n          source:\n            version: \"v1\"\n            rego: |\n" + indentLines(rego, "              ")
		con := "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sGreedy\nmetadata:\n  name: greedy\n"
		if rep := setGatekeeper(t, e, []string{tmpl}, []string{con}); rep.Errors != nil || rep.Skipped != nil {
			t.Fatalf("%+v", rep)
		}
		start = time.Now()
		d, err := e.Review(context.Background(), ReviewRequest{Object: &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "cm", "namespace": "default"},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		rs = resultsOf(d, "greedy")
	default:
		t.Fatalf("no door %q", door)
	}
	switch {
	case len(rs) != 1:
		report(fmt.Sprintf("%d results: %+v", len(rs), rs))
	case name == "violation message":
		report(rs[0].Message)
	case rs[0].Enforcement != EnforcementError:
		report(fmt.Sprintf("not an error: %+v", rs[0]))
	default:
		report(rs[0].Message)
	}
}

func indentLines(s, indent string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if sc.Text() != "" {
			b.WriteString(indent + sc.Text())
		}
		b.WriteString("\n")
	}
	return b.String()
}

// currentRSS is the process's resident set (VmRSS), in bytes.
func currentRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestReplacementsAnswerAsOPA: graph.reachable and graph.reachable_paths
// give OPA's answers on graphs small enough for OPA's versions (arrays and
// sets of edges, cycles, vertices missing from the graph, self loops).
func TestReplacementsAnswerAsOPA(t *testing.T) {
	if _, err := New(Options{}); err != nil { // installs the guards
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // a fixed seed: the same cases every run
	for i := range 300 {
		n := 1 + rng.IntN(7)
		var pairs [][2]*ast.Term
		for v := range n {
			var edges []*ast.Term
			for range rng.IntN(4) {
				edges = append(edges, ast.IntNumberTerm(rng.IntN(n+2))) // n, n+1: not in the graph
			}
			var e *ast.Term
			if rng.IntN(2) == 0 {
				e = ast.ArrayTerm(edges...)
			} else {
				e = ast.SetTerm(edges...)
			}
			pairs = append(pairs, ast.Item(ast.IntNumberTerm(v), e))
		}
		graph := ast.ObjectTerm(pairs...)
		initial := ast.SetTerm(ast.IntNumberTerm(rng.IntN(n+1)), ast.IntNumberTerm(rng.IntN(n)))
		for name, ours := range replacements {
			if name == ast.RenderTemplate.Name {
				continue
			}
			var want, got *ast.Term
			if err := replaced[name](topdown.BuiltinContext{}, []*ast.Term{graph, initial}, func(t *ast.Term) error { want = t; return nil }); err != nil {
				t.Fatal(err)
			}
			if err := ours(topdown.BuiltinContext{}, []*ast.Term{graph, initial}, func(t *ast.Term) error { got = t; return nil }); err != nil {
				t.Fatal(err)
			}
			if want.Value.Compare(got.Value) != 0 {
				t.Fatalf("case %d, %s(%v, %v) = %v, OPA's %v", i, name, graph, initial, got, want)
			}
		}
	}
}

// TestRenderTemplateAnswersAsOPA: strings.render_template writes what
// OPA's does, "<no value>" and errors included.
func TestRenderTemplateAnswersAsOPA(t *testing.T) {
	if _, err := New(Options{}); err != nil { // installs the guards
		t.Fatal(err)
	}
	vars := ast.MustParseTerm(`{"name": "x", "n": 7, "f": 1.5, "l": [1, "two", {"a": null}], "o": {"k": true}, "h": "<a href='x'>&"}`)
	for _, tmpl := range []string{
		"{{.name}}: {{.n}} {{.f}} {{range .l}}[{{.}}]{{end}} {{.o}}",
		"{{printf \"%v|%s|%5.1f\" .l .name .f}} {{print .n .name}} {{println .o}}",
		"{{html .h}} {{js .h}} {{urlquery .h}} {{html .h .n}}",
		"{{.missing}} {{index .l 1}} {{len .l}} {{if .o.k}}yes{{end}}",
		"{{range $i, $v := .l}}{{$i}}={{$v}};{{end}}",
		"{{.name.bad}}",
		"{{template \"nope\"}}",
		"{{",
	} {
		var want, got *ast.Term
		wantErr := replaced[ast.RenderTemplate.Name](topdown.BuiltinContext{}, []*ast.Term{ast.StringTerm(tmpl), vars}, func(t *ast.Term) error { want = t; return nil })
		gotErr := replacements[ast.RenderTemplate.Name](topdown.BuiltinContext{}, []*ast.Term{ast.StringTerm(tmpl), vars}, func(t *ast.Term) error { got = t; return nil })
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("%s: error %v, OPA's %v", tmpl, gotErr, wantErr)
		}
		if wantErr != nil {
			continue
		}
		if want.Value.Compare(got.Value) != 0 {
			t.Errorf("%s: %v, OPA's %v", tmpl, got, want)
		}
	}
}

// TestGuardsLeaveOrdinaryUseAlone: the guarded and replaced built-ins work
// as before on ordinary values.
func TestGuardsLeaveOrdinaryUseAlone(t *testing.T) {
	checks := strings.Split(strings.TrimSpace(`
	json.marshal({"a": [1, 2], "b": {"c": "<"}}) == "{\"a\":[1,2],\"b\":{\"c\":\"\\u003c\"}}"
	json.marshal_with_options([1], {"indent": "  "}) == "[\n  1\n]"
	yaml.marshal({"a": 1}) == "a: 1\n"
	sprintf("%v and %d", [{"a": [1, {2}]}, 3]) == "{\"a\": [1, {2}]} and 3"
	graph.reachable({"a": ["b"], "b": ["c"], "c": []}, {"a"}) == {"a", "b", "c"}
	graph.reachable_paths({"a": ["b"], "b": ["c"], "c": []}, {"a"}) == {["a", "b", "c"]}
	strings.render_template("{{.name}}: {{printf \"%03s\" .n}} {{range .l}}[{{.}}]{{end}} {{html .h}}", {"name": "x", "n": 7, "l": [1, 2], "h": "<"}) == "x: 007 [1][2] &lt;"
	split("a,b,c", ",") == ["a", "b", "c"]
	strings.split_n("a,b,c", ",", 2) == ["a", "b"]
	indexof_n("abab", "b") == [1, 3]
	regex.split("[,;]", "a,b;c") == ["a", "b", "c"]
	regex.find_n("[0-9]", "a1b2", -1) == ["1", "2"]
	regex.find_all_string_submatch_n("(a)(b)", "abab", -1) == [["ab", "a", "b"], ["ab", "a", "b"]]
	regex.replace("a-b", "-", "$0$0") == "a--b"
	hex.encode("hi") == "6869"
	base64.encode("hi") == "aGk="
	urlquery.encode("a b") == "a+b"
	format_int(bits.lsh(1, 10), 2) == "10000000000"
	array.flatten([[1], 2, [3, 4]]) == [1, 2, 3, 4]`), "\n")
	src := "package acme.ordinary\n"
	for i, c := range checks {
		src += fmt.Sprintf("\nviolation contains \"%d\" if {\n%s\n}\n", i, c)
	}
	e := newTestEngine(t, Options{})
	setPolicies(t, e, guardrailPolicy("ordinary", src))
	d := evaluate(t, e, request(workload()))
	held := map[string]bool{}
	for _, r := range resultsOf(d, "ordinary") {
		if r.Enforcement != "deny" {
			t.Fatalf("ordinary: %+v", r)
		}
		held[r.Message] = true
	}
	for i, c := range checks {
		if !held[strconv.Itoa(i)] {
			t.Errorf("does not hold: %s", strings.TrimSpace(c))
		}
	}
}
