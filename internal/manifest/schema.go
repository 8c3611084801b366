package manifest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
	"sigs.k8s.io/yaml"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/config/crd"
)

// kindSchema validates and defaults one kind of our group as the API server
// would: OpenAPI schema, list types, CEL rules, defaults.
type kindSchema struct {
	kind       string
	namespaced bool
	structural *structuralschema.Structural
	shape      *shape // structural compiled for the quick passes (shape.go)
	validator  apiservervalidation.SchemaCreateValidator
	cel        *cel.Validator // nil when the kind has no CEL rules
}

// schemas returns the validators of our kinds, built once from the
// embedded CRDs.
var schemas = sync.OnceValues(func() (map[string]*kindSchema, error) {
	files, err := crd.Files()
	if err != nil {
		return nil, err
	}
	out := make(map[string]*kindSchema, len(files))
	for _, name := range slices.Sorted(maps.Keys(files)) {
		ks, err := newKindSchema(files[name])
		if err != nil {
			return nil, fmt.Errorf("CRD %s: %w", name, err)
		}
		out[ks.kind] = ks
	}
	return out, nil
})

func newKindSchema(manifest []byte) (*kindSchema, error) {
	var def apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(manifest, &def); err != nil {
		return nil, err
	}
	if def.Spec.Group != v1alpha1.GroupVersion.Group {
		return nil, fmt.Errorf("group %q, want %q", def.Spec.Group, v1alpha1.GroupVersion.Group)
	}
	var v1schema *apiextensionsv1.JSONSchemaProps
	for _, v := range def.Spec.Versions {
		if v.Name == v1alpha1.GroupVersion.Version && v.Schema != nil {
			v1schema = v.Schema.OpenAPIV3Schema
		}
	}
	if v1schema == nil {
		return nil, fmt.Errorf("no %s schema", v1alpha1.GroupVersion.Version)
	}
	var internal apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v1schema, &internal, nil); err != nil {
		return nil, fmt.Errorf("converting the schema: %w", err)
	}
	structural, err := structuralschema.NewStructural(&internal)
	if err != nil {
		return nil, fmt.Errorf("building the structural schema: %w", err)
	}
	_, openapi, err := apiservervalidation.NewSchemaValidator(&internal)
	if err != nil {
		return nil, fmt.Errorf("building the schema validator: %w", err)
	}
	// The validator the API server uses for creates, built once: the
	// ratcheting one NewSchemaValidator returns (for updates) builds a new
	// kube-openapi validator on every call, a quarter of the validation
	// time. A SchemaValidator is safe for concurrent use (the API server
	// shares one between requests).
	validator := createValidator{
		SchemaValidator: validate.NewSchemaValidator(openapi, nil, "", strfmt.Default),
		quick:           newAcceptor(openapi, strfmt.Default),
	}
	return &kindSchema{
		kind:       def.Spec.Names.Kind,
		namespaced: def.Spec.Scope == apiextensionsv1.NamespaceScoped,
		structural: structural,
		shape:      newShape(structural),
		validator:  validator,
		cel:        cel.NewValidator(structural, true, celconfig.PerCallLimit),
	}, nil
}

// admit does to obj what the API server does to a create request of this
// kind, offline: it rejects unknown fields (kubectl's default strict field
// validation), sets the namespace of a namespaced object that has none,
// applies the schema's defaults, and validates metadata, the OpenAPI
// schema, list types and CEL rules. It returns the problems, each naming
// its field; obj is modified in place.
func (ks *kindSchema) admit(ctx context.Context, obj map[string]any, defaultNamespace string) []string {
	problems, stop := ks.prepare(obj, defaultNamespace)
	if stop {
		return problems
	}
	add := func(errs field.ErrorList) {
		for _, e := range errs {
			problems = append(problems, e.Error())
		}
	}

	meta, ok := plainMeta(obj["metadata"], false)
	if !ok {
		var err error
		if meta, _, err = schemaobjectmeta.GetObjectMeta(obj, false); err != nil {
			return append(problems, fmt.Sprintf("metadata: Invalid value: %v", err))
		}
	}
	if meta == nil {
		meta = &metav1.ObjectMeta{}
	}
	add(metavalidation.ValidateObjectMeta(meta, ks.namespaced, metavalidation.NameIsDNSSubdomain, field.NewPath("metadata")))
	add(apiservervalidation.ValidateCustomResource(nil, obj, ks.validator))
	if !ks.shape.listsOK(obj) {
		add(listtype.ValidateListSetsAndMaps(nil, ks.structural, obj))
	}
	if ks.cel != nil {
		errs, _ := ks.cel.Validate(ctx, nil, ks.structural, obj, nil, celconfig.RuntimeCELCostBudget)
		add(errs)
	}
	return problems
}

// kindNames lists our kinds for messages.
// prepare is the part of admit that changes obj, as the API server does
// before validating: metadata coerced, unknown fields pruned (each one a
// problem), the namespace set or dropped by scope, defaults applied. stop
// says obj is too broken to validate further.
func (ks *kindSchema) prepare(obj map[string]any, defaultNamespace string) (problems []string, stop bool) {
	if _, ok := obj["metadata"].(map[string]any); !ok {
		if _, present := obj["metadata"]; present {
			return []string{"metadata: Invalid value: must be an object"}, true
		}
		return []string{"metadata.name: Required value: name is required"}, true
	}
	var unknown []string
	if !ks.coercesNothing(obj) {
		var ferr *field.Error
		ferr, unknown = schemaobjectmeta.CoerceWithOptions(nil, obj, ks.structural, true,
			schemaobjectmeta.CoerceOptions{ReturnUnknownFieldPaths: true})
		if ferr != nil {
			return []string{ferr.Error()}, true
		}
	}
	if ks.shape.prunes(obj, true) {
		unknown = append(unknown, pruning.PruneWithOptions(obj, ks.structural, true,
			structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})...)
	}
	for _, p := range unknown {
		problems = append(problems, fmt.Sprintf("%s: unknown field", p))
	}

	// Coerce may have replaced the metadata map: the one in obj now.
	md, ok := obj["metadata"].(map[string]any)
	if !ok {
		return append(problems, "metadata: Invalid value: must be an object"), true
	}
	ns, _ := md["namespace"].(string)
	switch {
	case ks.namespaced && ns == "":
		md["namespace"] = defaultNamespace
	case !ks.namespaced && ns != "":
		delete(md, "namespace") // as the API server does for cluster-scoped kinds
	}
	ks.shape.applyDefaults(obj) // defaulting.Default(obj, ks.structural)
	return problems, false
}

// coercesNothing reports that objectmeta.CoerceWithOptions would leave obj
// as it is (but for a copy of its metadata) and find nothing unknown: no
// embedded resource below the root, apiVersion and kind strings, and
// metadata of plain fields only (see plainMeta).
func (ks *kindSchema) coercesNothing(obj map[string]any) bool {
	_, av := obj["apiVersion"].(string)
	_, k := obj["kind"].(string)
	_, plain := plainMeta(obj["metadata"], true)
	return av && k && plain && !ks.shape.embeddedBelow
}

// plainMeta is the ObjectMeta of md when md holds nothing but name,
// generateName and namespace strings and labels and annotations maps of
// strings: what objectmeta.GetObjectMeta would decode from it (through
// JSON). nonEmpty asks for no empty string or map as well, which
// objectmeta's coercion would drop: then coercing md changes nothing.
// ok is false for anything else (the library decodes it).
func plainMeta(v any, nonEmpty bool) (meta *metav1.ObjectMeta, ok bool) {
	md, isMap := v.(map[string]any)
	if !isMap {
		return nil, false
	}
	meta = &metav1.ObjectMeta{}
	for k, v := range md {
		switch k {
		case "name", "generateName", "namespace":
			s, isString := v.(string)
			if !isString || nonEmpty && s == "" || !utf8.ValidString(s) {
				return nil, false
			}
			switch k {
			case "name":
				meta.Name = s
			case "generateName":
				meta.GenerateName = s
			default:
				meta.Namespace = s
			}
		case "labels", "annotations":
			m, isMap := v.(map[string]any)
			if !isMap || nonEmpty && len(m) == 0 {
				return nil, false
			}
			out := make(map[string]string, len(m))
			for mk, mv := range m {
				s, isString := mv.(string)
				if !isString || !utf8.ValidString(mk) || !utf8.ValidString(s) {
					return nil, false
				}
				out[mk] = s
			}
			if k == "labels" {
				meta.Labels = out
			} else {
				meta.Annotations = out
			}
		default:
			return nil, false
		}
	}
	return meta, true
}

// createValidator validates an object as created (no old object to
// ratchet against): the acceptor's quick yes, else kube-openapi's verdict
// and messages.
type createValidator struct {
	*validate.SchemaValidator
	quick *acceptor
}

func (v createValidator) Validate(obj any, _ ...apiservervalidation.ValidationOption) *validate.Result {
	if v.quick != nil && v.quick.accepts(obj) {
		return &validate.Result{}
	}
	return v.SchemaValidator.Validate(obj)
}

func kindNames(m map[string]*kindSchema) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}
