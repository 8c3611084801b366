// Package version holds the build version, set with -ldflags.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Version is set at build time (the Makefile's LDFLAGS, the Dockerfile):
//
//	-X github.com/martech-guardrails/guardrails/internal/version.Version=v0.1.0
var Version = "dev"

// String is the version line printed by both binaries.
func String(binary string) string {
	return fmt.Sprintf("%s %s (%s, %s/%s)", binary, Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// Modules is the binary's build info as `go version -m` prints it, one line
// each: "path", "mod PATH VERSION SUM", "dep PATH VERSION SUM" (a replaced
// module followed by "=> PATH VERSION SUM") and "build KEY=VALUE". The
// image's SBOM (docs/image.md) lists the same modules.
func Modules() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "no build info (not built with module support)\n"
	}
	return modules(bi)
}

func modules(bi *debug.BuildInfo) string {
	var b strings.Builder
	mod := func(kind string, m *debug.Module) {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", kind, m.Path, m.Version, m.Sum)
		if m.Replace != nil {
			fmt.Fprintf(&b, "=>\t%s\t%s\t%s\n", m.Replace.Path, m.Replace.Version, m.Replace.Sum)
		}
	}
	fmt.Fprintf(&b, "path\t%s\n", bi.Path)
	mod("mod", &bi.Main)
	for _, d := range bi.Deps {
		mod("dep", d)
	}
	for _, s := range bi.Settings {
		fmt.Fprintf(&b, "build\t%s=%s\n", s.Key, s.Value)
	}
	return b.String()
}
