package manifest

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// FromKubeconfig reads the World from the cluster of a kubeconfig.
func FromKubeconfig(ctx context.Context, kubeconfig, kubecontext string) (*World, error) {
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: kubecontext},
	).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %s: %w", kubeconfig, err)
	}
	c, err := client.New(cfg, client.Options{Scheme: Scheme})
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	return FromCluster(ctx, c)
}

// FromCluster lists our six kinds, the Namespaces and the metadata of the
// Secrets (never their data) into a World. Without the right to list
// Secrets, their age is unknown, as offline.
func FromCluster(ctx context.Context, c client.Reader) (*World, error) {
	w := newWorld()
	add := func(kind string, objs []client.Object) error {
		for _, o := range objs {
			if err := w.add(newItem(nil, kind, o, true)); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		mws  v1alpha1.MarketingWorkloadList
		sis  v1alpha1.SaaSIntegrationList
		vs   v1alpha1.VendorList
		stds v1alpha1.PlatformStandardList
		gps  v1alpha1.GuardrailPolicyList
		pexs v1alpha1.PolicyExceptionList
	)
	lists := []struct {
		kind  string
		list  client.ObjectList
		items func() []client.Object
	}{
		{v1alpha1.KindMarketingWorkload, &mws, func() []client.Object { return pointers(mws.Items) }},
		{v1alpha1.KindSaaSIntegration, &sis, func() []client.Object { return pointers(sis.Items) }},
		{v1alpha1.KindVendor, &vs, func() []client.Object { return pointers(vs.Items) }},
		{v1alpha1.KindPlatformStandard, &stds, func() []client.Object { return pointers(stds.Items) }},
		{v1alpha1.KindGuardrailPolicy, &gps, func() []client.Object { return pointers(gps.Items) }},
		{v1alpha1.KindPolicyException, &pexs, func() []client.Object { return pointers(pexs.Items) }},
	}
	for _, l := range lists {
		if err := c.List(ctx, l.list); err != nil {
			return nil, fmt.Errorf("listing %ss: %w", l.kind, err)
		}
		if err := add(l.kind, l.items()); err != nil {
			return nil, err
		}
	}
	var nss corev1.NamespaceList
	if err := c.List(ctx, &nss); err != nil {
		return nil, fmt.Errorf("listing Namespaces: %w", err)
	}
	for i := range nss.Items {
		w.namespaces[nss.Items[i].Name] = &nss.Items[i]
	}
	var secrets metav1.PartialObjectMetadataList
	secrets.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	switch err := c.List(ctx, &secrets); {
	case apierrors.IsForbidden(err):
		// unknown, as offline
	case err != nil:
		return nil, fmt.Errorf("listing Secret metadata: %w", err)
	default:
		w.secretsComplete = true
		for i := range secrets.Items {
			s := &secrets.Items[i]
			s.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
			w.secrets[s.Namespace+"/"+s.Name] = s
		}
	}
	return w, nil
}

// pointers returns pointers to the items of a typed list.
func pointers[T any, PT interface {
	*T
	client.Object
}](items []T) []client.Object {
	out := make([]client.Object, len(items))
	for i := range items {
		out[i] = PT(&items[i])
	}
	return out
}
