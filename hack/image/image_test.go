package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// spec is an image of this test binary (a Go binary with build info) as
// both /manager and /guardrails, for two platforms, its files copied into
// dir with mtime mtime: what differs between two checkouts of one commit.
func spec(t *testing.T, dir string, mtime time.Time, epoch time.Time) Spec {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cp := func(src, name string) string {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(dst, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	s := Spec{
		Ref:   "example.com/guardrails:v0.0.0-test",
		Epoch: epoch,
		Labels: map[string]string{
			"org.opencontainers.image.source":   "https://example.com/guardrails",
			"org.opencontainers.image.version":  "v0.0.0-test",
			"org.opencontainers.image.revision": "0123456789abcdef",
			"org.opencontainers.image.licenses": "Apache-2.0",
		},
		Licenses: map[string]string{
			"/licenses/LICENSE": cp("../../LICENSE", "LICENSE"),
			"/licenses/NOTICE":  cp("../../NOTICE", "NOTICE"),
		},
	}
	for _, arch := range []string{"amd64", "arm64"} {
		s.Platforms = append(s.Platforms, Platform{OS: "linux", Arch: arch, Binaries: map[string]string{
			"/manager":    cp(self, arch+"/manager"),
			"/guardrails": cp(self, arch+"/guardrails"),
		}})
	}
	return s
}

func build(t *testing.T, s Spec, dir string) Result {
	t.Helper()
	res, err := Build(s, dir, func(p Platform) ([]byte, error) { return SBOM(s, p) })
	if err != nil {
		t.Fatal(err)
	}
	if err := Archive(res, dir+".oci.tar", s.Epoch); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestReproducible: two builds from the same bytes, in other folders with
// other mtimes, give the same index digest and the same archive, byte for
// byte; another epoch gives another digest (the epoch is what stamps time).
func TestReproducible(t *testing.T) {
	epoch := time.Unix(1_780_000_000, 0)
	a, b := t.TempDir(), t.TempDir()
	ra := build(t, spec(t, a, time.Unix(1, 0), epoch), filepath.Join(a, "image"))
	time.Sleep(1100 * time.Millisecond) // a later wall clock for the second build
	rb := build(t, spec(t, b, time.Now(), epoch), filepath.Join(b, "image"))
	t.Logf("index %s, amd64 %s, arm64 %s", ra.Index, ra.Images["linux/amd64"], ra.Images["linux/arm64"])
	if ra.Index != rb.Index {
		t.Errorf("two builds of the same files: index %s and %s", ra.Index, rb.Index)
	}
	for p := range ra.Images {
		if ra.Images[p] != rb.Images[p] || ra.SBOMs[p] != rb.SBOMs[p] {
			t.Errorf("%s: image %s/%s, SBOM %s/%s", p, ra.Images[p], rb.Images[p], ra.SBOMs[p], rb.SBOMs[p])
		}
	}
	ta, _ := os.ReadFile(filepath.Join(a, "image.oci.tar"))
	tb, _ := os.ReadFile(filepath.Join(b, "image.oci.tar"))
	if len(ta) == 0 || !bytes.Equal(ta, tb) {
		t.Errorf("the two archives differ (%d and %d bytes)", len(ta), len(tb))
	}
	c := t.TempDir()
	rc := build(t, spec(t, c, time.Unix(1, 0), epoch.Add(time.Second)), filepath.Join(c, "image"))
	if rc.Index == ra.Index {
		t.Errorf("another SOURCE_DATE_EPOCH gave the same index %s: the epoch is not stamped", rc.Index)
	}
}

// TestImageContents reads the layout back as a registry client would and
// checks what the issue asks of the image.
func TestImageContents(t *testing.T) {
	dir := t.TempDir()
	s := spec(t, dir, time.Now(), time.Unix(1_780_000_000, 0))
	res := build(t, s, filepath.Join(dir, "image"))

	lp, err := layout.FromPath(filepath.Join(dir, "image"))
	if err != nil {
		t.Fatal(err)
	}
	top, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1+len(s.Platforms) {
		t.Fatalf("index.json has %d manifests, want the index and %d SBOMs", len(tm.Manifests), len(s.Platforms))
	}
	if d := tm.Manifests[0]; d.Digest != res.Index || d.Annotations["org.opencontainers.image.ref.name"] != s.Ref {
		t.Errorf("index.json's first entry: %s %v, want %s named %s", d.Digest, d.Annotations, res.Index, s.Ref)
	}
	idx, err := top.ImageIndex(res.Index)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 {
		t.Fatalf("the image index has %d manifests, want 2", len(im.Manifests))
	}
	subjects := map[v1.Hash]bool{}
	for _, d := range tm.Manifests[1:] {
		if d.ArtifactType != SBOMMediaType {
			t.Errorf("referrer %s has artifactType %q", d.Digest, d.ArtifactType)
		}
		art, err := top.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		m, err := art.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject == nil {
			t.Fatalf("SBOM %s has no subject", d.Digest)
		}
		subjects[m.Subject.Digest] = true
		ls, _ := art.Layers()
		rc, err := ls[0].Compressed()
		if err != nil {
			t.Fatal(err)
		}
		var bom cdx.BOM
		if err := cdx.NewBOMDecoder(rc, cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
			t.Fatalf("SBOM %s: %v", d.Digest, err)
		}
		_ = rc.Close()
		bins := 0
		for _, c := range *bom.Components {
			if c.Type == cdx.ComponentTypeApplication {
				bins++
			}
		}
		if bins != 2 || len(*bom.Dependencies) != 3 {
			t.Errorf("SBOM %s: %d binaries and %d dependency entries, want 2 and 3", d.Digest, bins, len(*bom.Dependencies))
		}
	}
	for _, d := range im.Manifests {
		if d.Platform == nil || d.Platform.OS != "linux" {
			t.Fatalf("manifest %s has platform %v", d.Digest, d.Platform)
		}
		if !subjects[d.Digest] {
			t.Errorf("%s: no SBOM refers to it", d.Platform)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Architecture != d.Platform.Architecture || cf.Config.User != "65532:65532" ||
			strings.Join(cf.Config.Entrypoint, " ") != "/manager" || cf.Config.Labels["org.opencontainers.image.licenses"] != "Apache-2.0" ||
			!cf.Created.Equal(s.Epoch) {
			t.Errorf("%s config: arch %s user %q entrypoint %v labels %v created %s", d.Platform, cf.Architecture, cf.Config.User, cf.Config.Entrypoint, cf.Config.Labels, cf.Created)
		}
		files := map[string]*tar.Header{}
		var passwd string
		ls, _ := img.Layers()
		for _, l := range ls {
			rc, err := l.Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			tr := tar.NewReader(rc)
			var last string
			for {
				h, err := tr.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if h.Name < last {
					t.Errorf("%s: %s after %s: entries not sorted", d.Platform, h.Name, last)
				}
				last = h.Name
				if !h.ModTime.Equal(s.Epoch) {
					t.Errorf("%s: %s has mtime %s", d.Platform, h.Name, h.ModTime)
				}
				files[h.Name] = h
				if h.Name == "etc/passwd" {
					b, _ := io.ReadAll(tr)
					passwd = string(b)
				}
			}
			_ = rc.Close()
		}
		for _, want := range []string{"manager", "guardrails", "licenses/LICENSE", "licenses/NOTICE", "etc/passwd", "etc/group", "tmp/"} {
			if files[want] == nil {
				t.Errorf("%s: no /%s", d.Platform, want)
			}
		}
		if h := files["manager"]; h != nil && h.Mode != 0o755 {
			t.Errorf("%s: /manager mode %o", d.Platform, h.Mode)
		}
		for name := range files {
			if strings.HasPrefix(name, "bin/") || strings.HasSuffix(name, "/sh") {
				t.Errorf("%s: the image has %s (no shell, no tools)", d.Platform, name)
			}
		}
		if !strings.Contains(passwd, "nonroot:x:65532:65532:") {
			t.Errorf("%s: /etc/passwd has no uid 65532:\n%s", d.Platform, passwd)
		}
	}
}
