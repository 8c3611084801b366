package main

import (
	"os"
	"os/exec"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCPUTimeCountsThisProcess(t *testing.T) {
	before, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the kernel has charged at least three ticks more.
	deadline := time.Now().Add(5 * time.Second)
	x := 0
	var after time.Duration
	for time.Now().Before(deadline) {
		for i := range 1_000_000 {
			x += i
		}
		if after, err = cpuTime(os.Getpid()); err != nil {
			t.Fatal(err)
		}
		if after-before >= 3*clockTick {
			break
		}
	}
	if after-before < 3*clockTick {
		t.Fatalf("CPU time went from %s to %s after 5s of spinning (x=%d)", before, after, x)
	}
}

func TestPeakRSSResets(t *testing.T) {
	pid := os.Getpid()
	big := make([]byte, 64<<20)
	for i := range big {
		big[i] = 1 // touch every page
	}
	peak, err := peakRSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	if peak < 64<<20 {
		t.Fatalf("peak RSS %d bytes after touching 64 MiB", peak)
	}
	big = nil
	_ = big
	debug.FreeOSMemory() // the 64 MiB leave the RSS
	if err := resetPeakRSS(pid); err != nil {
		t.Skipf("clear_refs not writable here: %v", err)
	}
	again, err := peakRSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	if again > peak-32<<20 {
		t.Fatalf("peak RSS %d MiB after the reset, %d MiB before: not reset", again>>20, peak>>20)
	}
}

func TestChildrenNamed(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep command: %v", err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	pids, err := childrenNamed("sleep")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pids, cmd.Process.Pid) {
		t.Fatalf("childrenNamed(sleep) = %v, want it to hold %d", pids, cmd.Process.Pid)
	}
	if pids, _ := childrenNamed("kube-apiserver"); len(pids) != 0 {
		t.Fatalf("childrenNamed(kube-apiserver) = %v, want none", pids)
	}
}

func TestParseVUs(t *testing.T) {
	got, err := parseVUs("1, 10,50")
	if err != nil || !slices.Equal(got, []int{1, 10, 50}) {
		t.Fatalf("parseVUs = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "1,x", "501", "-3"} {
		if _, err := parseVUs(bad); err == nil || !strings.Contains(err.Error(), "-vus") {
			t.Errorf("parseVUs(%q) = %v, want an error naming -vus", bad, err)
		}
	}
}

func TestPercentileAndMedian(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[int]time.Duration{50: 50 * time.Millisecond, 95: 95 * time.Millisecond, 99: 99 * time.Millisecond} {
		if got := percentile(ds, p); got != want {
			t.Errorf("percentile(1..100 ms, %d) = %s, want %s", p, got, want)
		}
	}
	if got := mean(ds); got != 50500*time.Microsecond {
		t.Errorf("mean = %s, want 50.5ms", got)
	}
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median(3,1,2) = %v", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median(4,1,3,2) = %v", got)
	}
}

func TestLineWatcher(t *testing.T) {
	seen := make(chan struct{})
	w := &lineWatcher{want: readyLine, seen: seen}
	for _, chunk := range []string{"webhooks re", "ady\n", readyLine + "\n"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-seen:
	default:
		t.Fatal("the ready line split over two writes was not seen")
	}
}
