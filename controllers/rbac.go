// Package controllers holds one reconciler per kind of martech-guardrails.
package controllers

// RBAC for the manager, least privilege: no wildcard verbs or resources.
//
// No Secrets here: this ClusterRole would grant them in every namespace, and
// RBAC cannot tell the metadata-only reads the operator makes (credential
// age) from reading the values. Secrets are granted per namespace instead:
// the manager's own namespace (config/rbac/manager_secrets_role.yaml) and
// each namespace listed in --credential-namespaces
// (config/rbac/credential-reader, applied there by the platform team).
// See docs/security.md.

// +kubebuilder:rbac:groups=martech.guardrails.dev,resources=marketingworkloads;saasintegrations;vendors;platformstandards;guardrailpolicies;policyexceptions,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=martech.guardrails.dev,resources=marketingworkloads/status;saasintegrations/status;vendors/status;platformstandards/status;guardrailpolicies/status;policyexceptions/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=martech.guardrails.dev,resources=marketingworkloads/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Gatekeeper's ConstraintTemplates and constraints, read-only: the policy
// loader (internal/policyset/gatekeeper.go) judges rendered children with
// them where Gatekeeper's CRDs are served. Every constraint kind is its own
// resource in constraints.gatekeeper.sh, named by the templates, hence `*`
// there; nothing else of either group is granted.
// +kubebuilder:rbac:groups=templates.gatekeeper.sh,resources=constrainttemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups=constraints.gatekeeper.sh,resources=*,verbs=get;list;watch
