package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The manager reads Secrets for credential age, as metadata only, and only in
// the namespaces of --credential-namespaces (plus its own). Its ClusterRole
// holds no Secret permission; each of those namespaces grants it with
// config/rbac/credential-reader. Three things keep that safe:
//
//   - the cache's Secret informers cover those namespaces only
//     (controllers.CacheOptions), so it never lists Secrets cluster-wide;
//   - at start, a namespace the manager may not list and watch Secrets in is
//     dropped (readableNamespaces): an informer there would never sync, and
//     the webhooks and policy loader wait for every informer;
//   - the manager's client (credentialGuard) answers a Secret read it cannot
//     serve with a Forbidden error, at once, as the API server would: a full
//     Secret (values) anywhere, metadata outside those namespaces.

// namespaceList is a comma-separated flag of namespace names.
type namespaceList []string

func (l *namespaceList) String() string { return strings.Join(*l, ",") }

func (l *namespaceList) Set(s string) error {
	var out []string
	for _, ns := range strings.Split(s, ",") {
		ns = strings.TrimSpace(ns)
		if ns == "" {
			continue
		}
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return fmt.Errorf("%q is not a namespace name: %s", ns, strings.Join(errs, "; "))
		}
		if !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	*l = out
	return nil
}

// withNamespace returns the namespaces with ns added (once).
func withNamespace(namespaces []string, ns string) []string {
	if ns == "" || slices.Contains(namespaces, ns) {
		return slices.Clone(namespaces)
	}
	return append(slices.Clone(namespaces), ns)
}

// readableNamespaces splits namespaces into those where the identity of c may
// list and watch Secrets (what an informer needs) and those where it may not,
// asking the API server with SelfSubjectAccessReviews, which every
// authenticated user may create.
func readableNamespaces(ctx context.Context, c client.Client, namespaces []string) (readable, denied []string, err error) {
	for _, ns := range namespaces {
		ok := true
		for _, verb := range []string{"list", "watch"} {
			review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb, Version: "v1", Resource: "secrets"},
			}}
			if err := c.Create(ctx, review); err != nil {
				return nil, nil, fmt.Errorf("asking whether the manager may %s Secrets in %s: %w", verb, ns, err)
			}
			if !review.Status.Allowed {
				ok = false
				break
			}
		}
		if ok {
			readable = append(readable, ns)
		} else {
			denied = append(denied, ns)
		}
	}
	return readable, denied, nil
}

// credentialNamespaces returns the namespaces among want where the manager
// may list and watch Secrets, logging those it may not (credential age is
// unknown there). It fails when there is none: the Secret cache cannot be
// restricted to no namespace, and an informer without permission never syncs.
func credentialNamespaces(cfg *rest.Config, scheme *runtime.Scheme, want []string) ([]string, error) {
	log := ctrl.Log.WithName("setup")
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	readable, denied, err := readableNamespaces(ctx, c, want)
	if err != nil {
		return nil, err
	}
	if len(denied) > 0 {
		log.Error(errors.New("may not list and watch Secrets there"), "credential age is unknown in these namespaces: apply config/rbac/credential-reader in each and restart the manager",
			"namespaces", denied)
	}
	if len(readable) == 0 {
		return nil, fmt.Errorf("the manager may list and watch Secrets in none of %v, not even its own namespace (config/rbac/manager_secrets_role.yaml grants that)", want)
	}
	log.Info("reading Secret metadata (never values) in these namespaces only", "namespaces", readable)
	return readable, nil
}

// credentialClient makes the manager's client (ctrl.Options.NewClient): the
// default one, behind credentialGuard.
func credentialClient(namespaces []string) client.NewClientFunc {
	return func(cfg *rest.Config, o client.Options) (client.Client, error) {
		c, err := client.New(cfg, o)
		if err != nil {
			return nil, err
		}
		return &credentialGuard{Client: c, namespaces: slices.Clone(namespaces)}, nil
	}
}

// credentialGuard is a client that reads Secrets as metadata only
// (*metav1.PartialObjectMetadata) and only in its namespaces; any other
// Secret read fails with Forbidden without reaching the cache (which would
// fail with an untyped error, or start a cluster-wide informer that never
// syncs) or the API server. Writes pass: the certificate rotator updates its
// Secret through this client.
type credentialGuard struct {
	client.Client
	namespaces []string
}

var secretsResource = schema.GroupResource{Resource: "secrets"}

func isSecret(gvk schema.GroupVersionKind) bool {
	return gvk.Group == "" && (gvk.Kind == "Secret" || gvk.Kind == "SecretList")
}

// check returns the Forbidden error for a read of obj in namespace, or nil.
func (g *credentialGuard) check(obj runtime.Object, namespace, name string) error {
	gvk, err := g.GroupVersionKindFor(obj)
	if err != nil || !isSecret(gvk) {
		return nil // not a Secret; the wrapped client reports its own errors
	}
	switch obj.(type) {
	case *metav1.PartialObjectMetadata, *metav1.PartialObjectMetadataList:
	default:
		return apierrors.NewForbidden(secretsResource, name,
			fmt.Errorf("the operator reads Secrets as metadata only, never their values"))
	}
	if namespace == "" || !slices.Contains(g.namespaces, namespace) {
		where := "all namespaces"
		if namespace != "" {
			where = fmt.Sprintf("namespace %q", namespace)
		}
		return apierrors.NewForbidden(secretsResource, name,
			fmt.Errorf("the manager reads Secret metadata in %s only (--credential-namespaces and its own namespace), not in %s",
				strings.Join(g.namespaces, ", "), where))
	}
	return nil
}

// Get implements client.Reader.
func (g *credentialGuard) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := g.check(obj, key.Namespace, key.Name); err != nil {
		return err
	}
	return g.Client.Get(ctx, key, obj, opts...)
}

// List implements client.Reader.
func (g *credentialGuard) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	var lo client.ListOptions
	lo.ApplyOptions(opts)
	if err := g.check(list, lo.Namespace, ""); err != nil {
		return err
	}
	return g.Client.List(ctx, list, opts...)
}
