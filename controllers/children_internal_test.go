package controllers

import "testing"

func TestHolds(t *testing.T) {
	live := map[string]any{
		"metadata": map[string]any{"name": "a", "labels": map[string]any{"team": "growth", "added-by": "someone"}},
		"spec": map[string]any{
			"replicas": int64(2),
			"template": map[string]any{"spec": map[string]any{
				"containers": []any{map[string]any{"name": "app", "image": "registry/app:1", "terminationMessagePath": "/dev/termination-log"}},
			}},
		},
	}
	for _, tc := range []struct {
		name string
		want any
		ok   bool
	}{
		{"subset with server defaults around", map[string]any{"spec": map[string]any{"replicas": int64(2)}}, true},
		{"extra label on the live object", map[string]any{"metadata": map[string]any{"labels": map[string]any{"team": "growth"}}}, true},
		{"label changed by hand", map[string]any{"metadata": map[string]any{"labels": map[string]any{"team": "brand"}}}, false},
		{"replicas changed by hand", map[string]any{"spec": map[string]any{"replicas": int64(3)}}, false},
		{"list element holds", map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "app", "image": "registry/app:1"}}}}}}, true},
		{"image changed", map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "app", "image": "registry/app:2"}}}}}}, false},
		{"list length differs", map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "app"}, map[string]any{"name": "sidecar"}}}}}}, false},
		{"field missing on the live object", map[string]any{"spec": map[string]any{"paused": true}}, false},
		{"empty map for an absent field", map[string]any{"spec": map[string]any{"strategy": map[string]any{}}}, true},
		{"empty list for an absent field", map[string]any{"spec": map[string]any{"volumes": []any{}}}, true},
		{"null wanted, value present", map[string]any{"spec": map[string]any{"replicas": nil}}, false},
	} {
		if got := holds(live, tc.want); got != tc.ok {
			t.Errorf("%s: holds = %v, want %v", tc.name, got, tc.ok)
		}
	}
}
