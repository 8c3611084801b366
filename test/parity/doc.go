// Package parity holds the parity suite: one corpus of manifests, each
// document carrying the verdict it should get, judged by every door of the
// product — the admission webhook (server-side dry-run), `guardrails check`
// (the built binary), the reconcilers (status.violations) and the
// background audit (its openreports.io reports) — which must all give the
// expected results. See parity_test.go for how the doors are
// read and compared, and corpus/ and base/ for the cases.
package parity
