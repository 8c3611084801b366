package parity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	openreportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/audit"
)

// verdict is what one door said about one object: its results, or why the
// door could not say (a request that failed for another reason than a
// policy, an object the door never reported on).
type verdict struct {
	results resultSet
	problem string
}

func (v verdict) String() string {
	if v.problem != "" {
		return v.results.String() + " [" + v.problem + "]"
	}
	return v.results.String()
}

// ---- door (a): the admission webhook, by server-side dry-run ----

// admit dry-run creates obj as the judged user and reads the verdict: each
// cause of a rejection is a deny result, each admission warning a warn,
// waived or error result.
func (c *cluster) admit(ctx context.Context, obj *unstructured.Unstructured) verdict {
	c.warnings.take()
	err := c.judged.Create(ctx, obj.DeepCopy(), client.DryRunAll)
	v := verdict{results: resultSet{}}
	for _, w := range c.warnings.take() {
		v.results.add(parseWarning(w))
	}
	if err == nil {
		return v
	}
	var se *apierrors.StatusError
	if !errors.As(err, &se) {
		v.problem = "dry-run create: " + err.Error()
		return v
	}
	st := se.Status()
	if st.Reason != metav1.StatusReasonForbidden && st.Reason != metav1.StatusReasonInvalid {
		v.problem = fmt.Sprintf("dry-run create: %s (%d): %s", st.Reason, st.Code, st.Message)
		return v
	}
	if st.Details == nil || len(st.Details.Causes) == 0 {
		v.problem = fmt.Sprintf("dry-run create: %s without causes: %s", st.Reason, st.Message)
		return v
	}
	for _, cause := range st.Details.Causes {
		policy, _, _ := strings.Cut(cause.Message, ": ")
		v.results.add(result{Policy: policy, Outcome: outcomeDeny, Field: cause.Field})
	}
	return v
}

// parseWarning reads one admission warning, `policy: field: message
// (remediation)` with the field left out when empty: a waived result ends
// with "(waived by ns/name until <time>)", one that could not be evaluated
// has the message "could not be evaluated: ...".
func parseWarning(w string) result {
	segs := strings.Split(w, ": ")
	r := result{Policy: segs[0], Outcome: outcomeWarn}
	msg := strings.Join(segs[1:], ": ")
	if len(segs) >= 3 && !strings.Contains(segs[1], " ") {
		r.Field = segs[1]
		msg = strings.Join(segs[2:], ": ")
	}
	switch {
	case strings.Contains(w, "(waived by "):
		r.Outcome = outcomeWaived
	case strings.HasPrefix(msg, "could not be evaluated:"):
		r.Outcome = outcomeError
	}
	return r
}

// create makes obj for real as the manager's identity (the webhooks let
// it through) and waits until the manager's cache, which the webhooks and
// reconcilers read, holds it: the next object judged must see it.
func (c *cluster) create(ctx context.Context, obj *unstructured.Unstructured) error {
	if err := c.exempt.Create(ctx, obj.DeepCopy()); err != nil {
		return fmt.Errorf("creating %s: %w", objKey(obj.GetKind(), obj.GetNamespace(), obj.GetName()), err)
	}
	gvk := obj.GroupVersionKind()
	var target client.Object
	if gvk.Group == "" && gvk.Kind == "Secret" {
		// The resolver reads only the metadata of Secrets.
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(gvk)
		target = m
	} else {
		o, err := c.scheme.New(gvk)
		if err != nil {
			return err
		}
		typed, ok := o.(client.Object)
		if !ok {
			return fmt.Errorf("%s: the scheme's %T is not a client.Object", gvk, o)
		}
		target = typed
	}
	key := client.ObjectKeyFromObject(obj)
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		return c.cache.Get(ctx, key, target) == nil, nil
	})
	if err != nil {
		return fmt.Errorf("%s never reached the manager's cache: %w", objKey(obj.GetKind(), obj.GetNamespace(), obj.GetName()), err)
	}
	return nil
}

// waitCompiled waits until the GuardrailPolicy's reconciler has put the
// current generation in force in the shared engine.
func (c *cluster) waitCompiled(ctx context.Context, name string) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind(v1alpha1.KindGuardrailPolicy))
		if err := c.exempt.Get(ctx, client.ObjectKey{Name: name}, u); err != nil {
			last = err.Error()
			return false, nil
		}
		compiled, _, _ := unstructured.NestedBool(u.Object, "status", "compiled")
		observed, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
		last = fmt.Sprintf("compiled=%v observedGeneration=%d generation=%d", compiled, observed, u.GetGeneration())
		return compiled && observed == u.GetGeneration(), nil
	})
	if err != nil {
		return fmt.Errorf("GuardrailPolicy %s not compiled (%s): %w", name, last, err)
	}
	return nil
}

// ---- door (c): the reconcilers' status ----

// statusVerdict reads an object's status.violations, and whether the
// reconciler has judged its current generation (status.observedGeneration
// equals metadata.generation and a Ready condition exists).
func (c *cluster) statusVerdict(ctx context.Context, d *doc) (verdict, bool) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(d.obj.GroupVersionKind())
	if err := c.exempt.Get(ctx, client.ObjectKeyFromObject(d.obj), u); err != nil {
		return verdict{results: resultSet{}, problem: "reading the object: " + err.Error()}, false
	}
	v := verdict{results: resultSet{}}
	violations, _, err := unstructured.NestedSlice(u.Object, "status", "violations")
	if err != nil {
		v.problem = "status.violations: " + err.Error()
	}
	for _, x := range violations {
		m, ok := x.(map[string]any)
		if !ok {
			v.problem = fmt.Sprintf("status.violations holds a %T", x)
			continue
		}
		str := func(k string) string { s, _ := m[k].(string); return s }
		r := result{Policy: str("policy"), Outcome: str("enforcement"), Field: str("field")}
		if str("exception") != "" {
			r.Outcome = outcomeWaived
		}
		v.results.add(r)
	}
	observed, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	ready := "none"
	for _, x := range conditions {
		if m, ok := x.(map[string]any); ok && m["type"] == v1alpha1.ConditionReady {
			ready = fmt.Sprintf("%v (%v: %v)", m["status"], m["reason"], m["message"])
		}
	}
	reconciled := observed == u.GetGeneration() && ready != "none"
	if !reconciled && v.problem == "" {
		v.problem = fmt.Sprintf("not reconciled: status.observedGeneration %d, metadata.generation %d, Ready condition %s", observed, u.GetGeneration(), ready)
	}
	return v, reconciled
}

// ---- door (d): the background audit's reports ----

// reportVerdicts reads every Report and the ClusterReport the audit wrote
// and returns the results by object key: fail is deny (or audit, as the
// result's enforcement property says), warn warn, error error, skip waived;
// pass results are no result.
func (c *cluster) reportVerdicts(ctx context.Context) (map[string]resultSet, error) {
	out := map[string]resultSet{}
	add := func(results []openreportsv1alpha1.ReportResult) {
		for _, r := range results {
			if len(r.Subjects) != 1 {
				continue
			}
			s := r.Subjects[0]
			k := objKey(s.Kind, s.Namespace, s.Name)
			if out[k] == nil {
				out[k] = resultSet{}
			}
			outcome := ""
			switch r.Result {
			case "pass":
				continue
			case "skip":
				outcome = outcomeWaived
			case "warn":
				outcome = outcomeWarn
			case "error":
				outcome = outcomeError
			default:
				outcome = r.Properties[audit.PropEnforcement]
			}
			out[k].add(result{Policy: r.Policy, Outcome: outcome, Field: r.Properties[audit.PropField]})
		}
	}
	var reports openreportsv1alpha1.ReportList
	if err := c.exempt.List(ctx, &reports); err != nil {
		return nil, err
	}
	for i := range reports.Items {
		add(reports.Items[i].Results)
	}
	var cluster openreportsv1alpha1.ClusterReport
	err := c.exempt.Get(ctx, client.ObjectKey{Name: audit.ReportName}, &cluster)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	add(cluster.Results)
	return out, nil
}

// ---- door (b): guardrails check ----

// buildCLI builds ./cmd/guardrails into dir and returns the binary's path.
func buildCLI(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "guardrails")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/guardrails")
	cmd.Dir = repoPath()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/guardrails: %w\n%s", err, out)
	}
	return bin, nil
}

// cliResult is the part of one `check -o json` result the suite reads.
type cliResult struct {
	Kind        string `json:"kind"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	Policy      string `json:"policy"`
	Enforcement string `json:"enforcement"`
	Field       string `json:"field"`
	Exception   string `json:"exception"`
}

type cliReport struct {
	Results []cliResult `json:"results"`
	Summary struct {
		Objects int `json:"objects"`
	} `json:"summary"`
}

// check runs `guardrails check -f base -f corpus --now <now> -o json` and
// returns the results by object key, and how many objects it judged.
func check(ctx context.Context, bin string, now time.Time) (map[string]resultSet, int, error) {
	args := []string{"check", "--now", now.UTC().Format(time.RFC3339), "-o", "json"}
	for _, d := range worldDirs {
		args = append(args, "-f", d)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.ExitCode() == 1: // a deny result: expected
	default:
		return nil, 0, fmt.Errorf("guardrails %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var rep cliReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return nil, 0, fmt.Errorf("reading the JSON report of guardrails check: %w\n%s", err, stdout.String())
	}
	out := map[string]resultSet{}
	for _, r := range rep.Results {
		k := objKey(r.Kind, r.Namespace, r.Name)
		if out[k] == nil {
			out[k] = resultSet{}
		}
		res := result{Policy: r.Policy, Outcome: r.Enforcement, Field: r.Field}
		if r.Exception != "" {
			res.Outcome = outcomeWaived
		}
		out[k].add(res)
	}
	return out, rep.Summary.Objects, nil
}
