package v1alpha1_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// TestCRDSchemaDescriptions keeps `kubectl explain` useful: every property of
// every generated CRD schema carries a description. A missing one is fixed by
// a doc comment on the Go field (or type), then `make manifests`.
//
// The one exception is the root `metadata`: controller-gen deliberately
// reduces it to `{type: object}` (FixTopLevelMetadata; the API server refuses
// anything else there), and the API server publishes the full, described
// ObjectMeta schema in its place, which is what `kubectl explain` shows.
// generatedCRDs reads the six CRDs of config/crd/bases, by file.
func generatedCRDs(t *testing.T) map[string]*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "config", "crd", "bases", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := len(v1alpha1.Kinds()); len(files) != want {
		t.Fatalf("want the %d CRDs of the kinds table (kinds.go) in config/crd/bases, found %d: %v", want, len(files), files)
	}
	out := make(map[string]*apiextensionsv1.CustomResourceDefinition, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(data, &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = &crd
	}
	return out
}

func TestCRDSchemaDescriptions(t *testing.T) {
	crds := generatedCRDs(t)
	for _, f := range slices.Sorted(maps.Keys(crds)) {
		crd := crds[f]
		if len(crd.Spec.Versions) == 0 {
			t.Fatalf("%s: no versions", f)
		}
		for _, v := range crd.Spec.Versions {
			if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				t.Errorf("%s %s: no openAPIV3Schema", crd.Name, v.Name)
				continue
			}
			var missing []string
			root := v.Schema.OpenAPIV3Schema
			if root.Description == "" {
				missing = append(missing, "(root)")
			}
			for name, prop := range root.Properties {
				if name == "metadata" {
					continue
				}
				missing = append(missing, undescribed(name, &prop)...)
			}
			for _, want := range []string{"spec", "status"} {
				if _, ok := root.Properties[want]; !ok {
					t.Errorf("%s %s: schema has no %s", crd.Name, v.Name, want)
				}
			}
			if len(missing) > 0 {
				slices.Sort(missing)
				t.Errorf("%s %s: %d properties without a description (kubectl explain shows nothing for them):\n  %s",
					crd.Name, v.Name, len(missing), strings.Join(missing, "\n  "))
			}
		}
	}
}

// undescribed lists path and every property below it that has no description.
func undescribed(path string, s *apiextensionsv1.JSONSchemaProps) []string {
	var out []string
	if strings.TrimSpace(s.Description) == "" {
		out = append(out, path)
	}
	for name, prop := range s.Properties {
		out = append(out, undescribed(path+"."+name, &prop)...)
	}
	if s.Items != nil {
		if s.Items.Schema != nil {
			out = append(out, undescribedChildren(path+"[]", s.Items.Schema)...)
		}
		for i := range s.Items.JSONSchemas {
			out = append(out, undescribedChildren(path+"[]", &s.Items.JSONSchemas[i])...)
		}
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		out = append(out, undescribedChildren(path+"{}", s.AdditionalProperties.Schema)...)
	}
	return out
}

// undescribedChildren checks the properties of an item or value schema; the
// schema itself is described by the list or map that holds it.
func undescribedChildren(path string, s *apiextensionsv1.JSONSchemaProps) []string {
	var out []string
	for name, prop := range s.Properties {
		out = append(out, undescribed(path+"."+name, &prop)...)
	}
	if s.Items != nil && s.Items.Schema != nil {
		out = append(out, undescribedChildren(path+"[]", s.Items.Schema)...)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		out = append(out, undescribedChildren(path+"{}", s.AdditionalProperties.Schema)...)
	}
	return out
}

// TestUndescribedFindsNestedGaps proves the walker looks inside objects, list
// items and map values, so a green TestCRDSchemaDescriptions means something.
func TestUndescribedFindsNestedGaps(t *testing.T) {
	s := apiextensionsv1.JSONSchemaProps{
		Description: "spec",
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"described": {Description: "ok"},
			"bare":      {Type: "string"},
			"list": {Description: "a list", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{
				Properties: map[string]apiextensionsv1.JSONSchemaProps{"name": {Type: "string"}},
			}}},
			"map": {Description: "a map", AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{Schema: &apiextensionsv1.JSONSchemaProps{
				Properties: map[string]apiextensionsv1.JSONSchemaProps{"value": {Description: "ok", Properties: map[string]apiextensionsv1.JSONSchemaProps{"deep": {}}}},
			}}},
		},
	}
	got := undescribed("spec", &s)
	slices.Sort(got)
	want := []string{"spec.bare", "spec.list[].name", "spec.map{}.value.deep"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("undescribed = %v, want %v", got, want)
	}
}
