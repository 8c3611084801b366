package policyset_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policyset"
	"github.com/martech-guardrails/guardrails/internal/testenv"
)

// sizedPolicy is a GuardrailPolicy of about size bytes of Rego.
func sizedPolicy(name string, size int) *v1alpha1.GuardrailPolicy {
	pkg := strings.ReplaceAll(name, "-", "_")
	rego := fmt.Sprintf("package acme.%s\n\nviolation contains \"never\" if {\n\tinput.object.metadata.name == \"%s\"\n}\n", pkg, name)
	rego += "# " + strings.Repeat("x", max(0, size-len(rego)-3)) + "\n"
	return &v1alpha1.GuardrailPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1alpha1.GuardrailPolicySpec{Rego: rego, Targets: []v1alpha1.TargetKind{v1alpha1.KindMarketingWorkload}},
	}
}

// TestLoaderPolicySetBound: the loader gives the engine every
// GuardrailPolicy; those past the policy set's bound are refused with an
// error naming it (what the reconciler writes into status), those in force
// stay, and a policy in force that grows past the bound keeps its last good
// version.
func TestLoaderPolicySetBound(t *testing.T) {
	engine, err := policy.New(policy.Options{Timeout: 10 * time.Second, MaxPolicySetRego: 2500})
	if err != nil {
		t.Fatal(err)
	}
	c, loader, _ := startLoader(t, engine)
	ctx := context.Background()
	inForce := func(name string) bool {
		for _, p := range engine.Policies() {
			if p.Name == name {
				return true
			}
		}
		return false
	}
	wait := func(gp *v1alpha1.GuardrailPolicy) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if g, ok := loader.Loaded(gp.Name); ok && g == gp.Generation {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the loader never loaded %s generation %d", gp.Name, gp.Generation)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	var gps []*v1alpha1.GuardrailPolicy
	for _, name := range []string{"one", "two", "three"} {
		gp := sizedPolicy(name, 1000)
		if err := c.Create(ctx, gp); err != nil {
			t.Fatal(err)
		}
		wait(gp)
		gps = append(gps, gp)
	}
	if !inForce("one") || !inForce("two") || inForce("three") {
		t.Fatalf("in force: one %v, two %v, three %v; want one and two", inForce("one"), inForce("two"), inForce("three"))
	}
	errs := engine.Errors("three")
	if len(errs) != 1 || !strings.Contains(errs[0].Message, "over the limit of 2500 bytes") {
		t.Fatalf("errors of three: %+v", errs)
	}
	t.Log(errs[0].Error())
	// "one" grows past the bound (by itself): its last good version stays.
	one := gps[0]
	one.Spec.Rego = sizedPolicy("one", 2600).Spec.Rego
	if err := c.Update(ctx, one); err != nil {
		t.Fatal(err)
	}
	wait(one)
	if !inForce("one") || len(engine.Errors("one")) != 1 {
		t.Fatalf("one: in force %v, errors %+v", inForce("one"), engine.Errors("one"))
	}
	// Deleting "two" makes room: "three" comes into force.
	if err := c.Delete(ctx, gps[1]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !inForce("three") {
		if time.Now().After(deadline) {
			t.Fatalf("three never came into force: %+v", engine.Errors("three"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startLoader starts an API server (envtest) and a manager running a
// loader of engine (Gatekeeper off), and returns a client of the API
// server, the loader once synced, and the manager.
func startLoader(t *testing.T, engine *policy.Engine) (client.Client, *policyset.Loader, ctrl.Manager) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(testenv.Assets(), "kube-apiserver")); err != nil {
		t.Fatalf("kube-apiserver not found in %s: run `make envtest-bins`", testenv.Assets())
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{testenv.RepoPath("config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: testenv.Assets(),
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0"})
	if err != nil {
		t.Fatal(err)
	}
	loader := policyset.New(engine).WithGatekeeper(policyset.GatekeeperOptions{Disabled: true})
	if err := loader.Add(mgr); err != nil {
		t.Fatal(err)
	}
	synced := func(*http.Request) error {
		select {
		case <-loader.Synced():
			return nil
		default:
			return policyset.ErrNotSynced
		}
	}
	stop, err := testenv.Run(mgr, synced, time.Minute)
	if stop != nil {
		t.Cleanup(func() {
			if err := stop(); err != nil {
				t.Errorf("manager: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return c, loader, mgr
}
