package version

import (
	"runtime/debug"
	"testing"
)

func TestModules(t *testing.T) {
	bi := &debug.BuildInfo{
		Path: "github.com/martech-guardrails/guardrails/cmd/guardrails",
		Main: debug.Module{Path: "github.com/martech-guardrails/guardrails", Version: "(devel)"},
		Deps: []*debug.Module{
			{Path: "github.com/open-policy-agent/opa", Version: "v1.22.2", Sum: "h1:abc="},
			{Path: "example.com/old", Version: "v1.0.0", Sum: "h1:old=", Replace: &debug.Module{Path: "example.com/new", Version: "v1.0.1", Sum: "h1:new="}},
		},
		Settings: []debug.BuildSetting{{Key: "CGO_ENABLED", Value: "0"}, {Key: "-trimpath", Value: "true"}},
	}
	want := "path\tgithub.com/martech-guardrails/guardrails/cmd/guardrails\n" +
		"mod\tgithub.com/martech-guardrails/guardrails\t(devel)\t\n" +
		"dep\tgithub.com/open-policy-agent/opa\tv1.22.2\th1:abc=\n" +
		"dep\texample.com/old\tv1.0.0\th1:old=\n" +
		"=>\texample.com/new\tv1.0.1\th1:new=\n" +
		"build\tCGO_ENABLED=0\n" +
		"build\t-trimpath=true\n"
	if got := modules(bi); got != want {
		t.Errorf("modules:\n%s\nwant:\n%s", got, want)
	}
}
