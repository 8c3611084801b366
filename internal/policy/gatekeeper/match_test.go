package gatekeeper

import "testing"

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "anything", true},
		{"kube-*", "kube-system", true},
		{"kube-*", "default", false},
		{"*-prod", "shop-prod", true},
		{"*-prod", "shop-dev", false},
		{"campaigns", "campaigns", true},
		{"campaigns", "campaign", false},
	} {
		if got := glob(c.pattern, c.s); got != c.want {
			t.Errorf("glob(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestKeys(t *testing.T) {
	if got := Key("K8sRequiredLabels", "must-have-tier"); got != "K8sRequiredLabels/must-have-tier" {
		t.Errorf("Key = %q", got)
	}
	if got := TemplateKey("k8srequiredlabels"); got != "ConstraintTemplate/k8srequiredlabels" {
		t.Errorf("TemplateKey = %q", got)
	}
}
