// Package input is the lowest layer of the policy engine: the input
// document policies read (docs/policies.md), and the conversions that make
// it. It turns the objects of a request (typed objects of api/v1alpha1,
// unstructured objects, maps) into OPA's AST (ToObject, TypedObject),
// decodes typed objects' JSON straight into AST values (JSONValue), keeps
// the conversions of stored catalogue objects (Cache), and assembles the
// document of one object from the parts its request shares (Shared,
// NewDocument).
//
// It imports api/v1alpha1, OPA's ast package and apimachinery, never the
// engine (package policy) nor its Gatekeeper support (package gatekeeper),
// which both build on it.
package input
