//go:build e2e

package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium is Debian's headless browser; .ci/run installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: apt-get install chromium (.ci/run does)")
	return ""
}

// page is what a browser found on an HTML page.
type page struct {
	tables, rows, svgs int
	overflow           int // CSS pixels the page is wider than the window
	title              string
	consoleErrors      []string
}

// openPage opens file in headless Chromium, collects console errors and
// uncaught exceptions, counts tables, table rows and inline SVGs, and
// writes a full-page screenshot to shot.
func openPage(t *testing.T, file, shot string) page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // root in CI
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1400, 1000),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The first call starts the browser (no timeout on it: a timeout
	// would stop the browser with it).
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	var mu sync.Mutex
	var p page
	console := chromedp.Console(ctx) // subscribed from here on
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				p.consoleErrors = append(p.consoleErrors, m.String())
				mu.Unlock()
			}
		}
	}()
	tctx, tcancel := context.WithTimeout(ctx, 90*time.Second)
	defer tcancel()
	if err := chromedp.Do(tctx, chromedp.Navigate("file://"+file), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("chromium on %s: %v", file, err)
	}
	var err error
	count := func(sel string) int {
		n, e := chromedp.Run(tctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
		err = errors.Join(err, e)
		return n
	}
	title, terr := chromedp.Run(tctx, chromedp.Title())
	tables, rows, svgs := count("table"), count("table tr"), count("svg")
	// Wider than the window: a reader scrolls sideways to see the findings.
	overflow, oerr := chromedp.Run(tctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
	err = errors.Join(err, oerr)
	png, serr := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err = errors.Join(err, terr, serr); err != nil {
		t.Fatalf("chromium on %s: %v", file, err)
	}
	time.Sleep(500 * time.Millisecond) // late console messages
	cancel()
	<-done
	if err := os.WriteFile(shot, png, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: title %q, %d tables, %d rows, %d svg; screenshot %s (%d bytes)", filepath.Base(file), title, tables, rows, svgs, shot, len(png))
	mu.Lock()
	defer mu.Unlock()
	p.title, p.tables, p.rows, p.svgs, p.overflow = title, tables, rows, svgs, overflow
	return p
}

// browse writes the portfolio and data-flow pages of the suite's cluster
// (guardrails --kubeconfig, read only) and opens each in headless
// Chromium: no console error, the tables and the SVG map present, a
// screenshot beside them (under the test's temp dir, or E2E_SCREENSHOTS).
func (s *suite) browse(t *testing.T) {
	dir := t.TempDir()
	if d := os.Getenv("E2E_SCREENSHOTS"); d != "" {
		dir = d
	}
	// The watch itself: a page that logs an error and throws is caught.
	canary := filepath.Join(dir, "canary.html")
	if err := os.WriteFile(canary, []byte(`<!DOCTYPE html><title>canary</title><script>console.error("canary error"); null.x;</script>`), 0o600); err != nil {
		t.Fatal(err)
	}
	if p := openPage(t, canary, filepath.Join(dir, "canary.png")); len(p.consoleErrors) != 2 {
		t.Fatalf("the console watch saw %q on a page with one console.error and one exception", p.consoleErrors)
	}
	for _, view := range []struct {
		cmd       string
		minTables int
	}{
		{"portfolio", 2}, // the vendors and the totals
		{"dataflow", 1},  // the flows
	} {
		out := s.guardrails(view.cmd, "--kubeconfig", s.kubeconfig, "-o", "html")
		if out.code != 0 {
			t.Fatalf("guardrails %s -o html: exit %d\n%s", view.cmd, out.code, out.out)
		}
		file := filepath.Join(dir, view.cmd+".html")
		if err := os.WriteFile(file, []byte(out.out), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, ref := range []string{`src="http`, `href="http`, `url(http`, `@import`} {
			if strings.Contains(out.out, ref) {
				t.Errorf("%s page loads an external asset (%s)", view.cmd, ref)
			}
		}
		p := openPage(t, file, filepath.Join(dir, view.cmd+".png"))
		if len(p.consoleErrors) > 0 {
			t.Errorf("%s page: console errors %q", view.cmd, p.consoleErrors)
		}
		if p.overflow > 0 {
			t.Errorf("%s page is %dpx wider than a 1400px window", view.cmd, p.overflow)
		}
		if p.tables < view.minTables || p.rows < 3 || p.svgs < 1 || p.title == "" {
			t.Errorf("%s page: title %q, %d tables, %d rows, %d svg; want a title, %d tables, rows and the map", view.cmd, p.title, p.tables, p.rows, p.svgs, view.minTables)
		}
	}
}
