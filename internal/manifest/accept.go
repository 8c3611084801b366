package manifest

// A quick yes for the OpenAPI schema validation of admit. kube-openapi's
// validator (the API server's) builds a validator for every field of
// every object it validates and merges a result for each: most of the
// CPU of reading our objects, and the same verdict, "valid", for nearly
// every document. acceptor answers that question alone, from the same
// schema compiled once into a tree: accepts(obj) true means kube-openapi
// finds no error in obj. Whenever it cannot be sure (a schema feature it
// does not decide, a value of a type it does not know, an object it finds
// a fault in), it says false and kube-openapi validates, so that every
// message stays kube-openapi's own. It is sound, not complete: it may send
// a valid object to kube-openapi, never pass an invalid one (see
// TestAcceptorAgreesWithKubeOpenAPI and FuzzAcceptor).

import (
	"reflect"
	"regexp"
	"slices"
	"unicode/utf8"

	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
)

// acceptor is one node of a schema, as kube-openapi's SchemaValidator
// applies it (validate/schema.go: type, schema props, string, format,
// number, slice, common, object validators, in that order).
type acceptor struct {
	// undecided: the node uses a feature acceptor does not decide
	// (allOf, oneOf, not, dependencies, patternProperties, tuple items,
	// additionalItems, uniqueItems, multipleOf, a pattern Go's regexp
	// does not compile): any value reaching it goes to kube-openapi.
	undecided bool

	types    spec.StringOrArray
	nullable bool
	format   string
	// hasFormat: strfmt.Default knows format (the format validator
	// applies to strings).
	hasFormat bool
	formats   strfmt.Registry

	enum []any

	minLength, maxLength *int64
	pattern              *regexp.Regexp

	// number validator: its type and format (set when the schema has
	// exactly one type, integer or number) and bounds.
	numType, numFormat     string
	minimum, maximum       *float64
	exclusiveMinimum       bool
	exclusiveMaximum       bool
	minInRange, maxInRange bool // the bound fits numType/numFormat

	minItems, maxItems *int64
	items              *acceptor

	minProperties, maxProperties *int64
	properties                   map[string]*acceptor
	required                     []string
	// closed: additionalProperties false.
	closed     bool
	additional *acceptor

	anyOf []*acceptor
}

// newAcceptor compiles s, kube-openapi's schema of a kind, as
// validate.NewSchemaValidator(s, nil, "", formats) would apply it.
func newAcceptor(s *spec.Schema, formats strfmt.Registry) *acceptor {
	a := &acceptor{
		types: s.Type, nullable: s.Nullable, format: s.Format, formats: formats,
		enum:      s.Enum,
		minLength: s.MinLength, maxLength: s.MaxLength,
		minimum: s.Minimum, maximum: s.Maximum,
		exclusiveMinimum: s.ExclusiveMinimum, exclusiveMaximum: s.ExclusiveMaximum,
		minItems: s.MinItems, maxItems: s.MaxItems,
		minProperties: s.MinProperties, maxProperties: s.MaxProperties,
		required: s.Required,
	}
	a.hasFormat = formats.ContainsName(s.Format)
	if s.Ref.String() != "" || len(s.AllOf) > 0 || len(s.OneOf) > 0 || s.Not != nil ||
		len(s.Dependencies) > 0 || len(s.PatternProperties) > 0 || s.AdditionalItems != nil ||
		s.UniqueItems || s.MultipleOf != nil || s.Items != nil && len(s.Items.Schemas) > 0 {
		a.undecided = true
		return a
	}
	if s.Pattern != "" {
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			a.undecided = true
			return a
		}
		a.pattern = re
	}
	// As SchemaValidator.numberValidator.
	if len(s.Type) == 1 {
		switch s.Type[0] {
		case "integer":
			a.numType = "integer"
			if s.Format == "int32" || s.Format == "int64" {
				a.numFormat = s.Format
			}
		case "number":
			a.numType = "number"
			if s.Format == "float" || s.Format == "double" {
				a.numFormat = s.Format
			}
		}
	}
	if s.Minimum != nil {
		a.minInRange = validate.IsValueValidAgainstRange(*s.Minimum, a.numType, a.numFormat, "", "") == nil
	}
	if s.Maximum != nil {
		a.maxInRange = validate.IsValueValidAgainstRange(*s.Maximum, a.numType, a.numFormat, "", "") == nil
	}
	if s.Items != nil && s.Items.Schema != nil {
		a.items = newAcceptor(s.Items.Schema, formats)
	}
	if len(s.Properties) > 0 {
		a.properties = make(map[string]*acceptor, len(s.Properties))
		for name, p := range s.Properties {
			a.properties[name] = newAcceptor(&p, formats)
		}
	}
	if ap := s.AdditionalProperties; ap != nil {
		switch {
		case !ap.Allows:
			a.closed = true
		case ap.Schema != nil:
			a.additional = newAcceptor(ap.Schema, formats)
		}
	}
	for i := range s.AnyOf {
		a.anyOf = append(a.anyOf, newAcceptor(&s.AnyOf[i], formats))
	}
	return a
}

// maxAcceptDepth bounds the recursion: deeper objects go to kube-openapi.
const maxAcceptDepth = 100

// accepts reports whether kube-openapi's validator of the same schema
// finds no error in v, a JSON value; false when it cannot tell.
func (a *acceptor) accepts(v any) bool { return a.accept(v, 0) }

func (a *acceptor) accept(v any, depth int) bool {
	if a.undecided || depth > maxAcceptDepth {
		return false
	}
	if v == nil {
		// Only the type and common (enum) validators run on null.
		return (len(a.types) == 0 || a.types.Contains("null") || a.nullable) && len(a.enum) == 0
	}
	var schType, dataFormat string
	switch v.(type) {
	case string:
		schType = "string"
	case bool:
		schType = "boolean"
	case int64:
		schType, dataFormat = "integer", "int64"
	case []any:
		schType = "array"
	case map[string]any:
		schType = "object"
	default:
		// float64 (rare: YAML 1.0 is read as the integer 1), json.Number
		// or a Go type a JSON value does not hold: kube-openapi decides.
		return false
	}
	if !a.typeOK(schType, dataFormat) {
		return false
	}
	if len(a.anyOf) > 0 && !slices.ContainsFunc(a.anyOf, func(alt *acceptor) bool { return alt.accept(v, depth+1) }) {
		return false
	}
	switch x := v.(type) {
	case string:
		if !a.stringOK(x) {
			return false
		}
	case int64:
		if !a.numberOK(x) {
			return false
		}
	case []any:
		if a.minItems != nil && int64(len(x)) < *a.minItems || a.maxItems != nil && int64(len(x)) > *a.maxItems {
			return false
		}
		if a.items != nil {
			for _, it := range x {
				if !a.items.accept(it, depth+1) {
					return false
				}
			}
		}
	}
	if len(a.enum) > 0 && !a.inEnum(v) {
		return false
	}
	if m, ok := v.(map[string]any); ok {
		return a.objectOK(m, depth)
	}
	return true
}

// typeOK is kube-openapi's typeValidator (validate/type.go) for the JSON
// types accepts knows (no float: isFloatInt and isLowerFloat never hold;
// an int64 is format int64: isLowerInt never holds).
func (a *acceptor) typeOK(schType, dataFormat string) bool {
	if len(a.types) == 0 && a.format == "" {
		return true // the type validator does not apply
	}
	isIntFloat := schType == "integer" && a.types.Contains("number")
	stringOrSlice := schType == "string" || schType == "array"
	if !stringOrSlice && a.format != "" && !a.types.Contains(schType) && dataFormat != a.format && !isIntFloat {
		return false
	}
	if !a.types.Contains("number") && !a.types.Contains("integer") && a.format != "" && stringOrSlice {
		return true
	}
	return a.types.Contains(schType) || isIntFloat
}

// stringOK is the string and format validators.
func (a *acceptor) stringOK(s string) bool {
	if a.minLength != nil || a.maxLength != nil {
		n := int64(utf8.RuneCountInString(s))
		if a.maxLength != nil && n > *a.maxLength || a.minLength != nil && n < *a.minLength {
			return false
		}
	}
	if a.pattern != nil && !a.pattern.MatchString(s) {
		return false
	}
	return !a.hasFormat || a.formats.Validates(a.format, s)
}

// numberOK is the number validator for an int64 (values.go:
// MinimumNativeType, MaximumNativeType; a bound outside the type's range
// compares as a float).
func (a *acceptor) numberOK(n int64) bool {
	if validate.IsValueValidAgainstRange(n, a.numType, a.numFormat, "", "") != nil {
		return false
	}
	if a.maximum != nil {
		limit := *a.maximum
		if a.maxInRange {
			if m := int64(limit); n > m || a.exclusiveMaximum && n >= m {
				return false
			}
		} else if f := float64(n); f > limit || a.exclusiveMaximum && f >= limit {
			return false
		}
	}
	if a.minimum != nil {
		limit := *a.minimum
		if a.minInRange {
			if m := int64(limit); n < m || a.exclusiveMinimum && n <= m {
				return false
			}
		} else if f := float64(n); f < limit || a.exclusiveMinimum && f <= limit {
			return false
		}
	}
	return true
}

// inEnum reports whether v is one of the enum's values of its own Go
// type (kube-openapi also converts between types; those go to it).
func (a *acceptor) inEnum(v any) bool {
	switch v.(type) {
	case string, bool, int64:
		return slices.ContainsFunc(a.enum, func(e any) bool {
			return reflect.TypeOf(e) == reflect.TypeOf(v) && e == v
		})
	}
	return false
}

// objectOK is the object validator (validate/object_validator.go).
func (a *acceptor) objectOK(m map[string]any, depth int) bool {
	n := int64(len(m))
	if a.minProperties != nil && n < *a.minProperties || a.maxProperties != nil && n > *a.maxProperties {
		return false
	}
	for k, v := range m {
		p, ok := a.properties[k]
		switch {
		case ok:
			if !p.accept(v, depth+1) {
				return false
			}
		case a.closed:
			return false
		case a.additional != nil:
			if !a.additional.accept(v, depth+1) {
				return false
			}
		}
	}
	for _, k := range a.required {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}
