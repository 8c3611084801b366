package controllers

// Condition reasons, event reasons and messages: one place, stable for users
// and tests.
const (
	ReasonProvisioned   = "Provisioned"
	ReasonBlocked       = "Blocked"
	ReasonArchived      = "Archived"
	ReasonPolicyDenied  = "PolicyDenied"
	ReasonCompliant     = "Compliant"
	ReasonResolveFailed = "ResolveFailed"
	ReasonApplyFailed   = "ApplyFailed"
	ReasonEvalFailed    = "EvaluationFailed"
	ReasonCompiled      = "Compiled"
	ReasonCompileFailed = "CompileFailed"
	ReasonActive        = "Active"
	ReasonExpired       = "Expired"
	ReasonValid         = "Valid"
	ReasonReconciling   = "Reconciling"

	EventProvisioned     = "Provisioned"
	EventPolicyViolation = "PolicyViolation"
	EventCampaignEnded   = "CampaignEnded"
	EventCredentialStale = "CredentialStale"
	EventBlocked         = "Blocked"

	// Field indexes.
	indexIntegrationNames = "spec.integrations.name"
	indexVendor           = "spec.vendor"
)
