//go:build e2e

package e2e

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// The release the test renders, as the README installs it.
const (
	release   = "guardrails"
	releaseNS = "guardrails-system"
)

// TestImage runs the manager from the image `make image` built
// (dist/image.oci.tar), loaded into podman, against the kwok cluster, with
// exactly the command, args, environment, security context, mounts and
// probes `helm template` renders for the chart's Deployment: the container
// is the Deployment's pod, and the test does what the kubelet and the
// cluster's network would do around it:
//
//   - the pod's service account token, CA and namespace are mounted at
//     /var/run/secrets/kubernetes.io/serviceaccount, KUBERNETES_SERVICE_HOST
//     and _PORT name the API server (in-cluster config, as in a pod);
//   - a Secret volume is a host folder the test keeps equal to the Secret
//     (files owned by root with the volume's defaultMode, as the kubelet
//     writes them), mounted read-only at the rendered mountPath;
//   - the webhook Service is type ExternalName localhost, and the test
//     forwards localhost:443 to the container's targetPort, as kube-proxy
//     forwards the Service's ClusterIP: the API server calls the webhook
//     as it would in a cluster, with the certificate the manager issued
//     for <service>.<namespace>.svc and the CA it injected.
//
// Everything else the chart renders (CRDs, RBAC, the Secret, the webhook
// configuration) is applied as rendered; the manager's service account has
// only the chart's RBAC.
func TestImage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("TestImage runs podman rootful and binds port 443: run it as root (CI does)")
	}
	podmanBin, err := exec.LookPath("podman")
	if err != nil {
		t.Fatal("podman not found: apt-get install -y podman runc (.ci/run does)")
	}
	root := repoRoot(t)
	dist := os.Getenv("IMAGE_DIST") // where `make image` wrote (default dist/)
	if dist == "" {
		dist = filepath.Join(root, "dist")
	}
	archive := filepath.Join(dist, "image.oci.tar")
	digest, err := os.ReadFile(filepath.Join(dist, "image.digest"))
	if err != nil {
		t.Fatalf("dist/image.digest: %v (run `make image`)", err)
	}
	helm := os.Getenv("HELM")
	if helm == "" {
		helm = filepath.Join(root, "bin", "helm")
	}
	podman := func(timeout time.Duration, args ...string) result {
		t.Helper()
		return run(t, root, os.Environ(), "", timeout, podmanBin,
			append([]string{"--runtime", "runc", "--cgroup-manager", "cgroupfs"}, args...)...)
	}

	// The image, loaded as a machine with no registry loads it.
	r := podman(5*time.Minute, "load", "-i", archive)
	if r.code != 0 {
		t.Fatalf("podman load -i dist/image.oci.tar exited %d:\n%s", r.code, r.out)
	}
	image := ""
	for _, l := range strings.Split(r.out, "\n") {
		if n, ok := strings.CutPrefix(strings.TrimSpace(l), "Loaded image: "); ok {
			image = strings.TrimSpace(n)
		}
	}
	if image == "" {
		t.Fatalf("podman load named no image:\n%s", r.out)
	}
	t.Logf("loaded %s (index %s)", image, strings.TrimSpace(string(digest)))
	if r := podman(time.Minute, "image", "inspect", "--format", "{{.Config.User}}", image); r.code != 0 || strings.TrimSpace(r.out) != "65532:65532" {
		t.Fatalf("the image's user is %q (exit %d), want 65532:65532", strings.TrimSpace(r.out), r.code)
	}

	// The Deployment as the chart renders it, image by digest.
	repo, _, _ := strings.Cut(image, ":")
	rendered := run(t, root, os.Environ(), "", 2*time.Minute, helm, "template", release, "charts/martech-guardrails",
		"--namespace", releaseNS, "--set", "image.repository="+repo, "--set", "image.digest="+strings.TrimSpace(string(digest)))
	if rendered.code != 0 {
		t.Fatalf("helm template exited %d:\n%s", rendered.code, rendered.out)
	}
	objs := splitObjects(t, rendered.out)
	var dep appsv1.Deployment
	var apply []string
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment":
			b, _ := json.Marshal(o.Object)
			if err := json.Unmarshal(b, &dep); err != nil {
				t.Fatal(err)
			}
		case "Service":
			if o.GetName() == "guardrails-webhook-service" {
				continue // ExternalName below
			}
			b, _ := yaml.Marshal(o.Object)
			apply = append(apply, string(b))
		default:
			b, _ := yaml.Marshal(o.Object)
			apply = append(apply, string(b))
		}
	}
	if len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("the rendered Deployment has %d containers, want 1", len(dep.Spec.Template.Spec.Containers))
	}
	pod := dep.Spec.Template.Spec
	ctr := pod.Containers[0]
	if want := repo + "@" + strings.TrimSpace(string(digest)); ctr.Image != want {
		t.Errorf("the chart renders image %q for image.digest, want %q", ctr.Image, want)
	}

	s := newCluster(t, "WEBHOOKS=false")
	// The service account run-local.sh made for a local manager is bound
	// to cluster-admin; the container gets the chart's RBAC only.
	s.ok("delete", "clusterrolebinding", "guardrails-local-manager", "--ignore-not-found")
	r = s.kubectlIn(strings.Join(apply, "---\n"), "apply", "--server-side", "--force-conflicts", "-f", "-")
	if r.code != 0 {
		t.Fatalf("applying what the chart renders exited %d:\n%s", r.code, r.out)
	}
	webhookPort := containerPort(t, ctr, "webhook-server")
	s.kubectlIn(fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: guardrails-webhook-service, namespace: %s}
spec:
  type: ExternalName
  externalName: localhost
  ports: [{name: webhook, port: 443, targetPort: %d}]
`, releaseNS, webhookPort), "apply", "-f", "-")
	stopProxy := forward(t, "127.0.0.1:443", fmt.Sprintf("127.0.0.1:%d", webhookPort))
	defer stopProxy()

	// The pod: its service account, its volumes, its environment.
	kc, err := clientcmd.LoadFromFile(s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cluster := kc.Clusters[kc.Contexts[kc.CurrentContext].Cluster]
	server, err := url.Parse(cluster.Server)
	if err != nil {
		t.Fatal(err)
	}
	ca := cluster.CertificateAuthorityData
	if len(ca) == 0 {
		if ca, err = os.ReadFile(cluster.CertificateAuthority); err != nil {
			t.Fatal(err)
		}
	}
	saDir := filepath.Join(s.local, "serviceaccount")
	token := s.ok("create", "token", pod.ServiceAccountName, "-n", releaseNS, "--duration=2h")
	writeFiles(t, saDir, 0o644, map[string][]byte{"token": []byte(strings.TrimSpace(token)), "ca.crt": ca, "namespace": []byte(releaseNS)})

	args := []string{"run", "--detach", "--name", "guardrails-e2e-" + s.name, "--network", "host",
		"--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
		"--env", "KUBERNETES_SERVICE_HOST=" + server.Hostname(), "--env", "KUBERNETES_SERVICE_PORT=" + server.Port(),
		"--volume", saDir + ":/var/run/secrets/kubernetes.io/serviceaccount:ro"}
	args = append(args, securityArgs(t, pod, ctr)...)
	args = append(args, resourceArgs(ctr)...)
	for _, e := range ctr.Env {
		args = append(args, "--env", e.Name+"="+envValue(t, e, releaseNS, ctr))
	}
	var kubelets []func()
	for _, m := range ctr.VolumeMounts {
		v := volume(t, pod, m.Name)
		dir := filepath.Join(s.local, "volumes", m.Name)
		switch {
		case v.Secret != nil:
			kubelets = append(kubelets, syncSecret(s, releaseNS, v.Secret, dir))
		case v.EmptyDir != nil:
			if err := os.MkdirAll(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			_ = os.Chmod(dir, 0o777) //nolint:gosec // mounted into the container, whose user is not ours
		default:
			t.Fatalf("volume %s: the test knows Secret and emptyDir volumes only", m.Name)
		}
		opt := ":rw"
		if m.ReadOnly {
			opt = ":ro"
		}
		args = append(args, "--volume", dir+":"+m.MountPath+opt)
	}
	defer func() {
		for _, stop := range kubelets {
			stop()
		}
	}()
	if len(ctr.Command) > 0 {
		ep, _ := json.Marshal(ctr.Command)
		args = append(args, "--entrypoint", string(ep))
	}
	args = append(append(args, ctr.Image), ctr.Args...)
	t.Logf("podman %s", strings.Join(args, " "))
	name := "guardrails-e2e-" + s.name
	r = podman(2*time.Minute, args...)
	if r.code != 0 {
		t.Fatalf("podman run exited %d:\n%s", r.code, r.out)
	}
	logs := func() string { return podman(time.Minute, "logs", name).out }
	defer func() {
		if t.Failed() {
			l := logs()
			if len(l) > 20000 {
				l = "…" + l[len(l)-20000:]
			}
			t.Logf("container log (tail):\n%s", l)
		}
		podman(time.Minute, "rm", "--force", "--time", "5", name)
	}()

	// The readiness probe, as the kubelet calls it.
	ready := probeURL(t, ctr.ReadinessProbe)
	live := probeURL(t, ctr.LivenessProbe)
	t.Run("readiness probe answers", func(t *testing.T) {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			if code := get(ready); code == http.StatusOK {
				break
			}
			if st := podman(time.Minute, "inspect", "--format", "{{.State.Status}}", name); strings.TrimSpace(st.out) != "running" {
				t.Fatalf("the container is %s", strings.TrimSpace(st.out))
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not answer 200 within 2m", ready)
			}
			time.Sleep(time.Second)
		}
		if code := get(live); code != http.StatusOK {
			t.Errorf("liveness %s answered %d", live, code)
		}
	})
	if t.Failed() {
		return
	}
	s.t = t
	t.Run("webhook from the container denies bad-workload.yaml and admits the samples", func(t *testing.T) {
		s.t = t
		var r result
		for i := 0; i < 30; i++ { // the CA the manager injected takes a moment to reach the API server's client
			if r = s.kubectl("apply", "-f", "config/samples/"); r.code == 0 {
				break
			}
			time.Sleep(2 * time.Second)
		}
		if r.code != 0 {
			t.Fatalf("the samples were refused:\n%s", r.out)
		}
		r = s.kubectl("apply", "-f", "docs/examples/bad-workload.yaml")
		if r.code == 0 {
			t.Fatalf("docs/examples/bad-workload.yaml was admitted:\n%s", r.out)
		}
		wantAll(t, "the denial", r.out, "denied the request", "allowed-registries", "pinned-image-tags")
		if g := s.kubectl("get", "mw", "summer-promo", "-n", ns); g.code == 0 {
			t.Errorf("the denied workload was stored:\n%s", g.out)
		}
	})
	if t.Failed() {
		return
	}
	t.Run("samples reconcile", func(t *testing.T) {
		s.t = t
		s.ok("wait", "--for=condition=Ready", "mw/winter-sale-microsite", "mw/server-side-tags", "-n", ns, "--timeout=120s")
		s.ok("wait", "--for=condition=Ready", "vendor/hubspot", "--timeout=60s")
	})
	t.Run("SIGTERM drains and exits 0", func(t *testing.T) {
		s.t = t
		if r := podman(time.Minute, "kill", "--signal", "TERM", name); r.code != 0 {
			t.Fatalf("podman kill exited %d:\n%s", r.code, r.out)
		}
		w := podman(time.Duration(*pod.TerminationGracePeriodSeconds+30)*time.Second, "wait", name)
		if code := strings.TrimSpace(w.out); w.code != 0 || code != "0" {
			t.Fatalf("the manager exited %q after SIGTERM (podman wait exit %d)", code, w.code)
		}
		l := logs()
		for _, want := range []string{"Stopping and waiting for webhooks"} {
			if !strings.Contains(l, want) {
				t.Logf("the log lacks %q", want)
			}
		}
	})
	s.t = t
	if l := logs(); strings.Contains(l, "Reconciler error") || strings.Contains(l, "is forbidden") {
		var bad []string
		for _, line := range strings.Split(l, "\n") {
			if strings.Contains(line, "Reconciler error") || strings.Contains(line, "is forbidden") {
				bad = append(bad, line)
			}
		}
		t.Errorf("the manager in the image logged %d errors (RBAC?):\n%s", len(bad), strings.Join(bad, "\n"))
	}
}

// splitObjects parses helm template's output.
func splitObjects(t *testing.T, s string) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(s), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("helm template output: %v", err)
		}
		if len(m) > 0 {
			out = append(out, &unstructured.Unstructured{Object: m})
		}
	}
}

func containerPort(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("the container has no port %q", name)
	return 0
}

func volume(t *testing.T, pod corev1.PodSpec, name string) corev1.Volume {
	t.Helper()
	for _, v := range pod.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no volume %q in the pod", name)
	return corev1.Volume{}
}

// securityArgs are podman's spelling of the pod's and container's security
// contexts; a field the test cannot honour fails it.
func securityArgs(t *testing.T, pod corev1.PodSpec, c corev1.Container) []string {
	t.Helper()
	var args []string
	sc := c.SecurityContext
	psc := pod.SecurityContext
	if sc == nil || psc == nil {
		t.Fatal("the Deployment renders no security context")
	}
	if sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		// No tmpfs podman would add on /tmp, /run: only what the pod mounts.
		args = append(args, "--read-only", "--read-only-tmpfs=false")
	}
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		args = append(args, "--security-opt", "no-new-privileges")
	}
	if sc.Capabilities != nil {
		for _, c := range sc.Capabilities.Drop {
			args = append(args, "--cap-drop", string(c))
		}
		for _, c := range sc.Capabilities.Add {
			args = append(args, "--cap-add", string(c))
		}
	}
	user := sc.RunAsUser
	if user == nil {
		user = psc.RunAsUser
	}
	if user != nil {
		args = append(args, "--user", strconv.FormatInt(*user, 10))
	}
	nonRoot := (sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
	if !nonRoot {
		t.Error("the Deployment does not require runAsNonRoot")
	}
	if psc.SeccompProfile != nil && psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Fatalf("seccomp profile %s: the test knows RuntimeDefault (podman's default) only", psc.SeccompProfile.Type)
	}
	if psc.FSGroup != nil {
		args = append(args, "--group-add", strconv.FormatInt(*psc.FSGroup, 10))
	}
	return args
}

func resourceArgs(c corev1.Container) []string {
	var args []string
	if m, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		args = append(args, "--memory", strconv.FormatInt(m.Value(), 10))
	}
	if cpu, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		args = append(args, "--cpus", strconv.FormatFloat(float64(cpu.MilliValue())/1000, 'f', 3, 64))
	}
	return args
}

// envValue resolves an env var as the kubelet does, for what the chart uses.
func envValue(t *testing.T, e corev1.EnvVar, namespace string, c corev1.Container) string {
	t.Helper()
	switch {
	case e.ValueFrom == nil:
		return e.Value
	case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
		return namespace
	case e.ValueFrom.ResourceFieldRef != nil:
		q, ok := c.Resources.Limits[corev1.ResourceName(strings.TrimPrefix(e.ValueFrom.ResourceFieldRef.Resource, "limits."))]
		if !ok {
			t.Fatalf("env %s: no %s", e.Name, e.ValueFrom.ResourceFieldRef.Resource)
		}
		div := int64(1)
		if d := e.ValueFrom.ResourceFieldRef.Divisor; !d.IsZero() {
			div = d.Value()
		}
		return strconv.FormatInt(q.Value()/div, 10)
	}
	t.Fatalf("env %s: the test cannot resolve %+v", e.Name, e.ValueFrom)
	return ""
}

func probeURL(t *testing.T, p *corev1.Probe) string {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Fatal("the Deployment renders no HTTP probe")
	}
	return fmt.Sprintf("http://127.0.0.1:%s%s", p.HTTPGet.Port.String(), p.HTTPGet.Path)
}

func get(u string) int {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func writeFiles(t *testing.T, dir string, mode os.FileMode, files map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755) //nolint:gosec // mounted into the container, read by its non-root user
	for name, b := range files {
		tmp := filepath.Join(dir, "."+name+".tmp")
		if err := os.WriteFile(tmp, b, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(tmp, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// syncSecret is the kubelet's Secret volume: every second, the Secret's
// keys as files in dir, owned by root, with the volume's defaultMode.
func syncSecret(s *suite, namespace string, v *corev1.SecretVolumeSource, dir string) (stop func()) {
	t := s.top
	mode := os.FileMode(0o644)
	if v.DefaultMode != nil {
		mode = os.FileMode(*v.DefaultMode) //nolint:gosec // a file mode from the chart: 0 to 0777
	}
	writeFiles(t, dir, mode, nil)
	done, wg := make(chan struct{}), sync.WaitGroup{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		last := ""
		for {
			r, err := runE(s.root, s.env(), "", time.Minute, filepath.Join(s.root, "bin", "kubectl"),
				"--kubeconfig", s.kubeconfig, "get", "secret", v.SecretName, "-n", namespace, "-o", "jsonpath={.data}")
			if err == nil && r.code == 0 && r.out != last && strings.TrimSpace(r.out) != "" {
				var data map[string]string
				if json.Unmarshal([]byte(r.out), &data) == nil {
					files := map[string][]byte{}
					for k, b64 := range data {
						if b, err := base64.StdEncoding.DecodeString(b64); err == nil {
							files[k] = b
						}
					}
					for name, b := range files {
						tmp := filepath.Join(dir, "."+name+".tmp")
						if os.WriteFile(tmp, b, mode) == nil && os.Chmod(tmp, mode) == nil && os.Chown(tmp, 0, 0) == nil {
							_ = os.Rename(tmp, filepath.Join(dir, name))
						}
					}
					last = r.out
				}
			}
			select {
			case <-done:
				return
			case <-time.After(time.Second):
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// forward is kube-proxy for the webhook Service: connections to from go to
// to.
func forward(t *testing.T, from, to string) (stop func()) {
	t.Helper()
	l, err := net.Listen("tcp", from)
	if err != nil {
		t.Fatalf("listening on %s for the webhook Service: %v", from, err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				b, err := net.DialTimeout("tcp", to, 5*time.Second)
				if err != nil {
					return
				}
				defer func() { _ = b.Close() }()
				go func() {
					_, _ = io.Copy(b, c)
					if tcp, ok := b.(*net.TCPConn); ok {
						_ = tcp.CloseWrite()
					}
				}()
				_, _ = io.Copy(c, b)
			}()
		}
	}()
	return func() { _ = l.Close() }
}
