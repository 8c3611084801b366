package chart_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/loader"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/cli/values"
	"helm.sh/helm/v4/pkg/getter"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"
)

// Helm itself, through its Go packages (helm.sh/helm/v4, the major the
// project's bin/helm is built from): the same actions `helm lint`,
// `helm template` and `helm install --dry-run=client` run, without building
// the helm binary for `make test`.

// helmValues merges --set values as the helm command does.
func helmValues(set []string) (map[string]any, error) {
	opts := values.Options{Values: set}
	return opts.MergeValues(getter.Providers{})
}

// helmConfig is an action configuration that logs to the test's writer.
func helmConfig() *action.Configuration {
	return action.NewConfiguration(action.ConfigurationSetLogger(slog.NewTextHandler(GinkgoWriter, nil)))
}

// helmLint is `helm lint --strict DIR --set ...`: the chart fails when any
// message is a warning or an error. The summary is the line helm prints.
func helmLint(dir string, set ...string) (summary string, result *action.LintResult, err error) {
	vals, err := helmValues(set)
	if err != nil {
		return "", nil, err
	}
	lint := action.NewLint()
	lint.Strict = true
	lint.Namespace = "default" // helm's namespace without --namespace or a kubeconfig
	result = lint.Run([]string{dir}, vals)
	failed := 0
	if len(result.Errors) != 0 {
		failed = 1
	}
	return fmt.Sprintf("%d chart(s) linted, %d chart(s) failed", 1, failed), result, nil
}

// lintReport is what helm lint prints for a result: its messages, or its
// errors when it has none.
func lintReport(result *action.LintResult) string {
	var b strings.Builder
	for _, m := range result.Messages {
		if m.Severity > support.InfoSev || len(result.Errors) > 0 {
			fmt.Fprintln(&b, m)
		}
	}
	if len(result.Messages) == 0 {
		for _, err := range result.Errors {
			fmt.Fprintf(&b, "Error %s\n", err)
		}
	}
	return b.String()
}

// helmInstall runs Helm's install action as a client-side dry run for the
// chart in charts/, as `helm install` or `helm template` (replace: skip the
// release name check) do with --dry-run=client.
func helmInstall(replace bool, set ...string) (*helmrelease.Release, error) {
	vals, err := helmValues(set)
	if err != nil {
		return nil, err
	}
	chrt, err := loader.Load(chartDir())
	if err != nil {
		return nil, err
	}
	install := action.NewInstall(helmConfig())
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = release
	install.Namespace = namespace
	install.Replace = replace
	rel, err := install.RunWithContext(context.Background(), chrt, vals)
	if err != nil {
		return nil, err
	}
	r, ok := rel.(*helmrelease.Release)
	if !ok {
		return nil, fmt.Errorf("helm install returned a %T, not a *helmrelease.Release", rel)
	}
	return r, nil
}

// helmTemplate is `helm template RELEASE CHART --namespace NS --set ...`:
// the release's manifest, then its hooks, as helm prints them.
func helmTemplate(set ...string) (string, error) {
	rel, err := helmInstall(true, set...)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintln(&b, strings.TrimSpace(rel.Manifest))
	for _, h := range rel.Hooks {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
	}
	return b.String(), nil
}
