package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The user the image runs as: distroless' "nonroot".
const (
	uid      = 65532
	userName = "nonroot"
)

// SBOMMediaType is the artifact type of the SBOM attached to each platform
// image (an OCI 1.1 referrer whose subject is that image).
const SBOMMediaType = "application/vnd.cyclonedx+json"

// Platform is one os/arch of the image and the binaries built for it.
type Platform struct {
	OS, Arch string
	// Binaries maps the path in the image ("/manager") to the built file.
	Binaries map[string]string
}

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// Spec is everything the image is made from. The same Spec (the same bytes
// in the same files) gives the same index digest: every timestamp is Epoch,
// every entry sorted, every owner numeric.
type Spec struct {
	// Ref is the image name written as the layout's ref name annotation
	// ("ghcr.io/martech-guardrails/guardrails:v0.1.0"): what podman load
	// and docker load call the image.
	Ref string
	// Epoch is every file's mtime and the image's creation time.
	Epoch time.Time
	// Labels are the OCI labels (org.opencontainers.image.*), also written
	// as annotations on every manifest.
	Labels map[string]string
	// Licenses maps the path in the image ("/licenses/LICENSE") to the file.
	Licenses  map[string]string
	Platforms []Platform
}

// Result is what Build wrote.
type Result struct {
	Index v1.Hash
	// Images maps each platform ("linux/amd64") to its image digest.
	Images map[string]v1.Hash
	// SBOMs maps each platform to the digest of its SBOM referrer.
	SBOMs map[string]v1.Hash

	index v1.ImageIndex
	ref   string
}

// file is one entry of a layer.
type file struct {
	name string // without the leading slash
	mode int64
	uid  int
	dir  bool
	data []byte
}

// layer makes a deterministic, gzip-compressed layer of files: sorted by
// name, every parent directory present, mtime epoch, numeric owners only.
func layer(files []file, epoch time.Time) (v1.Layer, error) {
	byName := map[string]file{}
	for _, f := range files {
		f.name = strings.TrimPrefix(path.Clean("/"+f.name), "/")
		byName[f.name] = f
		for d := path.Dir(f.name); d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := byName[d]; !ok {
				byName[d] = file{name: d, mode: 0o755, dir: true}
			}
		}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		f := byName[name]
		h := &tar.Header{
			Name: f.name, Mode: f.mode, Uid: f.uid, Gid: f.uid,
			ModTime: epoch, Format: tar.FormatPAX,
		}
		if f.dir {
			h.Typeflag, h.Name = tar.TypeDir, f.name+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// baseFiles are what distroless/static:nonroot gives the binaries and they
// need: the user (for tools that look uid 65532 up), its home, a /tmp, and
// the licences. No shell, no package manager, no libc.
func baseFiles(licenses map[string]string) ([]file, error) {
	files := []file{
		{name: "etc/passwd", mode: 0o644, data: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\n" +
				fmt.Sprintf("%s:x:%d:%d:%s:/home/%s:/sbin/nologin\n", userName, uid, uid, userName, userName))},
		{name: "etc/group", mode: 0o644, data: []byte(
			"root:x:0:\n" + fmt.Sprintf("%s:x:%d:\n", userName, uid))},
		{name: "home/" + userName, mode: 0o700, uid: uid, dir: true},
		{name: "root", mode: 0o700, dir: true},
		{name: "tmp", mode: 0o1777, dir: true},
	}
	for _, dst := range slices.Sorted(maps.Keys(licenses)) {
		b, err := os.ReadFile(licenses[dst])
		if err != nil {
			return nil, fmt.Errorf("licence %s: %w", dst, err)
		}
		files = append(files, file{name: dst, mode: 0o644, data: b})
	}
	return files, nil
}

// platformImage is one platform's image: the base layer, the binaries'
// layer, user 65532, /manager as the entrypoint.
func platformImage(s Spec, p Platform, base v1.Layer) (v1.Image, error) {
	var bins []file
	for _, dst := range slices.Sorted(maps.Keys(p.Binaries)) {
		b, err := os.ReadFile(p.Binaries[dst])
		if err != nil {
			return nil, fmt.Errorf("%s binary %s: %w", p, dst, err)
		}
		bins = append(bins, file{name: dst, mode: 0o755, data: b})
	}
	binLayer, err := layer(bins, s.Epoch)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	created := v1.Time{Time: s.Epoch}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{Created: created, CreatedBy: "hack/image: /etc/passwd (uid 65532), /tmp, licences"}},
		mutate.Addendum{Layer: binLayer, MediaType: types.OCILayer, History: v1.History{Created: created, CreatedBy: "hack/image: " + strings.Join(slices.Sorted(maps.Keys(p.Binaries)), ", ")}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = p.OS, p.Arch
	cf.Created = created
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", uid, uid),
		Entrypoint: []string{"/manager"},
		WorkingDir: "/",
		Env:        []string{"HOME=/home/" + userName},
		Labels:     maps.Clone(s.Labels),
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	annotated, ok := mutate.Annotations(img, s.Labels).(v1.Image)
	if !ok {
		return nil, fmt.Errorf("mutate.Annotations of an image returned no image")
	}
	return annotated, nil
}

// sbomArtifact is the SBOM as an OCI 1.1 artifact manifest (artifactType
// application/vnd.cyclonedx+json, the empty config, one blob: the JSON
// document as is) whose subject is the platform image: `oras discover` and
// the registries' referrers API list it as the image's SBOM.
func sbomArtifact(sbom []byte, subject v1.Descriptor, epoch time.Time) (v1.Image, error) {
	doc := static.NewLayer(sbom, SBOMMediaType)
	docDigest, err := doc.Digest()
	if err != nil {
		return nil, err
	}
	emptyDigest, _, err := v1.SHA256(bytes.NewReader(emptyJSON))
	if err != nil {
		return nil, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  SBOMMediaType,
		Config:        v1.Descriptor{MediaType: emptyMediaType, Digest: emptyDigest, Size: int64(len(emptyJSON)), Data: emptyJSON},
		Layers:        []v1.Descriptor{{MediaType: SBOMMediaType, Digest: docDigest, Size: int64(len(sbom))}},
		Subject:       &subject,
		Annotations:   map[string]string{"org.opencontainers.image.created": epoch.UTC().Format(time.RFC3339)},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return partial.CompressedToImage(artifact{raw: raw, doc: doc, docDigest: docDigest})
}

// The OCI empty descriptor's content and media type.
var emptyJSON = []byte("{}")

const emptyMediaType types.MediaType = "application/vnd.oci.empty.v1+json"

// artifact is an OCI artifact manifest with the empty config and one blob.
type artifact struct {
	raw       []byte
	doc       v1.Layer
	docDigest v1.Hash
}

func (a artifact) RawManifest() ([]byte, error)        { return a.raw, nil }
func (a artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (a artifact) RawConfigFile() ([]byte, error)      { return emptyJSON, nil }

func (a artifact) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h == a.docDigest {
		return a.doc, nil
	}
	if d, _, _ := v1.SHA256(bytes.NewReader(emptyJSON)); h == d {
		return static.NewLayer(emptyJSON, emptyMediaType), nil
	}
	return nil, fmt.Errorf("artifact has no blob %s", h)
}

// Build writes the OCI image layout to dir (replacing it): an index.json
// naming one image index (every platform) under s.Ref, and each platform
// image's SBOM as a referrer. sbom makes a platform's SBOM document.
func Build(s Spec, dir string, sbom func(Platform) ([]byte, error)) (Result, error) {
	res := Result{Images: map[string]v1.Hash{}, SBOMs: map[string]v1.Hash{}}
	if len(s.Platforms) == 0 {
		return res, fmt.Errorf("no platforms")
	}
	bf, err := baseFiles(s.Licenses)
	if err != nil {
		return res, err
	}
	base, err := layer(bf, s.Epoch)
	if err != nil {
		return res, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var referrers []v1.Image
	for _, p := range s.Platforms {
		img, err := platformImage(s, p, base)
		if err != nil {
			return res, err
		}
		desc, err := descriptor(img)
		if err != nil {
			return res, err
		}
		desc.Platform = &v1.Platform{OS: p.OS, Architecture: p.Arch}
		res.Images[p.String()] = desc.Digest
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: desc.Platform}})
		doc, err := sbom(p)
		if err != nil {
			return res, fmt.Errorf("%s SBOM: %w", p, err)
		}
		art, err := sbomArtifact(doc, desc, s.Epoch)
		if err != nil {
			return res, err
		}
		if res.SBOMs[p.String()], err = art.Digest(); err != nil {
			return res, err
		}
		referrers = append(referrers, art)
	}
	annotated, ok := mutate.Annotations(idx, s.Labels).(v1.ImageIndex)
	if !ok {
		return res, fmt.Errorf("mutate.Annotations of an index returned no index")
	}
	idx = annotated
	res.index, res.ref = idx, s.Ref
	if res.Index, err = idx.Digest(); err != nil {
		return res, err
	}

	// Write beside dir, then swap: no blob of an older build stays.
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return res, err
	}
	lp, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return res, err
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": s.Ref,
	})); err != nil {
		return res, err
	}
	for _, r := range referrers {
		if err := lp.AppendImage(r); err != nil {
			return res, err
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return res, err
	}
	return res, os.Rename(tmp, dir)
}

func descriptor(img v1.Image) (v1.Descriptor, error) {
	d, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	n, err := img.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: n}, nil
}

// Archive writes the image index alone (no referrers: `podman load` takes an
// archive of one image only) as an OCI layout in one tar, an "oci-archive"
// for `podman load -i`, `docker load -i` (Docker 25+) and `skopeo copy
// oci-archive:`, with sorted entries and every mtime epoch, so the archive
// is reproducible too.
func Archive(res Result, out string, epoch time.Time) error {
	dir := out + ".layout"
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := lp.AppendIndex(res.index, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": res.ref,
	})); err != nil {
		return err
	}
	return tarDir(dir, out, epoch)
}

func tarDir(dir, out string, epoch time.Time) error {
	var names []string
	err := filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(names)
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	for _, p := range names {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h := &tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, ModTime: epoch, Format: tar.FormatPAX}
		if fi.IsDir() {
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, h.Name+"/", 0o755
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			continue
		}
		h.Typeflag, h.Size = tar.TypeReg, fi.Size()
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, src)
		_ = src.Close()
		if err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
