package testenv

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// RepoPath is a path in the repository, for the test suites two folders
// below its root (internal/*, test/*), which go test runs in their own
// folder.
func RepoPath(parts ...string) string {
	return filepath.Join(append([]string{"..", ".."}, parts...)...)
}

// Assets is where envtest finds kube-apiserver and etcd:
// $KUBEBUILDER_ASSETS, else the bin/k8s the Makefile builds.
func Assets() string {
	if a := os.Getenv("KUBEBUILDER_ASSETS"); a != "" {
		return a
	}
	return RepoPath("bin", "k8s")
}

// ReadObject decodes the (first) object of the YAML or JSON file at path
// into obj.
func ReadObject(path string, obj any) error {
	data, err := os.ReadFile(path) //nolint:gosec // the tests' own fixture files
	if err != nil {
		return err
	}
	if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096).Decode(obj); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
