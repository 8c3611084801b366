package render

import (
	"fmt"
	"hash/fnv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	v1alpha1 "github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// Label keys on every child object.
const (
	LabelName       = "app.kubernetes.io/name"
	LabelInstance   = "app.kubernetes.io/instance"
	LabelManagedBy  = "app.kubernetes.io/managed-by"
	LabelPartOf     = "app.kubernetes.io/part-of"
	LabelTeam       = "martech.guardrails.dev/team"
	LabelCostCenter = "martech.guardrails.dev/cost-center"
	LabelCampaign   = "martech.guardrails.dev/campaign"
)

// Labels are the standard labels of every child of w: the recommended
// app.kubernetes.io set plus team, cost centre and campaign (each only when
// set), all values sanitised to valid label values. part-of is the campaign
// name, or the workload name without a campaign. The map is new on every
// call.
func Labels(w *v1alpha1.MarketingWorkload) map[string]string {
	name := labelValue(w.Name)
	l := map[string]string{
		LabelName:      name,
		LabelInstance:  name,
		LabelManagedBy: FieldOwner,
		LabelPartOf:    name,
	}
	if c := w.Spec.Campaign; c != nil && labelValue(c.Name) != "" {
		l[LabelPartOf] = labelValue(c.Name)
		l[LabelCampaign] = labelValue(c.Name)
	}
	if v := labelValue(w.Spec.Owner.Team); v != "" {
		l[LabelTeam] = v
	}
	if v := labelValue(w.Spec.CostCenter); v != "" {
		l[LabelCostCenter] = v
	}
	return l
}

// SelectorLabels select the pods of w: the instance label alone, which is
// derived from the (immutable) name, so the Deployment's immutable selector
// never has to change.
func SelectorLabels(w *v1alpha1.MarketingWorkload) map[string]string {
	return map[string]string{LabelInstance: labelValue(w.Name)}
}

// labelValue makes s a valid label value: characters outside [A-Za-z0-9-_.]
// become '-', leading and trailing non-alphanumerics are dropped, and a value
// longer than 63 characters is cut and suffixed with a hash of the original so
// that distinct long inputs stay distinct.
func labelValue(s string) string {
	if len(validation.IsValidLabelValue(s)) == 0 {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			b[i] = '-'
		}
	}
	v := trimNonAlnum(string(b))
	if len(v) > validation.LabelValueMaxLength {
		h := fnv.New32a()
		h.Write([]byte(s))
		v = fmt.Sprintf("%s-%08x", trimNonAlnum(v[:validation.LabelValueMaxLength-9]), h.Sum32())
	}
	return v
}

func trimNonAlnum(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r > 0x7f || !isAlnum(byte(r)) }) //nolint:gosec // r is ASCII here: r > 0x7f returned first
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
