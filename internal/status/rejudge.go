package status

import (
	"context"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// rejudgeBuffer is how many requests a reconciler's channel holds before
// Ask waits (controller-runtime's source.Channel drains it into the work
// queue as they come).
const rejudgeBuffer = 256

// Rejudge carries objects whose recorded verdict is out of date to the
// reconciler of their kind, which judges them again and writes their
// status: the status has one writer, and the others ask it. Make one with
// NewRejudge and give it to the reconcilers (controllers.Options) and to
// the door that asks (audit.Options). A nil *Rejudge asks nobody.
type Rejudge struct {
	mu   sync.Mutex
	subs map[string][]chan event.GenericEvent
}

// NewRejudge returns a Rejudge that nobody listens to yet.
func NewRejudge() *Rejudge {
	return &Rejudge{subs: map[string][]chan event.GenericEvent{}}
}

// Requests returns the channel the reconciler of kind watches (a
// source.Channel with handler.EnqueueRequestForObject: an event names the
// object to reconcile). Call it before the manager starts.
func (r *Rejudge) Requests(kind string) <-chan event.GenericEvent {
	ch := make(chan event.GenericEvent, rejudgeBuffer)
	r.mu.Lock()
	r.subs[kind] = append(r.subs[kind], ch)
	r.mu.Unlock()
	return ch
}

// Ask asks the reconcilers of obj's kind to judge obj again, waiting while
// their channels are full until ctx ends. It returns whether a reconciler
// listens (false for an object that is not of our kinds).
func (r *Rejudge) Ask(ctx context.Context, obj v1alpha1.Object) (bool, error) {
	k, ok := v1alpha1.KindOf(obj)
	if r == nil || !ok {
		return false, nil
	}
	r.mu.Lock()
	subs := r.subs[k.Name]
	r.mu.Unlock()
	if len(subs) == 0 {
		return false, nil
	}
	// The event carries a key, never the caller's object (the audit's are
	// the cache's, read only).
	key := k.New()
	key.SetNamespace(obj.GetNamespace())
	key.SetName(obj.GetName())
	for _, ch := range subs {
		select {
		case ch <- event.GenericEvent{Object: key}:
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
	return true, nil
}
