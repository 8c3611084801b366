// Command image builds the operator's container image without a container
// engine (`make image`): static binaries (CGO_ENABLED=0, -trimpath) for each
// platform, assembled with github.com/google/go-containerregistry (as ko
// does) onto an empty base, into an OCI image layout with one index for
// every platform, each platform image carrying its CycloneDX SBOM as an OCI
// referrer. See docs/image.md.
//
// Reproducible: every timestamp is SOURCE_DATE_EPOCH (default: the commit's
// time), every layer's entries are sorted with numeric owners, so one commit
// built twice gives one index digest.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// versionVar is the variable -ldflags -X sets to the version.
const versionVar = "github.com/martech-guardrails/guardrails/internal/version.Version"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		out       = flag.String("out", "dist", "Folder the layout (image/), its archive (image.oci.tar), the SBOMs (sbom/) and the binaries (bin/) are written to.")
		repo      = flag.String("repo", "ghcr.io/martech-guardrails/guardrails", "Image repository; the image is named <repo>:<version> in the layout.")
		version   = flag.String("version", "dev", "Version: the binaries' `guardrails version` and the version label.")
		platforms = flag.String("platforms", "linux/amd64,linux/arm64", "Comma-separated os/arch list.")
		source    = flag.String("source", "https://github.com/martech-guardrails/guardrails", "The org.opencontainers.image.source label.")
		licenses  = flag.String("licenses", "Apache-2.0", "The org.opencontainers.image.licenses label (SPDX expression).")
	)
	flag.Parse()

	epoch, err := sourceDateEpoch()
	if err != nil {
		return err
	}
	revision, err := git("rev-parse", "HEAD")
	if err != nil {
		return err
	}
	tag := strings.NewReplacer("+", "_", "/", "_").Replace(*version)
	s := Spec{
		Ref:   *repo + ":" + tag,
		Epoch: epoch,
		Labels: map[string]string{
			"org.opencontainers.image.source":   *source,
			"org.opencontainers.image.version":  *version,
			"org.opencontainers.image.revision": revision,
			"org.opencontainers.image.licenses": *licenses,
			"org.opencontainers.image.title":    "martech-guardrails",
			"org.opencontainers.image.created":  epoch.UTC().Format(time.RFC3339),
		},
		Licenses: map[string]string{"/licenses/LICENSE": "LICENSE", "/licenses/NOTICE": "NOTICE"},
	}
	for _, pl := range strings.Split(*platforms, ",") {
		osName, arch, ok := strings.Cut(strings.TrimSpace(pl), "/")
		if !ok || osName == "" || arch == "" {
			return fmt.Errorf("-platforms: %q is not os/arch", pl)
		}
		p := Platform{OS: osName, Arch: arch, Binaries: map[string]string{}}
		for _, bin := range []string{"manager", "guardrails"} {
			dst := filepath.Join(*out, "bin", osName+"_"+arch, bin)
			if err := goBuild(p, *version, dst, "./cmd/"+bin); err != nil {
				return err
			}
			p.Binaries["/"+bin] = dst
		}
		s.Platforms = append(s.Platforms, p)
	}

	sbomDir := filepath.Join(*out, "sbom")
	if err := os.MkdirAll(sbomDir, 0o755); err != nil {
		return err
	}
	res, err := Build(s, filepath.Join(*out, "image"), func(p Platform) ([]byte, error) {
		doc, err := SBOM(s, p)
		if err != nil {
			return nil, err
		}
		// Beside the image too, for whoever reads files, not registries.
		name := filepath.Join(sbomDir, "guardrails-"+p.OS+"-"+p.Arch+".cdx.json")
		return doc, os.WriteFile(name, doc, 0o644)
	})
	if err != nil {
		return err
	}
	archive := filepath.Join(*out, "image.oci.tar")
	if err := Archive(res, archive, epoch); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "image.digest"), []byte(res.Index.String()+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Printf("image %s (epoch %s)\n", s.Ref, epoch.UTC().Format(time.RFC3339))
	for _, p := range s.Platforms {
		fmt.Printf("  %-12s %s  sbom %s\n", p, res.Images[p.String()], res.SBOMs[p.String()])
	}
	fmt.Printf("wrote %s/image (OCI layout), %s (podman load -i / docker load -i), %s/*.cdx.json\n", *out, archive, sbomDir)
	fmt.Printf("index digest: %s\n", res.Index)
	fmt.Printf("pin it: IMG=%s@%s\n", *repo, res.Index)
	return nil
}

// goBuild builds a static binary for p.
func goBuild(p Platform, version, out, pkg string) error {
	cmd := exec.Command("go", "build", "-trimpath",
		"-ldflags", "-s -w -X "+versionVar+"="+version, "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch, "GOFLAGS=-buildvcs=true")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	fmt.Fprintf(os.Stderr, "go build %s for %s\n", pkg, p)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for %s: %w", pkg, p, err)
	}
	return nil
}

// sourceDateEpoch is $SOURCE_DATE_EPOCH (reproducible-builds.org), else the
// time of the commit checked out.
func sourceDateEpoch() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		var err error
		if v, err = git("log", "-1", "--format=%ct"); err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH unset and no commit time: %w", err)
		}
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: not seconds since 1970: %w", v, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

func git(args ...string) (string, error) {
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}
