package testenv

import (
	"os"
	"path/filepath"
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
