package render

import (
	"fmt"
	"strings"
	"unicode"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Environment variables the platform sets when the standard names an egress
// proxy. A workload may not set them itself.
const (
	EnvEgressProxy = "GUARDRAILS_EGRESS_PROXY"
	EnvHTTPSProxy  = "HTTPS_PROXY"
	EnvHTTPProxy   = "HTTP_PROXY"
	EnvNoProxy     = "NO_PROXY"
)

// noProxy keeps loopback traffic off the proxy.
const noProxy = "localhost,127.0.0.1,::1"

func (r *renderer) serviceAccount() *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:                     typeMeta(corev1.SchemeGroupVersion.String(), "ServiceAccount"),
		ObjectMeta:                   r.meta(r.w.Name),
		AutomountServiceAccountToken: ptr.To(false),
	}
}

func (r *renderer) deployment() (*appsv1.Deployment, error) {
	env, err := r.env()
	if err != nil {
		return nil, err
	}
	container := corev1.Container{
		Name:  ContainerName,
		Image: r.w.Spec.Image,
		Ports: []corev1.ContainerPort{{Name: ContainerPortName, ContainerPort: r.port(), Protocol: corev1.ProtocolTCP}},
		Env:   env,
		// Read-only root filesystem: /tmp is the one writable place.
		VolumeMounts:    []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
		SecurityContext: r.containerSecurityContext(),
	}
	if res := effectiveResources(r.w, r.std); res != nil {
		container.Resources = *res
	}
	return &appsv1.Deployment{
		TypeMeta:   typeMeta(appsv1.SchemeGroupVersion.String(), "Deployment"),
		ObjectMeta: r.meta(r.w.Name),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(r.lc.Replicas),
			Selector: &metav1.LabelSelector{MatchLabels: SelectorLabels(r.w)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: Labels(r.w)},
				Spec: corev1.PodSpec{
					ServiceAccountName:           r.w.Name,
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{container},
					Volumes: []corev1.Volume{{
						Name:         "tmp",
						VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
					}},
				},
			},
		},
	}, nil
}

// containerSecurityContext is the restricted Pod Security Standard. From the
// standard's workloadDefaults.securityContext only runAsUser (never 0: the
// pod runs as non-root) and runAsGroup are taken; nothing there can loosen the
// restricted settings.
func (r *renderer) containerSecurityContext() *corev1.SecurityContext {
	sc := &corev1.SecurityContext{
		Privileged:               ptr.To(false),
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		RunAsNonRoot:             ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
	if d := r.std.WorkloadDefaults.SecurityContext; d != nil {
		if d.RunAsUser != nil && *d.RunAsUser > 0 {
			sc.RunAsUser = ptr.To(*d.RunAsUser)
		}
		if d.RunAsGroup != nil && *d.RunAsGroup >= 0 {
			sc.RunAsGroup = ptr.To(*d.RunAsGroup)
		}
	}
	return sc
}

// env is, in order: the spec's plain variables; for each integration (spec
// order) and each credentials key (listed order) a secretKeyRef variable
// <envPrefix><KEY>; then the egress proxy variables. Credential values are
// never read; an integration whose credentials name no Secret adds nothing
// (the credential-age policy reports that). A name set twice is an error: the kubelet would silently keep
// the last, and server-side apply rejects duplicate keys anyway.
func (r *renderer) env() ([]corev1.EnvVar, error) {
	var env []corev1.EnvVar
	source := map[string]string{} // env name -> where it came from, for errors
	add := func(v corev1.EnvVar, from string) error {
		if prev, dup := source[v.Name]; dup {
			return fmt.Errorf("%w: environment variable %q is set by both %s and %s", ErrInvalid, v.Name, prev, from)
		}
		source[v.Name] = from
		env = append(env, v)
		return nil
	}
	for i, e := range r.w.Spec.Env {
		if err := add(corev1.EnvVar{Name: e.Name, Value: e.Value}, fmt.Sprintf("spec.env[%d]", i)); err != nil {
			return nil, err
		}
	}
	for i, ref := range r.w.Spec.Integrations {
		creds := r.integrations[i].Spec.Credentials
		if creds == nil || creds.SecretName == "" {
			continue
		}
		for j, key := range creds.Keys {
			name, err := credentialEnvName(ref.EnvPrefix, key)
			if err != nil {
				return nil, fmt.Errorf("%w: credentials.keys[%d] of integration %q: %v", ErrInvalid, j, ref.Name, err)
			}
			v := corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: creds.SecretName},
					Key:                  key,
				},
			}}
			if err := add(v, fmt.Sprintf("key %q of integration %q (spec.integrations[%d])", key, ref.Name, i)); err != nil {
				return nil, err
			}
		}
	}
	if p := r.std.Network.EgressProxy; p != "" {
		const from = "the platform standard (spec.network.egressProxy)"
		for _, v := range []corev1.EnvVar{
			{Name: EnvEgressProxy, Value: p},
			{Name: EnvHTTPSProxy, Value: "http://" + p},
			{Name: EnvHTTPProxy, Value: "http://" + p},
			{Name: EnvNoProxy, Value: noProxy},
		} {
			if err := add(v, from); err != nil {
				return nil, err
			}
		}
	}
	return env, nil
}

// credentialEnvName is prefix + key in upper snake case: `API_KEY`,
// `api-key`, `api.key` and `apiKey` all become API_KEY. A name that would
// start with a digit gets a leading underscore.
func credentialEnvName(prefix, key string) (string, error) {
	s := upperSnake(key)
	if s == "" {
		return "", fmt.Errorf("key %q has no letters or digits to name a variable", key)
	}
	name := prefix + s
	if name[0] >= '0' && name[0] <= '9' {
		name = "_" + name
	}
	return name, nil
}

// upperSnake splits s into words at non-alphanumerics and at camel-case
// boundaries (apiKey, clientID, HTTPServer) and joins them upper-cased with '_'.
func upperSnake(s string) string {
	rs := []rune(s)
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToUpper(string(cur)))
			cur = cur[:0]
		}
	}
	for i, c := range rs {
		if c > unicode.MaxASCII || (!unicode.IsLetter(c) && !unicode.IsDigit(c)) {
			flush()
			continue
		}
		if unicode.IsUpper(c) && len(cur) > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush()
			}
		}
		cur = append(cur, c)
	}
	flush()
	return strings.Join(words, "_")
}

// pdb keeps one pod up during voluntary disruptions, when there is more than
// one. Unhealthy pods may always be evicted, so a crash-looping workload never
// blocks a node drain.
func (r *renderer) pdb() *policyv1.PodDisruptionBudget {
	if r.lc.Replicas <= 1 {
		return nil
	}
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   typeMeta(policyv1.SchemeGroupVersion.String(), "PodDisruptionBudget"),
		ObjectMeta: r.meta(r.w.Name),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable:               ptr.To(intstr.FromInt32(1)),
			Selector:                   &metav1.LabelSelector{MatchLabels: SelectorLabels(r.w)},
			UnhealthyPodEvictionPolicy: ptr.To(policyv1.AlwaysAllow),
		},
	}
}
