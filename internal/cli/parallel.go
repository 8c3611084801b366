package cli

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// inParallel calls f(i) for every i in [0, n) on GOMAXPROCS goroutines,
// taking indexes in order. When f returns false no further index is taken;
// the indexes already taken finish, so every index before the one that
// stopped has been done.
func inParallel(n int, f func(i int) bool) {
	var next atomic.Int64
	var stopped atomic.Bool
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for !stopped.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if !f(i) {
					stopped.Store(true)
				}
			}
		})
	}
	wg.Wait()
}
