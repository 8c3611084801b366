// Command guardrails runs the martech-guardrails policies offline: the same
// engine as the operator, for GitOps pipelines, platform and privacy teams.
package main

import (
	"os"

	"github.com/martech-guardrails/guardrails/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
