// Package controllers holds one reconciler per kind of martech-guardrails.
package controllers

// RBAC for the manager, least privilege: no wildcard verbs or resources.
// Secrets are read for metadata (age, existence) only; their values are never
// copied into any object the operator writes.

// +kubebuilder:rbac:groups=martech.guardrails.dev,resources=marketingworkloads;saasintegrations;vendors;platformstandards;guardrailpolicies;policyexceptions,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=martech.guardrails.dev,resources=marketingworkloads/status;saasintegrations/status;vendors/status;platformstandards/status;guardrailpolicies/status;policyexceptions/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=martech.guardrails.dev,resources=marketingworkloads/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=namespaces;secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
