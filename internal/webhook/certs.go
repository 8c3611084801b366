package webhook

import (
	"errors"
	"fmt"

	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
)

// CertOptions configure the operator's own serving certificate.
type CertOptions struct {
	// Namespace of the Secret and the Service (the operator's namespace).
	Namespace string
	// SecretName is the Secret holding the CA and the serving certificate;
	// it must exist (the install ships it empty) and is mounted at CertDir.
	SecretName string
	// ServiceName is the webhook Service; the certificate is valid for
	// <service>.<namespace>.svc and <service>.<namespace>.svc.cluster.local.
	ServiceName string
	// CertDir is where the Secret is mounted (tls.crt, tls.key).
	CertDir string
	// ValidatingConfiguration is the webhook configuration whose caBundle
	// is kept equal to the CA (there is no mutating one).
	ValidatingConfiguration string
}

// Names of the certificate authority the operator creates.
const (
	caName         = "martech-guardrails-ca"
	caOrganization = "martech-guardrails"
)

// AddCertRotation makes the operator create its own CA and serving
// certificate in the Secret, renew them before they expire (the CA lasts ten
// years, the serving certificate one, renewed 90 days ahead), and inject the
// CA into the webhook configurations. It runs on every replica; the
// returned channel is closed once the certificate is mounted and the CA
// injected, which is when the webhook server can start.
//
// It uses github.com/open-policy-agent/cert-controller, as Gatekeeper does.
func AddCertRotation(mgr ctrl.Manager, o CertOptions) (<-chan struct{}, error) {
	if o.Namespace == "" || o.SecretName == "" || o.ServiceName == "" {
		return nil, errors.New("webhook: cert rotation needs the namespace, the Secret and the Service names")
	}
	ready := make(chan struct{})
	var hooks []rotator.WebhookInfo
	if o.ValidatingConfiguration != "" {
		hooks = append(hooks, rotator.WebhookInfo{Name: o.ValidatingConfiguration, Type: rotator.Validating})
	}
	svc := fmt.Sprintf("%s.%s.svc", o.ServiceName, o.Namespace)
	err := rotator.AddRotator(mgr, &rotator.CertRotator{
		SecretKey:      types.NamespacedName{Namespace: o.Namespace, Name: o.SecretName},
		CertDir:        o.CertDir,
		CAName:         caName,
		CAOrganization: caOrganization,
		DNSName:        svc,
		ExtraDNSNames:  []string{svc + ".cluster.local"},
		IsReady:        ready,
		Webhooks:       hooks,
		FieldOwner:     "martech-guardrails",
		// Every replica serves webhooks, so every replica needs the
		// certificate; writers race harmlessly on the Secret.
		RequireLeaderElection: false,
		ControllerName:        "webhook-cert-rotator",
	})
	if err != nil {
		return nil, fmt.Errorf("webhook: adding the certificate rotator: %w", err)
	}
	return ready, nil
}
