// Package version holds the build version, set with -ldflags.
package version

import (
	"fmt"
	"runtime"
)

// Version is set at build time: -X github.com/martech-guardrails/guardrails/internal/version.Version=v0.1.0
var Version = "dev"

// String is the version line printed by both binaries.
func String(binary string) string {
	return fmt.Sprintf("%s %s (%s, %s/%s)", binary, Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
