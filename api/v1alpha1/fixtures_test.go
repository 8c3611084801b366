package v1alpha1_test

import (
	"fmt"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// Minimal valid objects of the six kinds, as a user would write them. Tests
// start from one of these and change one thing, so a rejection can only come
// from that change.
var validSpecs = map[string]string{
	v1alpha1.KindVendor: `
displayName: HubSpot
category: crm
status: approved
domains: [hubapi.com, hubspot.com]
egressCIDRs: [104.16.0.0/12, "2606:4700::/32"]
allowedDataCategories: [user.contact]
allowedDataUses: [marketing.communications]
processingRegions: [eu, us]
dpa:
  signed: true
  reference: PROC-1
  expires: "2028-03-31T00:00:00Z"
securityReview:
  completed: true
  expires: "2027-09-30T00:00:00Z"
`,
	v1alpha1.KindSaaSIntegration: `
vendor: hubspot
purpose: Campaign e-mails
dataUse: marketing.communications.email
dataCategories: [user.contact.email, user.name]
dataSubjects: [customer]
region: eu
endpoints: [api.hubapi.com]
credentials:
  secretName: hubspot-credentials
  keys: [API_KEY]
`,
	v1alpha1.KindMarketingWorkload: `
owner:
  team: growth
  contact: growth-team@acme.example
costCenter: MKT-4100
campaign:
  name: winter-sale-2026
  startsAt: "2026-11-20T00:00:00Z"
  endsAt: "2027-02-15T00:00:00Z"
image: ghcr.io/acme-marketing/winter-sale-site:1.4.2
replicas: 2
port: 8080
env:
  - name: SITE_LOCALE
    value: en-GB
exposure:
  host: winter-sale.campaigns.acme.example
  path: /
integrations:
  - name: hubspot-email
    envPrefix: HUBSPOT_
dataCategories: [user.contact.email]
`,
	v1alpha1.KindPlatformStandard: `
allowedRegistries: [ghcr.io/acme-marketing/]
workloadDefaults:
  maxReplicas: 5
ingress:
  className: nginx
  allowedHostSuffixes: [.campaigns.acme.example]
  tlsClusterIssuer: letsencrypt-prod
network:
  ingressNamespace: ingress-nginx
  egressProxy: egress-proxy.platform.svc:3128
campaign:
  maxDuration: 2160h
  archiveAfter: 720h
credentials:
  maxAge: 2160h
dataResidency:
  allowedRegions: [eu]
sensitiveDataCategories: [user.financial]
policies:
  disabled: [ownership]
  enforcement:
    allowed-registries: warn
  exceptionMaxDuration: 2160h
`,
	v1alpha1.KindGuardrailPolicy: `
description: Images must carry a version tag.
targets: [MarketingWorkload]
enforcement: deny
severity: medium
category: reliability
parameters:
  disallowedTags: [latest]
rego: |
  package acme.pinned

  violation contains "no tag" if {
  	not contains(input.object.spec.image, ":")
  }
`,
	v1alpha1.KindPolicyException: `
policies: [data-residency]
targets:
  - kind: SaaSIntegration
    name: retargeting-pilot
reason: Pilot covered by SCCs.
approvedBy: dpo@acme.example
expiresAt: "2027-01-31T00:00:00Z"
`,
}

// allKinds in a stable order.
var allKinds = []string{
	v1alpha1.KindVendor,
	v1alpha1.KindPlatformStandard,
	v1alpha1.KindSaaSIntegration,
	v1alpha1.KindMarketingWorkload,
	v1alpha1.KindGuardrailPolicy,
	v1alpha1.KindPolicyException,
}

var nameSeq atomic.Int64

// uniqueName returns a DNS-1123 name not used by any other test.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, nameSeq.Add(1))
}

// validObject returns a fresh, valid object of kind; namespace is ignored for
// cluster-scoped kinds.
func validObject(kind, namespace, name string) *unstructured.Unstructured {
	src, ok := validSpecs[kind]
	if !ok {
		panic("no fixture for kind " + kind)
	}
	spec := map[string]any{}
	if err := yaml.Unmarshal([]byte(src), &spec); err != nil {
		panic(fmt.Sprintf("fixture %s: %v", kind, err))
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(v1alpha1.GroupVersion.String())
	u.SetKind(kind)
	u.SetName(name)
	if ns, _ := v1alpha1.Namespaced(kind); ns {
		u.SetNamespace(namespace)
	}
	return u
}

// mustSet sets a nested field of an unstructured object, failing loudly on a
// typo in the path.
func mustSet(u *unstructured.Unstructured, value any, path ...string) {
	if err := unstructured.SetNestedField(u.Object, value, path...); err != nil {
		panic(fmt.Sprintf("set %v: %v", path, err))
	}
}
