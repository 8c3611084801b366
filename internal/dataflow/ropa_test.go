package dataflow

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// ropaScenario: the data-flow scenario with a standard that allows eu
// only, a legal basis and retention on the CRM integration, a warning
// and a waived result, and source positions.
func ropaScenario() *Graph {
	crm := integration("shop", "crm", "payco", "marketing", "eu", "user.financial.credit_card", "user.contact.email")
	crm.Spec.Purpose = "=HYPERLINK(\"http://evil\")" // a formula, kept inert in CSV
	crm.Spec.LegalBasis = v1alpha1.LegalBasisContract
	days := int32(365)
	crm.Spec.Retention = &v1alpha1.Retention{Days: &days, Description: "one year after the last order"}
	crm.Spec.Owner = &v1alpha1.Owner{Team: "growth", Contact: "growth@acme.example"}
	crm.Spec.CostCenter = "MKT-1"
	payco := vendor("payco", "Pay Co", "approved", "2026-06-30T00:00:00Z")
	payco.Spec.DPA.Reference = "PROC-1"
	crmVerdict := denied("shop", "crm", "sensitive-data-dpa")
	crmVerdict.Results = append(crmVerdict.Results, policy.Result{Policy: "credential-age", Enforcement: "warn", Message: "old"})
	idleVerdict := &policy.Decision{Kind: v1alpha1.KindSaaSIntegration, Namespace: "shop", Name: "idle", Results: []policy.Result{{
		Policy: "data-residency", Enforcement: "deny", Message: "region us is not allowed",
		Exception: &policy.ExceptionRef{Namespace: "shop", Name: "pilot", ExpiresAt: now.AddDate(0, 1, 0)},
	}}}
	return Build(Input{
		Workloads: []*v1alpha1.MarketingWorkload{
			workload("shop", "site", "crm", "analytics"),
			workload("shop", "api", "analytics", "ghost"),
		},
		Integrations: []*v1alpha1.SaaSIntegration{
			integration("shop", "idle", "shady", "marketing", "US", "user.device.cookie_id"),
			integration("shop", "analytics", "ga", "analytics", "EU", "user.behavior"),
			crm,
			integration("shop", "noregion", "ga", "analytics", ""),
		},
		Vendors: []*v1alpha1.Vendor{
			vendor("ga", "Google Analytics 4", "approved", "2027-12-31T00:00:00Z"),
			payco,
		},
		Verdicts:       map[string]*policy.Decision{"shop/crm": crmVerdict, "shop/idle": idleVerdict},
		Sensitive:      func(string) []string { return []string{"user.financial"} },
		AllowedRegions: func(string) []string { return []string{"eu"} },
		Source:         func(_, name string) string { return "manifests/" + name + ".yaml:1" },
		Cluster:        "prod",
		Now:            now,
	})
}

func TestRecordsOnePerIntegration(t *testing.T) {
	g := ropaScenario()
	var got []string
	for _, r := range g.Records {
		got = append(got, r.Activity)
	}
	// By namespace and name; the missing "ghost" is no processing activity.
	if want := []string{"shop/analytics", "shop/crm", "shop/idle", "shop/noregion"}; !slices.Equal(got, want) {
		t.Fatalf("activities %v, want %v", got, want)
	}
	byName := map[string]Record{}
	for _, r := range g.Records {
		byName[r.Integration] = r
	}

	crm := byName["crm"]
	if crm.LegalBasis != "contract" || crm.LegalBasisArticle != "GDPR Art. 6(1)(b)" {
		t.Errorf("legal basis %q %q", crm.LegalBasis, crm.LegalBasisArticle)
	}
	if !slices.Equal(crm.SensitiveCategories, []string{"user.financial.credit_card"}) {
		t.Errorf("sensitive %v", crm.SensitiveCategories)
	}
	if crm.RecipientName != "Pay Co" || crm.RecipientStatus != "approved" || crm.DPAReference != "PROC-1" ||
		crm.DPAExpires != "2026-06-30" || crm.DPA != "expired 2026-06-30" {
		t.Errorf("recipient/DPA: %+v", crm)
	}
	if crm.RetentionDays == nil || *crm.RetentionDays != 365 || crm.RetentionDescription != "one year after the last order" {
		t.Errorf("retention %v %q", crm.RetentionDays, crm.RetentionDescription)
	}
	if crm.OwnerTeam != "growth" || crm.OwnerContact != "growth@acme.example" || crm.CostCenter != "MKT-1" {
		t.Errorf("owner %+v", crm)
	}
	if crm.Compliant || !slices.Equal(crm.Findings, []string{"deny sensitive-data-dpa: sensitive-data-dpa says no", "warn credential-age: old"}) {
		t.Errorf("verdict %v %v", crm.Compliant, crm.Findings)
	}
	if !slices.Equal(crm.Workloads, []string{"site"}) || crm.Cluster != "prod" || crm.Source != "manifests/crm.yaml:1" {
		t.Errorf("workloads %v cluster %q source %q", crm.Workloads, crm.Cluster, crm.Source)
	}

	// Regions compare as data-residency compares them: case-insensitively.
	if a := byName["analytics"]; a.OutsideAllowedRegions || a.TransferSafeguard != SafeguardNone {
		t.Errorf("analytics in EU: %v %q", a.OutsideAllowedRegions, a.TransferSafeguard)
	}
	idle := byName["idle"]
	if !idle.OutsideAllowedRegions || idle.TransferSafeguard != SafeguardTransfer || idle.RecipientStatus != StatusUnknown {
		t.Errorf("idle in US: %+v", idle)
	}
	if len(idle.Findings) != 1 || !strings.HasPrefix(idle.Findings[0], "waived data-residency: region us is not allowed (PolicyException shop/pilot until 2027-01-01)") {
		t.Errorf("idle findings %v", idle.Findings)
	}
	if n := byName["noregion"]; n.OutsideAllowedRegions || n.TransferSafeguard != SafeguardNoRegion || n.LegalBasis != "" {
		t.Errorf("noregion: %+v", n)
	}
}

func TestRecordsWithoutRegionLimit(t *testing.T) {
	g := Build(Input{
		Integrations: []*v1alpha1.SaaSIntegration{integration("shop", "a", "ga", "analytics", "us")},
		Now:          now,
	})
	if r := g.Records[0]; r.OutsideAllowedRegions || r.TransferSafeguard != SafeguardUnlimited || len(r.AllowedRegions) != 0 {
		t.Errorf("no standard: %+v", r)
	}
}

func TestWriteRoPACSV(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteRoPACSV(&buf, ropaScenario()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, buf.String())
	}
	if len(rows) != 5 || !slices.Equal(rows[0], RoPAHeader) {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	col := func(name string) int { return slices.Index(RoPAHeader, name) }
	crm := rows[2]
	for name, want := range map[string]string{
		"Processing activity":       "shop/crm",
		"Purpose":                   `'=HYPERLINK("http://evil")`,
		"Legal basis":               "contract",
		"Data categories":           "user.financial.credit_card; user.contact.email",
		"Sensitive data categories": "user.financial.credit_card",
		"Recipient":                 "payco",
		"Outside allowed regions":   "no",
		"Retention days":            "365",
		"DPA reference":             "PROC-1",
		"Compliant":                 "no",
		"Source":                    "manifests/crm.yaml:1",
	} {
		if got := crm[col(name)]; got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if got := rows[3][col("Outside allowed regions")]; got != "yes" {
		t.Errorf("idle outside = %q", got)
	}
}

func TestWriteRoPAJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteRoPAJSON(&buf, ropaScenario()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Kind       string
		Date       string
		Activities []map[string]any
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Kind != "RecordOfProcessingActivities" || doc.Date != "2026-12-01T00:00:00Z" || len(doc.Activities) != 4 {
		t.Fatalf("%s %s %d", doc.Kind, doc.Date, len(doc.Activities))
	}
	crm := doc.Activities[1]
	if crm["legalBasis"] != "contract" || crm["retentionDays"] != float64(365) || crm["outsideAllowedRegions"] != false {
		t.Errorf("crm %v", crm)
	}
	// Lists are arrays, never null, so a consumer need not guard.
	if cats, ok := doc.Activities[3]["dataCategories"].([]any); !ok || len(cats) != 0 {
		t.Errorf("empty categories %#v", doc.Activities[3]["dataCategories"])
	}

	buf.Reset()
	if err := WriteRoPAJSON(&buf, Build(Input{Now: now})); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"activities": []`) {
		t.Errorf("empty record: %s", buf.String())
	}
}
