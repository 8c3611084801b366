// Package cli implements the guardrails command line.
package cli

import (
	"fmt"
	"io"

	"github.com/martech-guardrails/guardrails/internal/version"
)

// Exit codes shared by every subcommand.
const (
	ExitOK       = 0
	ExitDenied   = 1
	ExitBadInput = 2
)

const usage = `guardrails runs martech-guardrails policies offline.

Usage:
  guardrails <command> [flags]

Commands:
  version    Print the version.
  help       Show this help.
`

// Main runs the command line with args (without the program name) and returns
// the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return ExitBadInput
	}
	switch args[0] {
	case "version", "--version":
		fmt.Fprintln(stdout, version.String("guardrails"))
		return ExitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return ExitOK
	default:
		fmt.Fprintf(stderr, "guardrails: unknown command %q\n\n%s", args[0], usage)
		return ExitBadInput
	}
}
