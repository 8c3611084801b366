// Package gatekeeper is the engine's Gatekeeper room: it compiles
// ConstraintTemplates and their constraints into a Set, matches objects
// against a constraint's spec.match as Gatekeeper does, builds Gatekeeper's
// input.review and data.inventory (Review, Inventory), and names the
// objects it reports on ("ConstraintTemplate/<name>", "<Kind>/<name>").
//
// It builds on package input and never imports the engine (package
// policy): a template's Rego goes through the engine's compiler, which it
// borrows through the Rego interface, and the engine evaluates the
// constraints' queries with its own budget and exceptions.
package gatekeeper
