package policyset_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/controllers"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policyset"
	"github.com/martech-guardrails/guardrails/internal/testenv"
)

const (
	templateKey   = "ConstraintTemplate/k8srequiredlabels"
	constraintKey = "K8sRequiredLabels/deployments-need-campaign"
)

func gatekeeperFile(name string) string { return testenv.RepoPath("test", "gatekeeper", name) }

// TestGatekeeperLoader runs the loader in a real manager (the manager's
// cache options, and only the manager's generated ClusterRole as its
// rights) against a real API server where Gatekeeper's template CRD is
// served and the constraint CRD appears after the template, as Gatekeeper
// makes it. No Gatekeeper runs: the test writes what it would.
func TestGatekeeperLoader(t *testing.T) {
	ctrl.SetLogger(zap.New(zap.WriteTo(testWriter{t}), zap.UseDevMode(true)))
	if _, err := os.Stat(filepath.Join(testenv.Assets(), "kube-apiserver")); err != nil {
		t.Fatalf("kube-apiserver not found in %s: run `make envtest-bins`", testenv.Assets())
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{testenv.RepoPath("config", "crd", "bases"), gatekeeperFile("constrainttemplate-customresourcedefinition.yaml")},
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
	mgrCfg := managerIdentity(t, env, c)
	mgr, err := ctrl.NewManager(mgrCfg, ctrl.Options{
		Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Cache: controllers.CacheOptions(nil), // the manager's: it must not filter Gatekeeper's objects out
	})
	if err != nil {
		t.Fatal(err)
	}
	engine := newEngine(t)
	loader := policyset.New(engine).WithGatekeeper(policyset.GatekeeperOptions{Recheck: 200 * time.Millisecond})
	disabledEngine := newEngine(t)
	disabled := policyset.New(disabledEngine).WithGatekeeper(policyset.GatekeeperOptions{Disabled: true})
	changes := loader.Changes()
	for _, l := range []*policyset.Loader{loader, disabled} {
		if err := l.Add(mgr); err != nil {
			t.Fatal(err)
		}
	}
	// Running once both loaders have made their first load.
	synced := func(*http.Request) error {
		for _, l := range []*policyset.Loader{loader, disabled} {
			select {
			case <-l.Synced():
			default:
				return policyset.ErrNotSynced
			}
		}
		return nil
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
	ctx := context.Background()
	if g := loader.Gatekeeper().Generations; len(g) != 0 {
		t.Fatalf("no templates yet, the engine was given %v", g)
	}

	// The template first, and its constraint CRD only later: the loader
	// gives the engine the template at once and watches the kind when it
	// is served (on its next look, or on the template's status update
	// Gatekeeper writes then).
	template := readObject(t, gatekeeperFile("k8srequiredlabels-template.yaml"))
	if err := c.Create(ctx, template); err != nil {
		t.Fatal(err)
	}
	waitLoaded(t, loader, templateKey, template.GetGeneration())
	cel := readObject(t, gatekeeperFile("k8sdisallowedtags-cel-template.yaml"))
	if err := c.Create(ctx, cel); err != nil {
		t.Fatal(err)
	}
	waitLoaded(t, loader, "ConstraintTemplate/k8sdisallowedtags", cel.GetGeneration())
	if reason := loader.Gatekeeper().Report.Skipped["k8sdisallowedtags"]; !strings.Contains(reason, "K8sNativeValidation") {
		t.Fatalf("a CEL-only template is reported skipped with the reason; report: %+v", loader.Gatekeeper().Report)
	}
	if err := c.Delete(ctx, cel); err != nil {
		t.Fatal(err)
	}
	waitLoaded(t, loader, "ConstraintTemplate/k8sdisallowedtags", 0)
	drain(changes)
	if _, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{Paths: []string{gatekeeperFile("k8srequiredlabels-constraint-crd.yaml")}, ErrorIfPathMissing: true}); err != nil {
		t.Fatal(err)
	}
	constraint := readObject(t, gatekeeperFile("k8srequiredlabels-constraint.yaml"))
	if err := c.Create(ctx, constraint); err != nil {
		t.Fatal(err)
	}
	waitLoaded(t, loader, constraintKey, constraint.GetGeneration())
	if errs := loader.Gatekeeper().Report.Errors; len(errs) != 0 {
		t.Fatalf("report errors: %v", errs)
	}
	select {
	case <-changes:
	case <-time.After(10 * time.Second):
		t.Fatal("no change event after the constraint was loaded: workloads and the audit would not see it")
	}

	// The engine judges with what the loader gave it.
	dep := deployment("spring-sale", "gatekeeper-demo", nil)
	if msgs := denials(t, engine, dep); len(msgs) != 1 || msgs[0] != `Deployment spring-sale must carry the labels {"martech.guardrails.dev/campaign"}` {
		t.Fatalf("review of a Deployment without the label: %q", msgs)
	}
	if msgs := denials(t, engine, deployment("spring-sale", "gatekeeper-demo", map[string]any{"martech.guardrails.dev/campaign": "spring"})); len(msgs) != 0 {
		t.Fatalf("review of a Deployment with the label: %q", msgs)
	}
	if msgs := denials(t, disabledEngine, dep); len(msgs) != 0 || len(disabled.Gatekeeper().Generations) != 0 {
		t.Fatalf("a loader with Gatekeeper disabled gave its engine %v (denials %q)", disabled.Gatekeeper().Generations, msgs)
	}

	// A status write (Gatekeeper's audit, every minute) changes nothing.
	drain(changes)
	status := constraint.DeepCopy()
	if err := c.Get(ctx, client.ObjectKeyFromObject(constraint), status); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(status.Object, int64(3), "status", "totalViolations"); err != nil {
		t.Fatal(err)
	}
	if err := c.Status().Update(ctx, status); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changes:
		t.Fatal("a constraint's status update reloaded the set and re-reconciled every workload")
	case <-time.After(2 * time.Second):
	}

	// The template goes (Gatekeeper then deletes its CRD and constraints):
	// the engine is given nothing, the kind is no longer watched.
	if err := c.Delete(ctx, template); err != nil {
		t.Fatal(err)
	}
	waitLoaded(t, loader, templateKey, 0)
	if g := loader.Gatekeeper().Generations; len(g) != 0 {
		t.Fatalf("after the template was deleted the engine holds %v", g)
	}
	if msgs := denials(t, engine, dep); len(msgs) != 0 {
		t.Fatalf("after the template was deleted: %q", msgs)
	}
}

// managerIdentity is a user granted config/rbac/role.yaml, the manager's
// generated ClusterRole, and nothing else.
func managerIdentity(t *testing.T, env *envtest.Environment, c client.Client) *rest.Config {
	t.Helper()
	role := &rbacv1.ClusterRole{}
	if err := testenv.ReadObject(testenv.RepoPath("config", "rbac", "role.yaml"), role); err != nil {
		t.Fatal(err)
	}
	const user = "system:serviceaccount:guardrails-system:guardrails-controller-manager"
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "manager"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
	for _, o := range []client.Object{role, binding} {
		if err := c.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	u, err := env.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return u.Config()
}

func newEngine(t *testing.T) *policy.Engine {
	t.Helper()
	e, err := policy.New(policy.Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// waitLoaded waits until the loader gave its engine generation gen of key
// (0: until key is gone).
func waitLoaded(t *testing.T, l *policyset.Loader, key string, gen int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for l.Gatekeeper().Generations[key] != gen {
		if time.Now().After(deadline) {
			t.Fatalf("the loader never gave the engine %s generation %d; it holds %v", key, gen, l.Gatekeeper().Generations)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func drain(ch <-chan event.GenericEvent) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func deployment(name, namespace string, labels map[string]any) *unstructured.Unstructured {
	meta := map[string]any{"name": name, "namespace": namespace}
	if labels != nil {
		meta["labels"] = labels
	}
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta}}
}

// denials are the messages of the deny results of engine.Review.
func denials(t *testing.T, engine *policy.Engine, obj *unstructured.Unstructured) []string {
	t.Helper()
	d, err := engine.Review(context.Background(), policy.ReviewRequest{Object: obj, Namespace: policy.Namespace{Name: obj.GetNamespace()}})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range d.Results {
		if r.Enforcement == "deny" {
			out = append(out, r.Message)
		}
	}
	return out
}

func readObject(t *testing.T, path string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := testenv.ReadObject(path, &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

// testWriter sends the manager's log to the test's.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}
