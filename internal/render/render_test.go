package render_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/render"
)

const activeNow = "2027-03-15T00:00:00Z"

func mustRender(t *testing.T, in render.Inputs) (render.Children, render.Lifecycle) {
	t.Helper()
	c, lc, err := render.Render(in)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return c, lc
}

func kinds(objs []client.Object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.GetObjectKind().GroupVersionKind().Kind)
	}
	return out
}

func TestChildrenPerPhase(t *testing.T) {
	w := newWorkload(withCampaign("2027-03-01T00:00:00Z", "2027-04-01T00:00:00Z"), withReplicas(3), withExposure("spring.acme.example"))
	tests := []struct {
		now      string
		phase    v1alpha1.WorkloadPhase
		kinds    []string
		absent   []string
		replicas int32
	}{
		{"2027-02-01T00:00:00Z", v1alpha1.PhaseScheduled,
			[]string{"ServiceAccount", "NetworkPolicy", "ConfigMap", "Service", "Deployment"},
			[]string{"PodDisruptionBudget", "Ingress"}, 0},
		{activeNow, v1alpha1.PhaseActive,
			[]string{"ServiceAccount", "NetworkPolicy", "ConfigMap", "Service", "Deployment", "PodDisruptionBudget", "Ingress"},
			nil, 3},
		{"2027-04-02T00:00:00Z", v1alpha1.PhaseEnded,
			[]string{"ServiceAccount", "NetworkPolicy", "ConfigMap", "Service", "Deployment"},
			[]string{"PodDisruptionBudget", "Ingress"}, 0},
		{"2027-06-01T00:00:00Z", v1alpha1.PhaseArchived, nil,
			[]string{"ServiceAccount", "NetworkPolicy", "ConfigMap", "Service", "Deployment", "PodDisruptionBudget", "Ingress"}, 0},
	}
	for _, tt := range tests {
		t.Run(string(tt.phase), func(t *testing.T) {
			c, lc := mustRender(t, render.Inputs{Workload: w, Now: mustTime(tt.now)})
			if lc.Phase != tt.phase {
				t.Fatalf("phase %s, want %s", lc.Phase, tt.phase)
			}
			if got := kinds(c.Objects()); !slices.Equal(got, tt.kinds) {
				t.Errorf("Objects kinds %v, want %v", got, tt.kinds)
			}
			if got := kinds(render.Absent(w, c)); !slices.Equal(got, tt.absent) {
				t.Errorf("Absent kinds %v, want %v", got, tt.absent)
			}
			for _, o := range render.Absent(w, c) {
				if o.GetName() == "" || o.GetNamespace() != w.Namespace || o.GetObjectKind().GroupVersionKind().Version == "" {
					t.Errorf("Absent %T lacks name, namespace or TypeMeta: %+v", o, o)
				}
			}
			if c.Deployment != nil && *c.Deployment.Spec.Replicas != tt.replicas {
				t.Errorf("Deployment replicas %d, want %d", *c.Deployment.Spec.Replicas, tt.replicas)
			}
			if np := c.NetworkPolicy; np != nil && (len(np.Spec.Ingress) > 0) != (tt.phase == v1alpha1.PhaseActive) {
				t.Errorf("NetworkPolicy ingress rules %v in phase %s: only an exposed, active workload admits traffic", np.Spec.Ingress, tt.phase)
			}
			if got := c.Refs(); len(got) != len(tt.kinds) {
				t.Errorf("Refs %v, want one per object", got)
			}
		})
	}
}

func TestPDBPresence(t *testing.T) {
	tests := []struct {
		name string
		opts []workloadOpt
		now  string
		want bool
	}{
		{"replicas unset", nil, activeNow, false},
		{"one replica", []workloadOpt{withReplicas(1)}, activeNow, false},
		{"two replicas", []workloadOpt{withReplicas(2)}, activeNow, true},
		{"five replicas", []workloadOpt{withReplicas(5)}, activeNow, true},
		{"three replicas but scheduled", []workloadOpt{withReplicas(3), withCampaign("2027-04-01T00:00:00Z", "2027-05-01T00:00:00Z")}, activeNow, false},
		{"three replicas but ended", []workloadOpt{withReplicas(3), withCampaign("2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z")}, activeNow, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorkload(tt.opts...)
			c, _ := mustRender(t, render.Inputs{Workload: w, Now: mustTime(tt.now)})
			if (c.PDB != nil) != tt.want {
				t.Fatalf("PDB present = %t, want %t", c.PDB != nil, tt.want)
			}
			if c.PDB == nil {
				return
			}
			if got := c.PDB.Spec.MinAvailable.IntValue(); got != 1 {
				t.Errorf("minAvailable %d, want 1", got)
			}
			if !reflect.DeepEqual(c.PDB.Spec.Selector, c.Deployment.Spec.Selector) {
				t.Errorf("PDB selector %v differs from the Deployment's %v", c.PDB.Spec.Selector, c.Deployment.Spec.Selector)
			}
		})
	}
}

func TestNoIngressWhenEnded(t *testing.T) {
	s := loadSamples(t)
	w := s.workload(t, "winter-sale-microsite")
	c, lc, err := render.Render(s.inputs(w, "2027-02-15T00:00:01Z"))
	if err != nil {
		t.Fatal(err)
	}
	if lc.Phase != v1alpha1.PhaseEnded || lc.Exposed {
		t.Fatalf("lifecycle %+v, want Ended and not exposed", lc)
	}
	if c.Ingress != nil {
		t.Errorf("Ingress rendered for an ended campaign: %+v", c.Ingress)
	}
	if c.PDB != nil {
		t.Errorf("PDB rendered with replicas 0")
	}
	if got := *c.Deployment.Spec.Replicas; got != 0 {
		t.Errorf("replicas %d after the campaign, want 0", got)
	}
	if len(c.NetworkPolicy.Spec.Ingress) != 0 {
		t.Errorf("NetworkPolicy still admits traffic: %+v", c.NetworkPolicy.Spec.Ingress)
	}
	if got := render.URL(w, lc); got != "" {
		t.Errorf("URL %q for an ended campaign", got)
	}
}

// The standard may only choose the user and group; it can never loosen the
// restricted profile.
func TestRestrictedSecurityContextAlwaysHolds(t *testing.T) {
	hostile := newStandard(func(s *v1alpha1.PlatformStandardSpec) {
		s.WorkloadDefaults.SecurityContext = &corev1.SecurityContext{
			Privileged:               ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(true),
			ReadOnlyRootFilesystem:   ptr.To(false),
			RunAsNonRoot:             ptr.To(false),
			Capabilities:             &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN", "NET_ADMIN"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined},
			RunAsUser:                ptr.To[int64](10001),
			RunAsGroup:               ptr.To[int64](10002),
		}
	})
	root := newStandard(func(s *v1alpha1.PlatformStandardSpec) {
		s.WorkloadDefaults.SecurityContext = &corev1.SecurityContext{RunAsUser: ptr.To[int64](0), Privileged: ptr.To(true)}
	})
	for name, tt := range map[string]struct {
		std      *v1alpha1.PlatformStandard
		uid, gid *int64
	}{
		"no standard":         {nil, nil, nil},
		"hostile standard":    {hostile, ptr.To[int64](10001), ptr.To[int64](10002)},
		"standard asks uid 0": {root, nil, nil},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := mustRender(t, render.Inputs{Workload: newWorkload(), Standard: tt.std, Now: mustTime(activeNow)})
			pod := c.Deployment.Spec.Template.Spec
			if pod.SecurityContext == nil || !ptr.Deref(pod.SecurityContext.RunAsNonRoot, false) ||
				pod.SecurityContext.SeccompProfile == nil || pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("pod security context %+v, want runAsNonRoot and RuntimeDefault seccomp", pod.SecurityContext)
			}
			if ptr.Deref(pod.AutomountServiceAccountToken, true) || ptr.Deref(c.ServiceAccount.AutomountServiceAccountToken, true) {
				t.Error("service account token is mounted")
			}
			if len(pod.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(pod.Containers))
			}
			sc := pod.Containers[0].SecurityContext
			want := &corev1.SecurityContext{
				Privileged:               ptr.To(false),
				AllowPrivilegeEscalation: ptr.To(false),
				ReadOnlyRootFilesystem:   ptr.To(true),
				RunAsNonRoot:             ptr.To(true),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				RunAsUser:                tt.uid,
				RunAsGroup:               tt.gid,
			}
			if !reflect.DeepEqual(sc, want) {
				t.Errorf("container security context\n got %+v\nwant %+v", sc, want)
			}
			if m := pod.Containers[0].VolumeMounts; len(m) != 1 || m[0].MountPath != "/tmp" || pod.Volumes[0].EmptyDir == nil {
				t.Errorf("want an emptyDir at /tmp beside the read-only root, got mounts %+v volumes %+v", m, pod.Volumes)
			}
		})
	}
}

func TestCredentialsAreSecretKeyRefsOnly(t *testing.T) {
	s := loadSamples(t)
	if len(s.secrets) == 0 {
		t.Fatal("the samples hold no Secrets to check against")
	}
	for _, w := range s.workloads {
		t.Run(w.Name, func(t *testing.T) {
			c, _, err := render.Render(s.inputs(w, goldenTime))
			if err != nil {
				t.Fatal(err)
			}
			// Every credential key of every referenced integration is a
			// secretKeyRef named <prefix><KEY>, and nothing else refers to it.
			want := map[string]corev1.SecretKeySelector{}
			for _, ref := range w.Spec.Integrations {
				cr := s.integrations[w.Namespace][ref.Name].Spec.Credentials
				for _, k := range cr.Keys {
					want[ref.EnvPrefix+k] = corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: cr.SecretName}, Key: k}
				}
			}
			env := c.Deployment.Spec.Template.Spec.Containers[0].Env
			for name, sel := range want {
				i := slices.IndexFunc(env, func(e corev1.EnvVar) bool { return e.Name == name })
				if i < 0 {
					t.Errorf("no env %s", name)
					continue
				}
				e := env[i]
				if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || !reflect.DeepEqual(*e.ValueFrom.SecretKeyRef, sel) {
					t.Errorf("env %s = %+v, want only secretKeyRef %+v", name, e, sel)
				}
			}
			// No secret value appears anywhere in any child.
			out := string(manifest(t, render.Lifecycle{}, c.Objects()))
			for _, sec := range s.secrets {
				for k, v := range sec.StringData {
					if strings.Contains(out, v) {
						t.Errorf("value of %s/%s key %s found in the rendered children", sec.Namespace, sec.Name, k)
					}
				}
				for k, v := range sec.Data {
					if len(v) > 0 && strings.Contains(out, string(v)) {
						t.Errorf("value of %s/%s key %s found in the rendered children", sec.Namespace, sec.Name, k)
					}
				}
			}
		})
	}
}

func TestCredentialEnvNames(t *testing.T) {
	w := newWorkload(withIntegration("crm", "CRM_"), withIntegration("noprefix", ""))
	in := render.Inputs{
		Workload: w,
		Now:      mustTime(activeNow),
		Integrations: map[string]*v1alpha1.SaaSIntegration{
			"crm":      newIntegration("crm", "v", "crm-secret", []string{"api-key", "clientID", "oauth.token", "HTTPServer", "WRITE_KEY", "key2"}),
			"noprefix": newIntegration("noprefix", "v", "np-secret", []string{"2fa-seed"}),
		},
	}
	c, _ := mustRender(t, in)
	var got []string
	for _, e := range c.Deployment.Spec.Template.Spec.Containers[0].Env {
		got = append(got, e.Name+"<-"+e.ValueFrom.SecretKeyRef.Name+"/"+e.ValueFrom.SecretKeyRef.Key)
	}
	want := []string{
		"CRM_API_KEY<-crm-secret/api-key",
		"CRM_CLIENT_ID<-crm-secret/clientID",
		"CRM_OAUTH_TOKEN<-crm-secret/oauth.token",
		"CRM_HTTP_SERVER<-crm-secret/HTTPServer",
		"CRM_WRITE_KEY<-crm-secret/WRITE_KEY",
		"CRM_KEY2<-crm-secret/key2",
		"_2FA_SEED<-np-secret/2fa-seed",
	}
	if !slices.Equal(got, want) {
		t.Errorf("env\n got %v\nwant %v", got, want)
	}
}

func TestEnvCollisionsAreErrors(t *testing.T) {
	proxy := newStandard(func(s *v1alpha1.PlatformStandardSpec) { s.Network.EgressProxy = "proxy.platform.svc:3128" })
	integ := map[string]*v1alpha1.SaaSIntegration{
		"a": newIntegration("a", "v", "sa", []string{"api-key"}),
		"b": newIntegration("b", "v", "sb", []string{"API_KEY"}),
	}
	tests := []struct {
		name string
		w    *v1alpha1.MarketingWorkload
		std  *v1alpha1.PlatformStandard
		msg  string
	}{
		{"two integrations, one name", newWorkload(withIntegration("a", "X_"), withIntegration("b", "X_")), nil,
			`environment variable "X_API_KEY" is set by both key "api-key" of integration "a" (spec.integrations[0]) and key "API_KEY" of integration "b" (spec.integrations[1])`},
		{"plain env shadows a credential", newWorkload(withEnv("X_API_KEY", "oops"), withIntegration("a", "X_")), nil,
			`environment variable "X_API_KEY" is set by both spec.env[0] and key "api-key" of integration "a"`},
		{"plain env shadows the proxy", newWorkload(withEnv("HTTPS_PROXY", "http://elsewhere:80")), proxy,
			`environment variable "HTTPS_PROXY" is set by both spec.env[0] and the platform standard`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := render.Render(render.Inputs{Workload: tt.w, Standard: tt.std, Integrations: integ, Now: mustTime(activeNow)})
			if !errors.Is(err, render.ErrInvalid) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want ErrInvalid containing %q", err, tt.msg)
			}
		})
	}
	// Without a proxy in the standard, HTTPS_PROXY is the workload's to set.
	if _, _, err := render.Render(render.Inputs{Workload: tests[2].w, Now: mustTime(activeNow)}); err != nil {
		t.Errorf("HTTPS_PROXY without a platform proxy: %v", err)
	}
}

func TestDeterministic(t *testing.T) {
	s := loadSamples(t)
	for _, w := range s.workloads {
		in := s.inputs(w, goldenTime)
		first, lc1, err := render.Render(in)
		if err != nil {
			t.Fatal(err)
		}
		want := manifest(t, lc1, first.Objects())
		for range 20 { // map iteration order differs between runs
			again, lc2, err := render.Render(in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(first, again) || !reflect.DeepEqual(lc1, lc2) {
				t.Fatalf("%s: two renders of the same inputs differ", w.Name)
			}
			if got := manifest(t, lc2, again.Objects()); string(got) != string(want) {
				t.Fatalf("%s: serialised renders differ", w.Name)
			}
		}
	}
}

// Children never share memory with the inputs: the reconciler may mutate
// them (owner references, apply) without touching its cache.
func TestChildrenDoNotAliasInputs(t *testing.T) {
	s := loadSamples(t)
	w := s.workload(t, "winter-sale-microsite")
	in := s.inputs(w, goldenTime)
	before := w.DeepCopy()
	stdBefore := s.standard.DeepCopy()
	c, _ := mustRender(t, in)
	ctr := &c.Deployment.Spec.Template.Spec.Containers[0]
	ctr.Resources.Limits[corev1.ResourceCPU] = resource.MustParse("64")
	c.Deployment.Labels["x"] = "y"
	if !reflect.DeepEqual(w, before) {
		t.Error("mutating the children changed the workload")
	}
	if c.Service.Labels["x"] == "y" {
		t.Error("children share one labels map")
	}
	// A workload without resources takes the standard's defaults, by copy.
	w2 := s.workload(t, "server-side-tags")
	c2, _ := mustRender(t, s.inputs(w2, goldenTime))
	c2.Deployment.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("64")
	if !reflect.DeepEqual(s.standard, stdBefore) {
		t.Error("mutating the children changed the standard")
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		in       render.Inputs
		sentinel error
		msg      string
	}{
		{"nil workload", render.Inputs{}, render.ErrInvalid, "invalid input: workload is nil"},
		{"missing integration",
			render.Inputs{Workload: newWorkload(withIntegration("crm", "CRM_"), withIntegration("x", "X_")),
				Integrations: map[string]*v1alpha1.SaaSIntegration{"crm": newIntegration("crm", "v", "", nil)}},
			render.ErrNotFound, `integration "x" referenced by spec.integrations[1] not found`},
		{"nil entry counts as missing",
			render.Inputs{Workload: newWorkload(withIntegration("x", "")), Integrations: map[string]*v1alpha1.SaaSIntegration{"x": nil}},
			render.ErrNotFound, `integration "x" referenced by spec.integrations[0] not found`},
		{"name a Service cannot take", render.Inputs{Workload: newWorkload(func(w *v1alpha1.MarketingWorkload) { w.Name = "spring.site" })},
			render.ErrInvalid, `metadata.name "spring.site" cannot name the workload's Service`},
		{"no image", render.Inputs{Workload: newWorkload(func(w *v1alpha1.MarketingWorkload) { w.Spec.Image = "" })},
			render.ErrInvalid, "spec.image is empty"},
		{"bad proxy port", render.Inputs{Workload: newWorkload(), Standard: newStandard(func(s *v1alpha1.PlatformStandardSpec) { s.Network.EgressProxy = "proxy:99999" })},
			render.ErrInvalid, `spec.network.egressProxy "proxy:99999"`},
		{"bad vendor CIDR",
			render.Inputs{Workload: newWorkload(withIntegration("a", "")),
				Integrations: map[string]*v1alpha1.SaaSIntegration{"a": newIntegration("a", "v", "", nil)},
				Vendors:      map[string]*v1alpha1.Vendor{"v": newVendor("v", "10.0.0.0/33")}},
			render.ErrInvalid, `vendor "v" spec.egressCIDRs[0] "10.0.0.0/33" is not a CIDR`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Now = mustTime(activeNow)
			c, _, err := render.Render(tt.in)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("err %v is not %v", err, tt.sentinel)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err %q, want it to contain %q", err, tt.msg)
			}
			if len(c.Objects()) != 0 {
				t.Errorf("children rendered alongside an error: %v", kinds(c.Objects()))
			}
		})
	}
	// The exact text the brief promises users.
	_, _, err := render.Render(tests[1].in)
	if got := err.Error(); got != `integration "x" referenced by spec.integrations[1] not found` {
		t.Errorf("missing integration error %q", got)
	}
	// An archived workload needs nothing resolved: its integrations may be gone.
	w := newWorkload(withCampaign("2020-01-01T00:00:00Z", "2020-02-01T00:00:00Z"), withIntegration("gone", ""))
	if c, lc, err := render.Render(render.Inputs{Workload: w, Now: mustTime(activeNow)}); err != nil || lc.Phase != v1alpha1.PhaseArchived || len(c.Objects()) != 0 {
		t.Errorf("archived with a missing integration: %v %s %v", err, lc.Phase, kinds(c.Objects()))
	}
}

func TestEgress(t *testing.T) {
	w := newWorkload(withIntegration("a", ""), withIntegration("b", ""), withIntegration("c", ""), withExposure("x.acme.example"))
	integ := map[string]*v1alpha1.SaaSIntegration{
		"a": newIntegration("a", "vendor-b", "", nil, "api.b.example", "B.example."),
		"b": newIntegration("b", "vendor-a", "", nil, "api.a.example", "api.b.example"),
		"c": newIntegration("c", "missing-vendor", "", nil, "api.m.example"),
	}
	vendors := map[string]*v1alpha1.Vendor{
		"vendor-a": newVendor("vendor-a", "203.0.113.0/24", "2001:db8::/32", "10.1.2.3/8"),
		"vendor-b": newVendor("vendor-b", "203.0.113.0/24", "198.51.100.0/24"),
		"unused":   newVendor("unused", "192.0.2.0/24"),
	}
	tests := []struct {
		proxy     string
		proxyPeer string // "" for none
	}{
		{"", ""},
		{"egress-proxy.platform.svc:3128", "ns:platform"},
		{"egress-proxy.platform.svc.cluster.local:3128", "ns:platform"},
		{"10.96.0.10:8080", "ip:10.96.0.10/32"},
		{"proxy.corp.example:3128", ""},
		{"egress-proxy:3128", ""},
	}
	for _, tt := range tests {
		t.Run("proxy="+tt.proxy, func(t *testing.T) {
			std := newStandard(func(s *v1alpha1.PlatformStandardSpec) {
				s.Network.EgressProxy = tt.proxy
				s.Network.IngressNamespace = "edge"
			})
			c, _ := mustRender(t, render.Inputs{Workload: w, Standard: std, Integrations: integ, Vendors: vendors, Now: mustTime(activeNow)})
			np := c.NetworkPolicy.Spec
			if got := np.PolicyTypes; !slices.Equal(got, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) {
				t.Errorf("policyTypes %v", got)
			}
			if len(np.Ingress) != 1 || np.Ingress[0].From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "edge" ||
				np.Ingress[0].Ports[0].Port.IntValue() != int(render.DefaultPort) {
				t.Errorf("ingress rules %+v, want only namespace edge on port %d", np.Ingress, render.DefaultPort)
			}
			var got []string
			for _, r := range np.Egress {
				var ports []string
				for _, p := range r.Ports {
					ports = append(ports, string(*p.Protocol)+"/"+p.Port.String())
				}
				for _, peer := range r.To {
					switch {
					case peer.IPBlock != nil:
						got = append(got, "ip:"+peer.IPBlock.CIDR+" "+strings.Join(ports, ","))
					case peer.NamespaceSelector != nil:
						got = append(got, "ns:"+peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]+" "+strings.Join(ports, ","))
					}
				}
			}
			want := []string{
				"ns:kube-system UDP/53,TCP/53",
				"ip:10.0.0.0/8 TCP/443",
				"ip:198.51.100.0/24 TCP/443",
				"ip:203.0.113.0/24 TCP/443",
				"ip:2001:db8::/32 TCP/443",
			}
			if tt.proxyPeer != "" {
				_, port, _ := strings.Cut(tt.proxy, ":")
				want = append(want, tt.proxyPeer+" TCP/"+port)
			}
			if !slices.Equal(got, want) {
				t.Errorf("egress\n got %v\nwant %v", got, want)
			}
			env := c.Deployment.Spec.Template.Spec.Containers[0].Env
			hasProxyEnv := slices.ContainsFunc(env, func(e corev1.EnvVar) bool { return e.Name == "HTTPS_PROXY" && e.Value == "http://"+tt.proxy })
			if hasProxyEnv != (tt.proxy != "") {
				t.Errorf("HTTPS_PROXY set = %t with proxy %q", hasProxyEnv, tt.proxy)
			}
		})
	}

	c, _ := mustRender(t, render.Inputs{Workload: w, Integrations: integ, Vendors: vendors, Now: mustTime(activeNow)})
	wantData := map[string]string{
		"allowlist.txt": "api.a.example\napi.b.example\napi.m.example\nb.example\n",
		"vendors.txt":   "missing-vendor\nvendor-a\nvendor-b\n",
	}
	if c.EgressAllowList.Name != "site-egress" || !reflect.DeepEqual(c.EgressAllowList.Data, wantData) {
		t.Errorf("allow-list %s %q, want site-egress %q", c.EgressAllowList.Name, c.EgressAllowList.Data, wantData)
	}
}

func TestBuiltInDefaultsWithoutStandard(t *testing.T) {
	c, _ := mustRender(t, render.Inputs{Workload: newWorkload(withExposure("x.acme.example")), Now: mustTime(activeNow)})
	ing := c.Ingress
	if ing.Spec.IngressClassName != nil || len(ing.Annotations) != 0 {
		t.Errorf("ingress class %v, annotations %v: want the cluster default class and no issuer", ing.Spec.IngressClassName, ing.Annotations)
	}
	if tls := ing.Spec.TLS; len(tls) != 1 || tls[0].SecretName != "site-tls" || !slices.Equal(tls[0].Hosts, []string{"x.acme.example"}) {
		t.Errorf("tls %+v", tls)
	}
	if p := ing.Spec.Rules[0].HTTP.Paths[0]; p.Path != "/" || *p.PathType != networkingv1.PathTypePrefix || p.Backend.Service.Name != "site" {
		t.Errorf("path %+v", p)
	}
	if ns := c.NetworkPolicy.Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]; ns != render.DefaultIngressNamespace {
		t.Errorf("ingress namespace %q, want %q", ns, render.DefaultIngressNamespace)
	}
	ctr := c.Deployment.Spec.Template.Spec.Containers[0]
	if len(ctr.Env) != 0 || len(ctr.Resources.Limits) != 0 || len(ctr.Resources.Requests) != 0 {
		t.Errorf("env %v resources %v: want none without a standard", ctr.Env, ctr.Resources)
	}
	if len(c.NetworkPolicy.Spec.Egress) != 1 {
		t.Errorf("egress %+v: want DNS only", c.NetworkPolicy.Spec.Egress)
	}
	svc := c.Service.Spec
	if svc.Type != corev1.ServiceTypeClusterIP || svc.Ports[0].Port != 80 || svc.Ports[0].TargetPort.String() != "http" {
		t.Errorf("service %+v", svc)
	}
}

func TestLabels(t *testing.T) {
	long := strings.Repeat("a", 60) + "-" + strings.Repeat("b", 10)
	w := newWorkload(func(w *v1alpha1.MarketingWorkload) {
		w.Spec.Owner.Team = "Growth Team!"
		w.Spec.CostCenter = long
	})
	got := render.Labels(w)
	want := map[string]string{
		"app.kubernetes.io/name":       "site",
		"app.kubernetes.io/instance":   "site",
		"app.kubernetes.io/managed-by": "martech-guardrails",
		"app.kubernetes.io/part-of":    "site",
		"martech.guardrails.dev/team":  "Growth-Team",
	}
	cc := got["martech.guardrails.dev/cost-center"]
	delete(got, "martech.guardrails.dev/cost-center")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("labels %v, want %v", got, want)
	}
	if errs := validation.IsValidLabelValue(cc); len(errs) > 0 || !strings.HasPrefix(cc, strings.Repeat("a", 54)) {
		t.Errorf("cost-center label %q: %v", cc, errs)
	}
	other := render.Labels(newWorkload(func(w *v1alpha1.MarketingWorkload) { w.Spec.CostCenter = long + "c" }))
	if other["martech.guardrails.dev/cost-center"] == cc {
		t.Error("two long values truncate to the same label")
	}
	// Campaign name becomes part-of and campaign; every child carries the set.
	w = newWorkload(withCampaign("2027-03-01T00:00:00Z", "2027-04-01T00:00:00Z"), withReplicas(2), withExposure("x.acme.example"))
	c, _ := mustRender(t, render.Inputs{Workload: w, Now: mustTime(activeNow)})
	labels := render.Labels(w)
	if labels["app.kubernetes.io/part-of"] != "spring" || labels["martech.guardrails.dev/campaign"] != "spring" {
		t.Errorf("campaign labels %v", labels)
	}
	for _, o := range c.Objects() {
		if !reflect.DeepEqual(o.GetLabels(), labels) {
			t.Errorf("%T labels %v, want %v", o, o.GetLabels(), labels)
		}
		if len(o.GetOwnerReferences()) != 0 {
			t.Errorf("%T has owner references: the reconciler sets them", o)
		}
		if o.GetObjectKind().GroupVersionKind().Kind == "" {
			t.Errorf("%T has no TypeMeta", o)
		}
	}
	if !reflect.DeepEqual(c.Deployment.Spec.Template.Labels, labels) {
		t.Errorf("pod labels %v", c.Deployment.Spec.Template.Labels)
	}
}
