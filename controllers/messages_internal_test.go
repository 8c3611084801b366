package controllers

import "testing"

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 integrations", 1: "1 integration", 2: "2 integrations"} {
		if got := plural(n, "integration"); got != want {
			t.Errorf("plural(%d) = %q, want %q", n, got, want)
		}
	}
}
