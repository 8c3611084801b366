// Package gitops holds what GitOps tools read from our objects: the Argo CD
// health check (health.lua, one script for every kind, shipped in the chart
// and docs/gitops.md) and the Go runner the tests judge it with, on
// gopher-lua, the interpreter Argo CD embeds.
package gitops

import (
	_ "embed"
	"errors"
	"fmt"
	"math"
	"sort"

	lua "github.com/yuin/gopher-lua"
)

// HealthLua is the Argo CD health check of every martech-guardrails kind.
//
//go:embed health.lua
var HealthLua string

// Argo CD's health statuses the check returns.
const (
	Healthy     = "Healthy"
	Progressing = "Progressing"
	Degraded    = "Degraded"
)

// Health is what the check returned.
type Health struct {
	Status  string
	Message string
}

// ArgoHealth runs HealthLua on obj (an object as JSON decodes it), as Argo
// CD does: obj is a global table, the script returns {status, message}.
func ArgoHealth(obj map[string]any) (Health, error) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	for _, open := range []lua.LGFunction{lua.OpenBase, lua.OpenTable, lua.OpenString, lua.OpenMath} {
		L.Push(L.NewFunction(open))
		L.Call(0, 0)
	}
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(HealthLua); err != nil {
		return Health{}, fmt.Errorf("health.lua: %w", err)
	}
	ret, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return Health{}, errors.New("health.lua returned no table")
	}
	h := Health{Status: lua.LVAsString(ret.RawGetString("status")), Message: lua.LVAsString(ret.RawGetString("message"))}
	switch h.Status {
	case Healthy, Progressing, Degraded:
		return h, nil
	}
	return h, fmt.Errorf("health.lua returned status %q", h.Status)
}

// toLua converts a JSON value: objects to tables with string keys, arrays
// to sequences from 1, numbers to Lua numbers.
func toLua(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(x)
	case string:
		return lua.LString(x)
	case int64:
		return lua.LNumber(x)
	case int:
		return lua.LNumber(x)
	case int32:
		return lua.LNumber(x)
	case float64:
		if math.IsNaN(x) {
			return lua.LNil
		}
		return lua.LNumber(x)
	case []any:
		t := L.NewTable()
		for _, e := range x {
			t.Append(toLua(L, e))
		}
		return t
	case map[string]any:
		t := L.NewTable()
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t.RawSetString(k, toLua(L, x[k]))
		}
		return t
	}
	return lua.LString(fmt.Sprint(v))
}
