package manifest

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

const gatekeeperInputs = `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: needlabels}
spec:
  crd: {spec: {names: {kind: NeedLabels}}}
  targets: [{target: admission.k8s.gatekeeper.sh, rego: "package needlabels\nviolation[{\"msg\": \"x\"}] { false }"}]
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: NeedLabels
metadata: {name: owner}
spec: {parameters: {labels: [owner]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {replicas: 1}
---
apiVersion: v1
kind: Secret
metadata: {name: token, namespace: shop}
data: {token: c2VjcmV0}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: growth}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
---
apiVersion: martech.guardrails.dev/v1alpha1
kind: Vendor
metadata: {name: crm}
spec: {displayName: CRM, category: crm, status: approved}
---
apiVersion: martech.guardrails.dev/v1alpha1
kind: MarketingWorkload
metadata: {name: site, namespace: shop}
spec: {image: "ghcr.io/acme/site:1.0.0"}
`

func TestLoadGatekeeperAndInventory(t *testing.T) {
	fsys := fstest.MapFS{"in.yaml": {Data: []byte(gatekeeperInputs)}}
	w, errs := Load(context.Background(), Inputs{FS: fsys, Files: []string{"in.yaml"}, Namespace: "marketing"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	tpls, cons := w.GatekeeperTemplates(), w.GatekeeperConstraints()
	if len(tpls) != 1 || tpls[0].Key() != "ConstraintTemplate/needlabels" || tpls[0].Pos() != "in.yaml:1" {
		t.Errorf("templates %v", tpls)
	}
	if len(cons) != 1 || cons[0].Key() != "NeedLabels/owner" || cons[0].Pos() != "in.yaml:8" {
		t.Errorf("constraints %v", cons)
	}
	if w.GatekeeperObject("NeedLabels/owner") != cons[0] {
		t.Error("GatekeeperObject does not find the constraint")
	}
	// Our kinds are items, not inventory; the rest is inventory.
	var got []string
	for _, o := range w.Inventory() {
		got = append(got, o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName())
		if o.GetKind() == "Secret" && o.Object["data"] != nil {
			t.Errorf("the Secret's data is in the inventory: %v", o.Object)
		}
	}
	if want := "Deployment/marketing/web Secret/shop/token Namespace//shop ClusterRole//reader"; strings.Join(got, " ") != want {
		t.Errorf("inventory %q, want %q", strings.Join(got, " "), want)
	}
	if len(w.Subjects()) != 2 {
		t.Errorf("subjects %d, want the Vendor and the MarketingWorkload", len(w.Subjects()))
	}
	// Every request carries the inventory.
	req, err := w.Request(context.Background(), Objects[*v1alpha1.MarketingWorkload](w)[0], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if req.Inventory.Len() != 4 {
		t.Errorf("request inventory %d objects, want 4", req.Inventory.Len())
	}
}

func TestLoadGatekeeperErrors(t *testing.T) {
	src := gatekeeperInputs + `---
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: needlabels}
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: NeedLabels
metadata: {labels: {a: b}}
---
apiVersion: martech.guardrails.dev/v1alpha1
kind: Campaign
metadata: {name: x}
`
	fsys := fstest.MapFS{"in.yaml": {Data: []byte(src)}}
	_, errs := Load(context.Background(), Inputs{FS: fsys, Files: []string{"in.yaml"}, Namespace: DefaultNamespace})
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	want := []string{
		"in.yaml:41: ConstraintTemplate: needlabels is given twice (also at in.yaml:1)",
		"in.yaml:45: NeedLabels: metadata.name: Required value: name is required",
		`in.yaml:49: unknown kind "Campaign" in martech.guardrails.dev`,
	}
	got := strings.Join(msgs, "\n")
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("errors lack %q:\n%s", w, got)
		}
	}
	if len(msgs) != len(want) {
		t.Errorf("%d errors, want %d:\n%s", len(msgs), len(want), got)
	}
}
