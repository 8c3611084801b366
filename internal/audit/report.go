package audit

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	openreportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/internal/policy"
)

// The report APIs the audit can write (--report-api).
const (
	// ReportAPIOpenReports writes openreports.io/v1alpha1 Report and
	// ClusterReport, with the types of github.com/openreports/reports-api.
	ReportAPIOpenReports = "openreports.io/v1alpha1"
	// ReportAPIWGPolicy writes wgpolicyk8s.io/v1alpha2 PolicyReport and
	// ClusterPolicyReport, for Policy Reporter or Kyverno versions that read
	// only those. The content is the same (openreports.io is their
	// successor; the fields are the same), less the top-level source and
	// configuration the older API lacks.
	ReportAPIWGPolicy = "wgpolicyk8s.io/v1alpha2"
	// ReportAPINone writes no reports: statuses and metrics only.
	ReportAPINone = "none"
)

// Source is results' and reports' source, as Policy Reporter shows it.
const Source = "martech-guardrails"

// ReportName is the name of the one report per namespace and the one
// cluster report.
const ReportName = "martech-guardrails"

// Labels on every report the audit writes.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
)

// DefaultMaxResults is --report-max-results: results kept per report.
const DefaultMaxResults = 500

// Properties of a result.
const (
	PropEnforcement      = "enforcement"
	PropField            = "field"
	PropRemediation      = "remediation"
	PropException        = "exception"
	PropExceptionExpires = "exceptionExpiresAt"
	PropTitle            = "title"
)

// reportKinds are the kinds of one report API: namespaced and cluster.
type reportKinds struct {
	gv                 schema.GroupVersion
	namespaced, global string
}

func kindsOf(api string) (reportKinds, error) {
	switch api {
	case ReportAPIOpenReports, "":
		return reportKinds{schema.GroupVersion{Group: openreportsv1alpha1.GroupName, Version: openreportsv1alpha1.GroupVersion.Version}, "Report", "ClusterReport"}, nil
	case ReportAPIWGPolicy:
		return reportKinds{schema.GroupVersion{Group: "wgpolicyk8s.io", Version: "v1alpha2"}, "PolicyReport", "ClusterPolicyReport"}, nil
	case ReportAPINone:
		return reportKinds{}, nil
	}
	return reportKinds{}, fmt.Errorf("--report-api %q: want %s, %s or %s", api, ReportAPIOpenReports, ReportAPIWGPolicy, ReportAPINone)
}

func (k reportKinds) kind(namespace string) string {
	if namespace == "" {
		return k.global
	}
	return k.namespaced
}

// Result values, by how a policy result counts.
const (
	resultPass  = openreportsv1alpha1.Result("pass")
	resultFail  = openreportsv1alpha1.Result("fail")
	resultWarn  = openreportsv1alpha1.Result("warn")
	resultError = openreportsv1alpha1.Result("error")
	resultSkip  = openreportsv1alpha1.Result("skip")
)

// resultOf maps a policy result: a waived one is skip (the exception in
// its properties), deny and audit fail, warn warns, error is error.
func resultOf(r *policy.Result) openreportsv1alpha1.Result {
	switch {
	case r.Waived():
		return resultSkip
	case r.Enforcement == "warn":
		return resultWarn
	case r.Enforcement == policy.EnforcementError:
		return resultError
	}
	return resultFail
}

// rank orders results in a capped report: what needs acting on first.
func rank(r openreportsv1alpha1.Result) int {
	switch r {
	case resultFail:
		return 0
	case resultError:
		return 1
	case resultWarn:
		return 2
	case resultSkip:
		return 3
	}
	return 4
}

// content is what a report says, with the results in a stable order;
// timestamps do not count when comparing two.
type content struct {
	Summary openreportsv1alpha1.ReportSummary  `json:"summary"`
	Results []openreportsv1alpha1.ReportResult `json:"results,omitempty"`
	Max     int                                `json:"-"`
}

// judged is one object's decision, for its scope's report.
type judged struct {
	ref      corev1.ObjectReference
	decision *policy.Decision
}

// buildContent turns a scope's decisions into a report's content: every
// result counted in the summary, at most limit kept (in rank order).
func buildContent(objs []judged, limit int, now time.Time) content {
	var c content
	c.Max = limit
	ts := metav1.Timestamp{Seconds: now.Unix()}
	var all []openreportsv1alpha1.ReportResult
	for _, o := range objs {
		d := o.decision
		failing := map[string]bool{}
		for i := range d.Results {
			r := &d.Results[i]
			failing[policy.OfResult(r.Policy)] = true
			props := map[string]string{PropEnforcement: r.Enforcement}
			if r.Title != "" {
				props[PropTitle] = policy.Bound(r.Title, policy.MaxViolationText)
			}
			if r.Field != "" {
				props[PropField] = policy.Bound(r.Field, policy.MaxViolationText)
			}
			if r.Remediation != "" {
				props[PropRemediation] = policy.Bound(r.Remediation, policy.MaxViolationText)
			}
			if r.Exception != nil {
				props[PropException] = r.Exception.String()
				props[PropExceptionExpires] = r.Exception.ExpiresAt.UTC().Format(time.RFC3339)
			}
			all = append(all, openreportsv1alpha1.ReportResult{
				Source:      Source,
				Policy:      r.Policy,
				Category:    r.Category,
				Severity:    openreportsv1alpha1.ResultSeverity(r.Severity),
				Timestamp:   ts,
				Result:      resultOf(r),
				Scored:      true,
				Subjects:    []corev1.ObjectReference{o.ref},
				Description: policy.Bound(r.Message, policy.MaxViolationText),
				Properties:  props,
			})
		}
		for _, p := range d.Policies {
			if !failing[p] {
				all = append(all, openreportsv1alpha1.ReportResult{
					Source: Source, Policy: p, Timestamp: ts, Result: resultPass, Scored: true,
					Subjects: []corev1.ObjectReference{o.ref},
				})
			}
		}
	}
	for i := range all {
		switch all[i].Result {
		case resultPass:
			c.Summary.Pass++
		case resultFail:
			c.Summary.Fail++
		case resultWarn:
			c.Summary.Warn++
		case resultError:
			c.Summary.Error++
		case resultSkip:
			c.Summary.Skip++
		}
	}
	slices.SortFunc(all, func(a, b openreportsv1alpha1.ReportResult) int {
		return cmp.Or(
			cmp.Compare(rank(a.Result), rank(b.Result)),
			strings.Compare(a.Subjects[0].Kind, b.Subjects[0].Kind),
			strings.Compare(a.Subjects[0].Name, b.Subjects[0].Name),
			strings.Compare(a.Policy, b.Policy),
			strings.Compare(a.Description, b.Description),
		)
	})
	if limit >= 0 && len(all) > limit {
		all = all[:limit]
	}
	c.Results = all
	return c
}

// fingerprint identifies a content regardless of its timestamps.
func fingerprint(summary, results any) (string, error) {
	b, err := json.Marshal(struct {
		Summary any `json:"summary"`
		Results any `json:"results"`
	}{summary, results})
	if err != nil {
		return "", err
	}
	var v struct {
		Summary any              `json:"summary"`
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return "", err
	}
	for _, r := range v.Results {
		delete(r, "timestamp")
	}
	b, err = json.Marshal(v)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", sha256.Sum256(b)), nil
}

// object is the report resource for a scope ("" is the cluster).
func (k reportKinds) object(namespace string, c content) (*unstructured.Unstructured, error) {
	var m map[string]any
	var err error
	om := metav1.ObjectMeta{Name: ReportName, Namespace: namespace, Labels: map[string]string{LabelManagedBy: Source}}
	cfg := &openreportsv1alpha1.ReportConfiguration{Limits: openreportsv1alpha1.Limits{MaxResults: c.Max}}
	if namespace == "" {
		m, err = runtime.DefaultUnstructuredConverter.ToUnstructured(&openreportsv1alpha1.ClusterReport{
			ObjectMeta: om, Source: Source, Configuration: cfg, Summary: c.Summary, Results: c.Results,
		})
	} else {
		m, err = runtime.DefaultUnstructuredConverter.ToUnstructured(&openreportsv1alpha1.Report{
			ObjectMeta: om, Source: Source, Configuration: cfg, Summary: c.Summary, Results: c.Results,
		})
	}
	if err != nil {
		return nil, err
	}
	if k.gv.Group != openreportsv1alpha1.GroupName {
		delete(m, "source") // not in wgpolicyk8s.io/v1alpha2
		delete(m, "configuration")
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(k.gv.WithKind(k.kind(namespace)))
	return u, nil
}

// writer writes a scope's report only when its content changed: it
// remembers the fingerprint of what each report holds, and reads a report
// from the API server only when it does not know it.
type writer struct {
	kinds   reportKinds
	client  client.Client // writes
	reader  client.Reader // the API server, uncached: reports are not cached
	metrics *metrics
	known   map[string]string // scope → fingerprint of the stored report ("" none)
}

// forget drops what the writer knows: the next write of each scope reads
// the report from the API server again (someone may have edited it).
func (w *writer) forget() { w.known = map[string]string{} }

// write makes the scope's report hold c. It returns whether it wrote.
func (w *writer) write(ctx context.Context, namespace string, c content) (bool, error) {
	fp, err := fingerprint(c.Summary, c.Results)
	if err != nil {
		return false, err
	}
	if known, ok := w.known[namespace]; ok && known == fp {
		return false, nil
	}
	desired, err := w.kinds.object(namespace, c)
	if err != nil {
		return false, err
	}
	current := &unstructured.Unstructured{}
	current.SetGroupVersionKind(desired.GroupVersionKind())
	err = w.reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ReportName}, current)
	switch {
	case apierrors.IsNotFound(err):
		if err := w.client.Create(ctx, desired); err != nil {
			return false, err
		}
		w.metrics.reportWrite(desired.GetKind(), "create")
	case err != nil:
		return false, err
	default:
		stored, err := fingerprint(current.Object["summary"], current.Object["results"])
		if err != nil {
			return false, err
		}
		if stored == fp {
			w.known[namespace] = fp
			return false, nil
		}
		desired.SetResourceVersion(current.GetResourceVersion())
		if err := w.client.Update(ctx, desired); err != nil {
			return false, err
		}
		w.metrics.reportWrite(desired.GetKind(), "update")
	}
	w.known[namespace] = fp
	return true, nil
}

// remove deletes the scope's report (the scope has no objects left).
func (w *writer) remove(ctx context.Context, namespace string) (bool, error) {
	if fp, ok := w.known[namespace]; ok && fp == "" {
		return false, nil
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(w.kinds.gv.WithKind(w.kinds.kind(namespace)))
	u.SetNamespace(namespace)
	u.SetName(ReportName)
	err := w.client.Delete(ctx, u)
	w.known[namespace] = ""
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		delete(w.known, namespace)
		return false, err
	}
	w.metrics.reportWrite(u.GetKind(), "delete")
	return true, nil
}

// installed reports whether the API server serves the report kinds.
func (w *writer) installed(mapper meta.RESTMapper) (bool, error) {
	for _, kind := range []string{w.kinds.namespaced, w.kinds.global} {
		_, err := mapper.RESTMapping(schema.GroupKind{Group: w.kinds.gv.Group, Kind: kind}, w.kinds.gv.Version)
		if meta.IsNoMatchError(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
	return true, nil
}
