// Package webhook holds the admission webhooks of martech-guardrails: a
// validating webhook for each of the six kinds and the managed-namespace
// guard for raw Deployments, Services and Ingresses. Nothing is mutated: the
// standard's defaults are applied at render time (internal/render). Every verdict comes from internal/policy, with the
// request built by internal/resolve exactly as the reconcilers build it; this
// package adds no rule of its own beyond checking that a GuardrailPolicy
// compiles (through the engine) and the guard.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policyset"
	"github.com/martech-guardrails/guardrails/internal/resolve"
)

// The webhook configurations `make manifests` generates into
// config/webhook/manifests.yaml. Our kinds fail closed within 5 seconds and
// are judged on create and update of the main resource only: status writes
// (the operator's) and deletes (cleanup must always work, also while the
// operator is down) never reach the webhook. The guard fails open and only
// sees namespaces labelled martech.guardrails.dev/managed=true.
//
// matchConditions (CEL in the API server) keep calls that cannot change the
// answer off the webhooks: the operator's own service account (as
// config/default installs it; the handlers also exempt the identity the
// manager finds it has, see SelfUsername) and, for our kinds, updates that
// change neither the spec nor the labels.
//
// +kubebuilder:webhookconfiguration:mutating=false,name=validating-webhook-configuration
//
// +kubebuilder:webhook:path=/validate-martech-guardrails-dev-v1alpha1-marketingworkload,mutating=false,failurePolicy=fail,sideEffects=None,groups=martech.guardrails.dev,resources=marketingworkloads,verbs=create;update,versions=v1alpha1,name=vmarketingworkload.martech.guardrails.dev,admissionReviewVersions=v1,timeoutSeconds=5,patch=`{"matchConditions":[{"name":"not-the-operator","expression":"request.userInfo.username != 'system:serviceaccount:guardrails-system:guardrails-controller-manager'"},{"name":"changes-what-policies-read","expression":"request.operation != 'UPDATE' || !has(object.spec) || !has(oldObject.spec) || object.spec != oldObject.spec || (has(object.metadata.labels) ? object.metadata.labels : {}) != (has(oldObject.metadata.labels) ? oldObject.metadata.labels : {})"}]}`
// +kubebuilder:webhook:path=/validate-martech-guardrails-dev-v1alpha1-saasintegration,mutating=false,failurePolicy=fail,sideEffects=None,groups=martech.guardrails.dev,resources=saasintegrations,verbs=create;update,versions=v1alpha1,name=vsaasintegration.martech.guardrails.dev,admissionReviewVersions=v1,timeoutSeconds=5,patch=`{"matchConditions":[{"name":"not-the-operator","expression":"request.userInfo.username != 'system:serviceaccount:guardrails-system:guardrails-controller-manager'"},{"name":"changes-what-policies-read","expression":"request.operation != 'UPDATE' || !has(object.spec) || !has(oldObject.spec) || object.spec != oldObject.spec || (has(object.metadata.labels) ? object.metadata.labels : {}) != (has(oldObject.metadata.labels) ? oldObject.metadata.labels : {})"}]}`
// +kubebuilder:webhook:path=/validate-martech-guardrails-dev-v1alpha1-vendor,mutating=false,failurePolicy=fail,sideEffects=None,groups=martech.guardrails.dev,resources=vendors,verbs=create;update,versions=v1alpha1,name=vvendor.martech.guardrails.dev,admissionReviewVersions=v1,timeoutSeconds=5,patch=`{"matchConditions":[{"name":"not-the-operator","expression":"request.userInfo.username != 'system:serviceaccount:guardrails-system:guardrails-controller-manager'"},{"name":"changes-what-policies-read","expression":"request.operation != 'UPDATE' || !has(object.spec) || !has(oldObject.spec) || object.spec != oldObject.spec || (has(object.metadata.labels) ? object.metadata.labels : {}) != (has(oldObject.metadata.labels) ? oldObject.metadata.labels : {})"}]}`
// +kubebuilder:webhook:path=/validate-martech-guardrails-dev-v1alpha1-platformstandard,mutating=false,failurePolicy=fail,sideEffects=None,groups=martech.guardrails.dev,resources=platformstandards,verbs=create;update,versions=v1alpha1,name=vplatformstandard.martech.guardrails.dev,admissionReviewVersions=v1,timeoutSeconds=5,patch=`{"matchConditions":[{"name":"not-the-operator","expression":"request.userInfo.username != 'system:serviceaccount:guardrails-system:guardrails-controller-manager'"},{"name":"changes-what-policies-read","expression":"request.operation != 'UPDATE' || !has(object.spec) || !has(oldObject.spec) || object.spec != oldObject.spec || (has(object.metadata.labels) ? object.metadata.labels : {}) != (has(oldObject.metadata.labels) ? oldObject.metadata.labels : {})"}]}`
// +kubebuilder:webhook:path=/validate-martech-guardrails-dev-v1alpha1-guardrailpolicy,mutating=false,failurePolicy=fail,sideEffects=None,groups=martech.guardrails.dev,resources=guardrailpolicies,verbs=create;update,versions=v1alpha1,name=vguardrailpolicy.martech.guardrails.dev,admissionReviewVersions=v1,timeoutSeconds=5,patch=`{"matchConditions":[{"name":"not-the-operator","expression":"request.userInfo.username != 'system:serviceaccount:guardrails-system:guardrails-controller-manager'"},{"name":"changes-what-policies-read","expression":"request.operation != 'UPDATE' || !has(object.spec) || !has(oldObject.spec) || object.spec != oldObject.spec || (has(object.metadata.labels) ? object.metadata.labels : {}) != (has(oldObject.metadata.labels) ? oldObject.metadata.labels : {})"}]}`
// +kubebuilder:webhook:path=/validate-martech-guardrails-dev-v1alpha1-policyexception,mutating=false,failurePolicy=fail,sideEffects=None,groups=martech.guardrails.dev,resources=policyexceptions,verbs=create;update,versions=v1alpha1,name=vpolicyexception.martech.guardrails.dev,admissionReviewVersions=v1,timeoutSeconds=5,patch=`{"matchConditions":[{"name":"not-the-operator","expression":"request.userInfo.username != 'system:serviceaccount:guardrails-system:guardrails-controller-manager'"},{"name":"changes-what-policies-read","expression":"request.operation != 'UPDATE' || !has(object.spec) || !has(oldObject.spec) || object.spec != oldObject.spec || (has(object.metadata.labels) ? object.metadata.labels : {}) != (has(oldObject.metadata.labels) ? oldObject.metadata.labels : {})"}]}`
// +kubebuilder:webhook:path=/guard-managed-namespaces,mutating=false,failurePolicy=ignore,sideEffects=None,groups=apps,resources=deployments,verbs=create,versions=v1,name=guard-deployments.martech.guardrails.dev,admissionReviewVersions=v1,timeoutSeconds=3,patch=`{"namespaceSelector":{"matchLabels":{"martech.guardrails.dev/managed":"true"}},"matchConditions":[{"name":"not-the-operator","expression":"request.userInfo.username != 'system:serviceaccount:guardrails-system:guardrails-controller-manager'"}]}`
// +kubebuilder:webhook:path=/guard-managed-namespaces,mutating=false,failurePolicy=ignore,sideEffects=None,groups="",resources=services,verbs=create,versions=v1,name=guard-services.martech.guardrails.dev,admissionReviewVersions=v1,timeoutSeconds=3,patch=`{"namespaceSelector":{"matchLabels":{"martech.guardrails.dev/managed":"true"}},"matchConditions":[{"name":"not-the-operator","expression":"request.userInfo.username != 'system:serviceaccount:guardrails-system:guardrails-controller-manager'"}]}`
// +kubebuilder:webhook:path=/guard-managed-namespaces,mutating=false,failurePolicy=ignore,sideEffects=None,groups=networking.k8s.io,resources=ingresses,verbs=create,versions=v1,name=guard-ingresses.martech.guardrails.dev,admissionReviewVersions=v1,timeoutSeconds=3,patch=`{"namespaceSelector":{"matchLabels":{"martech.guardrails.dev/managed":"true"}},"matchConditions":[{"name":"not-the-operator","expression":"request.userInfo.username != 'system:serviceaccount:guardrails-system:guardrails-controller-manager'"}]}`

// Paths the webhooks are served on (they match the markers above).
const (
	PathValidatePrefix   = "/validate-martech-guardrails-dev-v1alpha1-"
	PathManagedNamespace = "/guard-managed-namespaces"
)

// Options wire the webhooks.
type Options struct {
	// Engine decides; the same engine the reconcilers use.
	Engine *policy.Engine
	// Reader reads the cluster: the manager's cached client when nil.
	Reader client.Reader
	// Clock gives input.now; the real clock when nil.
	Clock clock.PassiveClock
	// Policies keeps the engine's GuardrailPolicies in step with the
	// cluster; the handlers wait for its first load. Pass the one the
	// controllers use; when nil, SetupWithManager makes and adds one.
	Policies *policyset.Loader
	// ExemptUsernames are the operator's own identities (its service
	// account): their requests are never judged, so the webhook never blocks
	// the operator's own writes.
	ExemptUsernames []string
	// PerRequestCatalogue makes the webhooks list and convert the vendor
	// catalogue for every request (through the engine's conversion
	// cache) instead of reading the one the policy loader keeps converted
	// and up to date from the Vendor informer (policyset.Loader.Catalogues,
	// resolve.Catalogues), which they read by default. An opt-out, for
	// comparison and as a way back; the catalogue is shared only when the
	// webhooks read the manager's cache (Reader nil).
	PerRequestCatalogue bool
}

// Webhooks are the admission webhooks, registered with a manager by
// SetupWithManager.
type Webhooks struct {
	engine   *policy.Engine
	reader   client.Reader
	resolver resolve.Resolver
	clock    clock.PassiveClock
	policies *policyset.Loader
	exempt   map[string]bool
	// perRequestCatalogue: Options.PerRequestCatalogue.
	perRequestCatalogue bool

	// started reports whether the webhook server accepts connections; nil
	// until SetupWithManager.
	started atomic.Pointer[healthz.Checker]
	once    sync.Once
}

// New returns the webhooks; SetupWithManager registers them.
func New(opts Options) (*Webhooks, error) {
	if opts.Engine == nil {
		return nil, errors.New("webhook: Options.Engine is required")
	}
	w := &Webhooks{
		engine:              opts.Engine,
		reader:              opts.Reader,
		clock:               opts.Clock,
		policies:            opts.Policies,
		exempt:              map[string]bool{},
		perRequestCatalogue: opts.PerRequestCatalogue,
	}
	if w.clock == nil {
		w.clock = clock.RealClock{}
	}
	if w.policies == nil {
		w.policies = policyset.New(opts.Engine)
	} else if w.policies.Engine() != opts.Engine {
		return nil, errors.New("webhook: Options.Policies loads another engine than Options.Engine")
	}
	for _, u := range opts.ExemptUsernames {
		if u != "" {
			w.exempt[u] = true
		}
	}
	return w, nil
}

// SetupWithManager registers every webhook with the manager's webhook server
// (which starts the server if the manager already runs) and the runnable
// that keeps the engine's custom policies in step with the cluster on every
// replica, leader or not.
func (w *Webhooks) SetupWithManager(mgr ctrl.Manager) error {
	var err error
	w.once.Do(func() { err = w.setup(mgr) })
	return err
}

func (w *Webhooks) setup(mgr ctrl.Manager) error {
	shared := w.reader == nil // the manager's cache, which the catalogue follows
	if shared {
		w.reader = mgr.GetClient()
	}
	w.policies.Warm(warmed()...)
	if err := w.policies.Add(mgr); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	w.resolver = resolve.Resolver{Reader: w.reader, ReadsInventory: w.engine.ReadsInventory}
	if shared && !w.perRequestCatalogue {
		w.resolver.Catalogues = w.policies.Catalogues()
	}
	scheme := mgr.GetScheme()
	srv := mgr.GetWebhookServer()
	hooks := map[string]http.Handler{
		PathValidatePrefix + "marketingworkload": admission.WithValidator(scheme, &validator[*v1alpha1.MarketingWorkload]{w: w, kind: workloadKind}),
		PathValidatePrefix + "saasintegration":   admission.WithValidator(scheme, &validator[*v1alpha1.SaaSIntegration]{w: w, kind: integrationKind}),
		PathValidatePrefix + "vendor":            admission.WithValidator(scheme, &validator[*v1alpha1.Vendor]{w: w, kind: vendorKind}),
		PathValidatePrefix + "platformstandard":  admission.WithValidator(scheme, &validator[*v1alpha1.PlatformStandard]{w: w, kind: standardKind}),
		PathValidatePrefix + "guardrailpolicy":   admission.WithValidator(scheme, &validator[*v1alpha1.GuardrailPolicy]{w: w, kind: policyKind}),
		PathValidatePrefix + "policyexception":   admission.WithValidator(scheme, &validator[*v1alpha1.PolicyException]{w: w, kind: exceptionKind}),
		PathManagedNamespace:                     &admission.Webhook{Handler: &guard{w: w}},
	}
	for path, h := range hooks {
		srv.Register(path, h)
	}
	started := srv.StartedChecker()
	w.started.Store(&started)
	return nil
}

// ReadyChecker is a readiness check for the manager: ready once the webhooks
// are registered, the policies loaded and the server accepts connections.
// Add it before the manager starts; it fails until SetupWithManager ran.
func (w *Webhooks) ReadyChecker() healthz.Checker {
	return func(req *http.Request) error {
		started := w.started.Load()
		if started == nil {
			return errors.New("webhooks are not registered yet (waiting for the serving certificate)")
		}
		select {
		case <-w.policies.Synced():
		default:
			return errors.New(msgPoliciesNotSynced)
		}
		return (*started)(req)
	}
}

// exempted reports whether the request comes from the operator itself.
func (w *Webhooks) exempted(req admission.Request) bool {
	return w.exempt[req.UserInfo.Username]
}

// warmed are the kinds the handlers read, so that their informers are
// running and synced before the policy loader reports synced and the first
// request arrives.
func warmed() []client.Object {
	return append([]client.Object{
		&v1alpha1.PlatformStandard{}, &v1alpha1.Vendor{}, &v1alpha1.PolicyException{},
		&v1alpha1.SaaSIntegration{}, &v1alpha1.MarketingWorkload{}, &v1alpha1.GuardrailPolicy{},
		resolve.NamespaceMetadata(), resolve.SecretMetadata(),
	}, resolve.ChildMetadata()...) // data.inventory
}

// SelfUsername asks the API server who c authenticates as (a
// SelfSubjectReview, which every authenticated user may create), so that the
// operator can pass its own identity as Options.ExemptUsernames.
func SelfUsername(ctx context.Context, c client.Client) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	review := &authenticationv1.SelfSubjectReview{}
	if err := c.Create(ctx, review); err != nil {
		return "", fmt.Errorf("webhook: asking the API server who the operator is: %w", err)
	}
	return review.Status.UserInfo.Username, nil
}
