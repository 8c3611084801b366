package controllers

import "github.com/martech-guardrails/guardrails/internal/status"

// Condition reasons, event reasons and messages: one place, stable for users
// and tests.
const (
	ReasonProvisioned   = "Provisioned"
	ReasonBlocked       = "Blocked"
	ReasonArchived      = "Archived"
	ReasonPolicyDenied  = "PolicyDenied"
	ReasonCompliant     = "Compliant"
	ReasonResolveFailed = "ResolveFailed"
	ReasonUnknownPolicy = "UnknownPolicy"
	// ReasonWaitingForIntegration: a referenced SaaSIntegration does not
	// exist and the policies in force let the workload wait for it.
	ReasonWaitingForIntegration = "WaitingForIntegration"
	ReasonApplyFailed           = "ApplyFailed"
	ReasonEvalFailed            = "EvaluationFailed"
	ReasonCompiled              = "Compiled"
	ReasonCompileFailed         = "CompileFailed"
	ReasonActive                = "Active"
	ReasonExpired               = "Expired"
	ReasonValid                 = "Valid"
	// ReasonReconciling: a reconcile lost an optimistic-concurrency race
	// and runs again; ReasonFailed: an error of no named step. Both are
	// the status helper's (status.ReasonOf).
	ReasonReconciling = status.ReasonReconciling
	ReasonFailed      = status.ReasonFailed

	EventProvisioned     = "Provisioned"
	EventPolicyViolation = "PolicyViolation"
	EventCampaignEnded   = "CampaignEnded"
	EventCredentialStale = "CredentialStale"
	EventBlocked         = "Blocked"

	// AppliedHashAnnotation on a child records a digest of what the
	// operator last applied; with the live fields, it lets the reconciler
	// skip applies that would change nothing.
	AppliedHashAnnotation = "martech.guardrails.dev/applied-hash"

	// Field indexes.
	indexIntegrationNames = "spec.integrations.name"
	indexVendor           = "spec.vendor"
)
