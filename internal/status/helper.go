package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// Helper writes the status of one object at the end of a reconcile, in the
// shape of Cluster API's patch helper:
//
//	obj := ... // read
//	st := status.NewHelper(r.Client, obj)
//	defer func() { err = st.Patch(ctx, obj, err) }()
//	... // change obj.Status; return errors made with Fail
type Helper[T v1alpha1.Object] struct {
	client client.Client
	before T
}

// NewHelper remembers obj as read, before the reconcile changes it.
func NewHelper[T v1alpha1.Object](c client.Client, obj T) *Helper[T] {
	before, _ := obj.DeepCopyObject().(T) // a deep copy has obj's type
	return &Helper[T]{client: c, before: before}
}

// Before is the object as NewHelper saw it, read only.
func (h *Helper[T]) Before() T { return h.before }

// Patch records how the reconcile of obj ended and writes obj's status when
// it differs from the one NewHelper saw. With err nil,
// status.observedGeneration becomes obj's generation; with an error, the
// Ready condition is False with ReasonOf(err) and the error's message, and
// observedGeneration stays where it was (the generation is not judged).
//
// The write is a JSON merge patch of the status subresource, holding only
// the fields that changed and the resourceVersion that was read: an object
// changed since is a conflict (the reconcile runs again), never a status
// computed from a stale copy over a newer one. An object deleted since is
// not an error. Patch returns err, joined with the write's error if any.
func (h *Helper[T]) Patch(ctx context.Context, obj T, err error) error {
	if err != nil {
		Set(obj, Outcome{Reason: ReasonOf(err), Message: err.Error()})
	} else {
		obj.GetCommonStatus().ObservedGeneration = obj.GetGeneration()
	}
	perr := h.write(ctx, obj)
	switch {
	case perr == nil || apierrors.IsNotFound(perr):
		return err
	case err == nil:
		return perr
	default:
		return errors.Join(err, perr)
	}
}

func (h *Helper[T]) write(ctx context.Context, obj T) error {
	data, err := statusPatch(h.before, obj)
	if err != nil || data == nil {
		return err
	}
	if err := h.client.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, data)); err != nil {
		return fmt.Errorf("writing the status: %w", err)
	}
	return nil
}

// statusPatch is the merge patch that takes before's status to after's,
// with before's resourceVersion; nil when the statuses agree.
func statusPatch(before, after v1alpha1.Object) ([]byte, error) {
	whole, err := client.MergeFrom(before).Data(after)
	if err != nil {
		return nil, fmt.Errorf("comparing the status: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(whole, &fields); err != nil {
		return nil, fmt.Errorf("comparing the status: %w", err)
	}
	st, ok := fields["status"]
	if !ok {
		return nil, nil
	}
	return json.Marshal(map[string]any{
		"metadata": map[string]string{"resourceVersion": before.GetResourceVersion()},
		"status":   st,
	})
}
