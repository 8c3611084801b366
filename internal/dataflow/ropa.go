package dataflow

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// The record of processing activities (GDPR Article 30(1)) drawn from the
// SaaSIntegrations: each integration is one processing activity. The
// columns follow what privacy tools (Fides, OneTrust, Privado) export for a
// data protection officer: the activity and its purpose, the data use, the
// categories of data and of data subjects, the recipient, where the data is
// processed and whether that leaves the standard's allowed regions, the
// safeguard that transfer needs, the DPA, the lawful basis, retention, who
// answers for it and where it is declared.

// Record is one processing activity.
type Record struct {
	// Activity is "namespace/name" of the SaaSIntegration.
	Activity    string `json:"activity"`
	Cluster     string `json:"cluster,omitempty"`
	Namespace   string `json:"namespace"`
	Integration string `json:"integration"`
	Purpose     string `json:"purpose,omitempty"`
	DataUse     string `json:"dataUse,omitempty"`
	// LegalBasis is spec.legalBasis; LegalBasisArticle its provision,
	// for example "GDPR Art. 6(1)(b)".
	LegalBasis        string   `json:"legalBasis,omitempty"`
	LegalBasisArticle string   `json:"legalBasisArticle,omitempty"`
	DataCategories    []string `json:"dataCategories"`
	// SensitiveCategories are the categories within (or containing) one of
	// the standard's sensitiveDataCategories.
	SensitiveCategories []string `json:"sensitiveCategories"`
	DataSubjects        []string `json:"dataSubjects"`
	// Recipient is the Vendor; RecipientName its display name.
	Recipient         string `json:"recipient"`
	RecipientName     string `json:"recipientName,omitempty"`
	RecipientCategory string `json:"recipientCategory,omitempty"`
	// RecipientStatus is approved, restricted, prohibited or unknown (not
	// in the catalogue).
	RecipientStatus  string   `json:"recipientStatus"`
	ProcessingRegion string   `json:"processingRegion,omitempty"`
	VendorRegions    []string `json:"vendorRegions"`
	// AllowedRegions are the standard's dataResidency.allowedRegions (none:
	// any region).
	AllowedRegions []string `json:"allowedRegions"`
	// OutsideAllowedRegions is true when the standard limits regions and
	// the processing region is not one of them (policy.RegionAllowed, the
	// rule of data-residency). A missing region is not outside: the
	// engine's data-residency result says so in Findings.
	OutsideAllowedRegions bool `json:"outsideAllowedRegions"`
	// TransferSafeguard is a hint for the DPO, not a finding.
	TransferSafeguard string `json:"transferSafeguard"`
	DPAReference      string `json:"dpaReference,omitempty"`
	// DPAExpires is the DPA's expiry (YYYY-MM-DD) when signed with one.
	DPAExpires string `json:"dpaExpires,omitempty"`
	// DPA describes the agreement at the record's date ("signed until
	// 2028-03-31", "expired 2025-06-30", "not signed", ...).
	DPA                  string   `json:"dpa"`
	RetentionDays        *int32   `json:"retentionDays,omitempty"`
	RetentionDescription string   `json:"retentionDescription,omitempty"`
	OwnerTeam            string   `json:"ownerTeam,omitempty"`
	OwnerContact         string   `json:"ownerContact,omitempty"`
	CostCenter           string   `json:"costCenter,omitempty"`
	Workloads            []string `json:"workloads"`
	// Compliant is the engine's verdict: no deny result in force.
	Compliant bool `json:"compliant"`
	// Findings are the engine's deny and warn results on the integration,
	// as "level policy: message", and the waived ones.
	Findings []string `json:"findings"`
	// Source is where the integration is declared: file:line, or cluster.
	Source string `json:"source,omitempty"`
}

// legalBasisArticle is the provision of GDPR Article 6(1) for each basis.
var legalBasisArticle = map[v1alpha1.LegalBasis]string{
	v1alpha1.LegalBasisConsent:             "GDPR Art. 6(1)(a)",
	v1alpha1.LegalBasisContract:            "GDPR Art. 6(1)(b)",
	v1alpha1.LegalBasisLegalObligation:     "GDPR Art. 6(1)(c)",
	v1alpha1.LegalBasisVitalInterests:      "GDPR Art. 6(1)(d)",
	v1alpha1.LegalBasisPublicTask:          "GDPR Art. 6(1)(e)",
	v1alpha1.LegalBasisLegitimateInterests: "GDPR Art. 6(1)(f)",
}

// Transfer safeguard hints.
const (
	SafeguardNone      = "none needed: processed in an allowed region"
	SafeguardTransfer  = "outside the allowed regions: record the transfer mechanism (adequacy decision, Art. 45, or safeguards such as SCCs, Art. 46)"
	SafeguardNoRegion  = "region not declared: confirm where the vendor processes the data"
	SafeguardUnlimited = "the standard limits no region: confirm the transfer mechanism if the region is outside the EEA"
)

// records builds the record of processing of input part of g: one Record
// per SaaSIntegration of that input, by namespace and name; own are the
// vendors of the input's catalogue.
func records(in Input, part int, g *Graph, own map[string]*Vendor) []Record {
	vendors := make(map[string]*v1alpha1.Vendor, len(in.Vendors))
	for _, v := range in.Vendors {
		vendors[v.Name] = v
	}
	gi := map[string]*Integration{}
	for _, i := range g.Integrations {
		if i.part == part {
			gi[i.Key()] = i
		}
	}
	usedBy := map[string][]string{}
	for _, w := range g.Workloads {
		if w.part != part {
			continue
		}
		for _, name := range w.refs {
			k := w.Namespace + "/" + name
			usedBy[k] = append(usedBy[k], w.Name)
		}
	}
	out := make([]Record, 0, len(in.Integrations))
	for _, si := range in.Integrations {
		i := gi[si.Namespace+"/"+si.Name]
		if i == nil {
			continue
		}
		r := Record{
			Activity: i.Key(), Cluster: in.Cluster, Namespace: si.Namespace, Integration: si.Name,
			Purpose: si.Spec.Purpose, DataUse: string(si.Spec.DataUse),
			LegalBasis: string(si.Spec.LegalBasis), LegalBasisArticle: legalBasisArticle[si.Spec.LegalBasis],
			DataCategories: nonNil(i.Categories), SensitiveCategories: nonNil(i.Sensitive), DataSubjects: nonNil(i.Subjects),
			Recipient: si.Spec.Vendor, ProcessingRegion: string(si.Spec.Region),
			CostCenter: si.Spec.CostCenter, Workloads: nonNil(usedBy[i.Key()]), Compliant: i.Compliant,
			VendorRegions: []string{}, AllowedRegions: []string{},
		}
		if in.AllowedRegions != nil {
			r.AllowedRegions = nonNil(in.AllowedRegions(si.Namespace))
		}
		allowed, limited := policy.RegionAllowed(r.ProcessingRegion, r.AllowedRegions)
		switch {
		case r.ProcessingRegion == "":
			r.TransferSafeguard = SafeguardNoRegion
		case !limited:
			r.TransferSafeguard = SafeguardUnlimited
		case allowed:
			r.TransferSafeguard = SafeguardNone
		default:
			r.OutsideAllowedRegions = true
			r.TransferSafeguard = SafeguardTransfer
		}
		if name := si.Spec.Vendor; name != "" {
			v := own[name]
			if v == nil {
				v = unknownVendor(name)
			}
			r.RecipientName, r.RecipientCategory, r.RecipientStatus = v.DisplayName, v.Category, v.Status
			r.VendorRegions, r.DPA = nonNil(v.Regions), v.DPA
		}
		if v := vendors[si.Spec.Vendor]; v != nil && v.Spec.DPA != nil {
			r.DPAReference = v.Spec.DPA.Reference
			for _, d := range policy.Deadlines(v) {
				if d.What == policy.DeadlineDPA {
					r.DPAExpires = d.At.Format(time.DateOnly)
				}
			}
		}
		if ret := si.Spec.Retention; ret != nil {
			r.RetentionDays, r.RetentionDescription = ret.Days, ret.Description
		}
		if o := si.Spec.Owner; o != nil {
			r.OwnerTeam, r.OwnerContact = o.Team, o.Contact
		}
		r.Findings = []string{}
		for _, f := range i.Violations {
			r.Findings = append(r.Findings, "deny "+f)
		}
		for _, f := range i.Warnings {
			r.Findings = append(r.Findings, "warn "+f)
		}
		for _, f := range i.Waived {
			r.Findings = append(r.Findings, "waived "+f)
		}
		if in.Source != nil {
			r.Source = in.Source(si.Namespace, si.Name)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Record) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Integration, b.Integration))
	})
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// RoPAHeader is the header row of WriteRoPACSV.
var RoPAHeader = []string{
	"Processing activity", "Cluster", "Namespace", "Integration", "Purpose", "Data use",
	"Legal basis", "Legal basis article", "Data categories", "Sensitive data categories", "Data subjects",
	"Recipient", "Recipient name", "Recipient category", "Recipient status",
	"Processing region", "Vendor processing regions", "Allowed regions", "Outside allowed regions",
	"Transfer safeguard", "DPA reference", "DPA expires", "DPA status",
	"Retention days", "Retention", "Owner team", "Owner contact", "Cost centre",
	"Used by workloads", "Compliant", "Findings", "Source",
}

// WriteRoPACSV writes the record of processing as CSV (RFC 4180), one row
// per processing activity; lists are joined with "; ". A cell that a
// spreadsheet would read as a formula (starting with =, +, -, @, tab or
// carriage return) is prefixed with a single quote.
func WriteRoPACSV(out io.Writer, g *Graph) error {
	w := csv.NewWriter(out)
	if err := w.Write(RoPAHeader); err != nil {
		return err
	}
	for _, r := range g.Records {
		days := ""
		if r.RetentionDays != nil {
			days = strconv.Itoa(int(*r.RetentionDays))
		}
		row := []string{
			r.Activity, r.Cluster, r.Namespace, r.Integration, r.Purpose, r.DataUse,
			r.LegalBasis, r.LegalBasisArticle, join(r.DataCategories), join(r.SensitiveCategories), join(r.DataSubjects),
			r.Recipient, r.RecipientName, r.RecipientCategory, r.RecipientStatus,
			r.ProcessingRegion, join(r.VendorRegions), join(r.AllowedRegions), yesNo(r.OutsideAllowedRegions),
			r.TransferSafeguard, r.DPAReference, r.DPAExpires, r.DPA,
			days, r.RetentionDescription, r.OwnerTeam, r.OwnerContact, r.CostCenter,
			join(r.Workloads), yesNo(r.Compliant), join(r.Findings), r.Source,
		}
		for k := range row {
			row[k] = SafeCell(row[k])
		}
		if err := w.Write(row); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// RoPA is the JSON document of WriteRoPAJSON.
type RoPA struct {
	Kind string `json:"kind"` // RecordOfProcessingActivities
	// Date is the instant the record was drawn at (RFC 3339).
	Date       string   `json:"date"`
	Activities []Record `json:"activities"`
}

// WriteRoPAJSON writes the record of processing as one JSON document.
func WriteRoPAJSON(out io.Writer, g *Graph) error {
	doc := RoPA{Kind: "RecordOfProcessingActivities", Activities: g.Records}
	if doc.Activities == nil {
		doc.Activities = []Record{}
	}
	if !g.Now.IsZero() {
		doc.Date = g.Now.UTC().Format(time.RFC3339)
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func join(s []string) string { return strings.Join(s, "; ") }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// SafeCell returns s, prefixed with a single quote when a spreadsheet would
// read it as a formula (OWASP CSV injection).
func SafeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
