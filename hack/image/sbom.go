package main

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// purl is the package URL of a Go module (purl-spec's golang type).
func purl(path, version string) string {
	return "pkg:golang/" + path + "@" + version
}

// modulesOf reads the Go modules a binary was built from, out of its build
// info (what `go version -m` prints): the main module and every dependency,
// a replaced one as its replacement.
func modulesOf(bin string) (*buildinfo.BuildInfo, error) {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("%s: reading its Go build info: %w", bin, err)
	}
	return bi, nil
}

func effective(m *debug.Module) *debug.Module {
	if m.Replace != nil {
		return m.Replace
	}
	return m
}

// SBOM is a CycloneDX 1.6 document of one platform image: a component per
// binary (its main module, Go version and build settings, SHA-256) and a
// library component per Go module linked into either, with the dependency
// graph saying which binary links which modules. Same binaries, same
// document: the serial number is derived from the content and the timestamp
// is the build epoch.
func SBOM(s Spec, p Platform) ([]byte, error) {
	bom := cdx.NewBOM()
	bom.SpecVersion = cdx.SpecVersion1_6
	name := s.Ref
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	bom.Metadata = &cdx.Metadata{
		Timestamp: s.Epoch.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: "hack/image", Group: "github.com/martech-guardrails/guardrails",
		}}},
		Component: &cdx.Component{
			BOMRef:  "image",
			Type:    cdx.ComponentTypeContainer,
			Name:    name,
			Version: s.Labels["org.opencontainers.image.version"],
			Properties: &[]cdx.Property{
				{Name: "oci:platform", Value: p.String()},
				{Name: "org.opencontainers.image.revision", Value: s.Labels["org.opencontainers.image.revision"]},
				{Name: "org.opencontainers.image.source", Value: s.Labels["org.opencontainers.image.source"]},
			},
			Licenses: &cdx.Licenses{{License: &cdx.License{ID: s.Labels["org.opencontainers.image.licenses"]}}},
		},
	}
	libs := map[string]cdx.Component{}
	var binaries []cdx.Component
	var deps []cdx.Dependency
	var imageDeps []string
	for _, dst := range slices.Sorted(maps.Keys(p.Binaries)) {
		file := p.Binaries[dst]
		bi, err := modulesOf(file)
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		ref := "binary:" + dst
		props := []cdx.Property{
			{Name: "go:version", Value: bi.GoVersion},
			{Name: "go:path", Value: bi.Path},
			{Name: "image:path", Value: dst},
		}
		for _, st := range bi.Settings {
			props = append(props, cdx.Property{Name: "go:build:" + st.Key, Value: st.Value})
		}
		main := bi.Main.Version
		binaries = append(binaries, cdx.Component{
			BOMRef: ref, Type: cdx.ComponentTypeApplication,
			Name: strings.TrimPrefix(dst, "/"), Version: main,
			PackageURL: purl(bi.Main.Path, main),
			Hashes:     &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: hex.EncodeToString(sum[:])}},
			Properties: &props,
		})
		imageDeps = append(imageDeps, ref)
		var on []string
		for _, d := range bi.Deps {
			m := effective(d)
			p := purl(m.Path, m.Version)
			if _, ok := libs[p]; !ok {
				c := cdx.Component{BOMRef: p, Type: cdx.ComponentTypeLibrary, Name: m.Path, Version: m.Version, PackageURL: p}
				if m.Sum != "" {
					c.Properties = &[]cdx.Property{{Name: "go:module:sum", Value: m.Sum}}
				}
				if d.Replace != nil {
					c.Description = fmt.Sprintf("replaces %s %s", d.Path, d.Version)
				}
				libs[p] = c
			}
			on = append(on, p)
		}
		slices.Sort(on)
		deps = append(deps, cdx.Dependency{Ref: ref, Dependencies: &on})
	}
	comps := binaries
	for _, k := range slices.Sorted(maps.Keys(libs)) {
		comps = append(comps, libs[k])
	}
	bom.Components = &comps
	deps = append([]cdx.Dependency{{Ref: "image", Dependencies: &imageDeps}}, deps...)
	bom.Dependencies = &deps

	encode := func() ([]byte, error) {
		var buf bytes.Buffer
		enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON)
		enc.SetPretty(true)
		if err := enc.Encode(bom); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	// The serial number (an RFC 4122 UUID) is a hash of the document
	// without it: reproducible, and different for different content.
	b, err := encode()
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(b)
	h[6] = h[6]&0x0f | 0x50 // version 5 (name-based, SHA)
	h[8] = h[8]&0x3f | 0x80 // RFC 4122 variant
	x := hex.EncodeToString(h[:16])
	bom.SerialNumber = fmt.Sprintf("urn:uuid:%s-%s-%s-%s-%s", x[:8], x[8:12], x[12:16], x[16:20], x[20:32])
	return encode()
}
