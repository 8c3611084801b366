// Package render turns a MarketingWorkload, the PlatformStandard in force and
// the SaaSIntegrations and Vendors it references into the Kubernetes objects
// the reconciler applies.
//
// Everything here is a pure function: no client, no clock reads, no I/O. The
// same inputs always give the same objects, in the same order, which is what
// makes server-side apply idempotent, drift correction exact and the golden
// files in testdata stable. The time is an input (Inputs.Now), so the
// campaign lifecycle (PhaseAt) can be tested at any instant.
//
// What the reconciler does with the result:
//
//   - Apply every object of Children.Objects with server-side apply under
//     FieldOwner, forcing ownership (client.ForceOwnership), in the order
//     given: the NetworkPolicy fences the pods before the Deployment starts
//     them, the Ingress publishes last.
//   - Set the owner reference itself, with
//     controllerutil.SetControllerReference(workload, obj, scheme), before
//     applying. Render does not: it needs the scheme to resolve the owner's
//     GroupVersionKind, and keeping it out keeps this package free of
//     runtime wiring.
//   - Delete the objects Absent returns (ignoring NotFound): the Ingress once
//     a campaign has ended, the PodDisruptionBudget when replicas drop to one
//     or fewer, everything once the workload is Archived.
//   - Requeue after Lifecycle.NextTransition (RequeueAfter, never polling).
//
// Every child carries TypeMeta (server-side apply needs apiVersion and kind)
// and the standard labels from Labels.
package render
