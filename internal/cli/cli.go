// Package cli implements the guardrails command line: check manifests
// offline against the same policy engine the operator runs, test policies,
// draw the customer data-flow map and document the policies.
//
// Every subcommand has its own flag.FlagSet and writes only to the writers
// it is given; nothing here is global, so tests run commands in-process.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/report"
	"github.com/martech-guardrails/guardrails/internal/version"
)

// Exit codes shared by every subcommand.
const (
	// ExitOK: no deny result (check), every test passed (test), done.
	ExitOK = 0
	// ExitDenied: a deny result (check) or a failing test (test).
	ExitDenied = 1
	// ExitBadInput: bad input or usage: unreadable or malformed manifests,
	// schema errors, unknown kinds, policies that do not compile, bad flags.
	ExitBadInput = 2
)

const usage = `guardrails checks marketing workloads, SaaS integrations and the rest of the
martech.guardrails.dev API offline, with the same policy engine as the operator.

Usage:
  guardrails <command> [flags]

Commands:
  check      Validate manifests (schema + CEL) and evaluate the policies.
  test       Run Rego unit tests and allow/deny fixture suites.
  dataflow   Draw which customer data goes to which vendor.
  portfolio  Show the vendors: owners, costs, deadlines, usage, findings.
  agenda     List the dated decisions: renewals, expiries, campaign ends.
  policies   List or document the built-in and custom policies.
  version    Print the version.
  help       Show this help, or a command's help: guardrails help check.

Run 'guardrails <command> -h' for a command's flags and examples.

Exit codes: 0 clean, 1 a deny result or a failing test, 2 bad input or usage.
`

// env is what a command may touch: its streams and the files.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	fsys           fs.FS
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(e *env, args []string) int
}

func commands() []command {
	return []command{
		{"check", "Validate manifests and evaluate the policies.", runCheck},
		{"test", "Run Rego unit tests and fixture suites.", runTest},
		{"dataflow", "Draw the customer data-flow map.", runDataflow},
		{"portfolio", "Show the vendor portfolio.", runPortfolio},
		{"agenda", "List the dated decisions on the portfolio.", runAgenda},
		{"policies", "List or document the policies.", runPolicies},
		{"version", "Print the version.", runVersion},
	}
}

// Main runs the command line with args (without the program name) and returns
// the exit code. Whatever a command writes reaches stdout and stderr
// through report.Terminal: no control character (but newlines and tabs)
// reaches a terminal raw, whichever line failed to quote a field.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	out, errOut := report.NewTerminal(stdout), report.NewTerminal(stderr)
	code := run(&env{stdin: stdin, stdout: out, stderr: errOut, fsys: manifest.OSFS{}}, args)
	_ = out.Flush()
	_ = errOut.Flush()
	return code
}

func run(e *env, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return ExitBadInput
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && name == "help" {
			return run(e, []string{args[1], "-h"})
		}
		fmt.Fprint(e.stdout, usage)
		return ExitOK
	case "--version", "-version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "guardrails: unknown command %q\n\n%s", args[0], usage)
	return ExitBadInput
}

// cmdFlags is a subcommand's FlagSet with its help text.
type cmdFlags struct {
	*flag.FlagSet
	usage    string // "guardrails check [flags] [PATH ...]" and what it does
	examples string
}

func newFlags(name, usage, examples string) *cmdFlags {
	set := flag.NewFlagSet("guardrails "+name, flag.ContinueOnError)
	set.SetOutput(io.Discard)
	return &cmdFlags{FlagSet: set, usage: usage, examples: examples}
}

func (f *cmdFlags) printHelp(w io.Writer) {
	fmt.Fprintf(w, "%s\n", strings.TrimSpace(f.usage))
	var hasFlags bool
	f.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintf(w, "\nFlags:\n")
		f.SetOutput(w)
		f.PrintDefaults()
		f.SetOutput(io.Discard)
	}
	if f.examples != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", strings.TrimRight(f.examples, "\n"))
	}
}

// parse parses args, flags and positional arguments in any order. It
// returns the positional arguments, or an exit code when the command should
// stop (help asked: 0; a bad flag: 2).
func (f *cmdFlags) parse(e *env, args []string) ([]string, int, bool) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.printHelp(e.stdout)
				return nil, ExitOK, false
			}
			fmt.Fprintf(e.stderr, "%s: %v\nRun '%s -h' for usage.\n", f.Name(), err, f.Name())
			return nil, ExitBadInput, false
		}
		args = f.Args()
		if len(args) == 0 {
			return pos, 0, true
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// usageError reports a wrong use of a command.
func (f *cmdFlags) usageError(e *env, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "%s: %s\nRun '%s -h' for usage.\n", f.Name(), fmt.Sprintf(format, args...), f.Name())
	return ExitBadInput
}

// stringList is a flag that may be repeated.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// timeFlag is an RFC 3339 time; zero means now.
type timeFlag struct{ t time.Time }

func (t *timeFlag) String() string {
	if t.t.IsZero() {
		return ""
	}
	return t.t.Format(time.RFC3339)
}

func (t *timeFlag) Set(v string) error {
	parsed, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time such as 2026-12-01T00:00:00Z")
	}
	if !policy.InRange(parsed) {
		// Every policy compares dates with input.now.
		return fmt.Errorf("%s is outside the supported range %s", v, policy.TimeRange)
	}
	t.t = parsed
	return nil
}

func (t *timeFlag) value() time.Time {
	if t.t.IsZero() {
		return time.Now().UTC().Truncate(time.Second)
	}
	return t.t
}

// choice is a flag with a fixed set of values.
type choice struct {
	value   string
	allowed []string
}

func (c *choice) String() string { return c.value }

func (c *choice) Set(v string) error {
	for _, a := range c.allowed {
		if v == a {
			c.value = v
			return nil
		}
	}
	return fmt.Errorf("want one of %s", strings.Join(c.allowed, ", "))
}

func runVersion(e *env, args []string) int {
	f := newFlags("version", `
Usage: guardrails version [--modules]

Print the version of guardrails, the Go version and the platform; with
--modules also the Go modules it was built from (its build info: the main
module, every dependency with its version and checksum, the build settings).`, `  guardrails version
  guardrails version --modules`)
	modules := f.Bool("modules", false, "Also print the Go modules and build settings this binary was built with.")
	pos, code, ok := f.parse(e, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return f.usageError(e, "unexpected argument %q", pos[0])
	}
	fmt.Fprintln(e.stdout, version.String("guardrails"))
	if *modules {
		fmt.Fprint(e.stdout, version.Modules())
	}
	return ExitOK
}
