// Package parity holds the parity suite: one corpus of manifests, each
// document carrying the verdict it should get, judged by every door of the
// product — the admission webhook (server-side dry-run), `guardrails check`
// (the built binary) and the reconcilers (status.violations) — which must
// all give the expected results. See parity_test.go for how the doors are
// read and compared, and corpus/ and base/ for the cases.
package parity
