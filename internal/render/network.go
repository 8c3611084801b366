package render

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// namespaceNameLabel is set by the API server on every namespace.
const namespaceNameLabel = "kubernetes.io/metadata.name"

// dnsNamespace runs the cluster DNS.
const dnsNamespace = "kube-system"

// vendorPort is the only port opened to vendor CIDRs.
const vendorPort int32 = 443

func (r *renderer) service() *corev1.Service {
	return &corev1.Service{
		TypeMeta:   typeMeta(corev1.SchemeGroupVersion.String(), "Service"),
		ObjectMeta: r.meta(r.w.Name),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: SelectorLabels(r.w),
			Ports: []corev1.ServicePort{{
				Name:       ContainerPortName,
				Port:       ServicePort,
				TargetPort: intstr.FromString(ContainerPortName),
				Protocol:   corev1.ProtocolTCP,
			}},
		},
	}
}

// ingress publishes the Service on spec.exposure.host over TLS while the
// workload is Active. cert-manager fills the Secret <name>-tls when the
// standard names a ClusterIssuer; without one, the Secret is expected to be
// provided.
func (r *renderer) ingress() *networkingv1.Ingress {
	e := r.w.Spec.Exposure
	if !r.lc.Exposed || e == nil {
		return nil
	}
	meta := r.meta(r.w.Name)
	if issuer := r.std.Ingress.TLSClusterIssuer; issuer != "" {
		meta.Annotations = map[string]string{ClusterIssuerAnnotation: issuer}
	}
	var class *string
	if c := r.std.Ingress.ClassName; c != "" {
		class = ptr.To(c)
	}
	host := string(e.Host)
	return &networkingv1.Ingress{
		TypeMeta:   typeMeta(networkingv1.SchemeGroupVersion.String(), "Ingress"),
		ObjectMeta: meta,
		Spec: networkingv1.IngressSpec{
			IngressClassName: class,
			TLS:              []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: r.w.Name + TLSSecretSuffix}},
			Rules: []networkingv1.IngressRule{{
				Host: host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path:     exposurePath(e),
						PathType: ptr.To(networkingv1.PathTypePrefix),
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: r.w.Name,
							Port: networkingv1.ServiceBackendPort{Name: ContainerPortName},
						}},
					}},
				}},
			}},
		},
	}
}

// networkPolicy fences the pods. Ingress: only from the ingress controller's
// namespace, on the container port, and only while exposed; otherwise no
// ingress at all. Egress: cluster DNS, the vendors' CIDRs on 443, and the
// egress proxy when it can be expressed as a peer (see egressProxy).
func (r *renderer) networkPolicy() (*networkingv1.NetworkPolicy, error) {
	tcp, udp := ptr.To(corev1.ProtocolTCP), ptr.To(corev1.ProtocolUDP)
	port := func(proto *corev1.Protocol, p int32) networkingv1.NetworkPolicyPort {
		return networkingv1.NetworkPolicyPort{Protocol: proto, Port: ptr.To(intstr.FromInt32(p))}
	}
	nsPeer := func(ns string) networkingv1.NetworkPolicyPeer {
		return networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{namespaceNameLabel: ns}}}
	}

	var ingress []networkingv1.NetworkPolicyIngressRule
	if r.lc.Exposed {
		ns := r.std.Network.IngressNamespace
		if ns == "" {
			ns = DefaultIngressNamespace
		}
		ingress = []networkingv1.NetworkPolicyIngressRule{{
			From:  []networkingv1.NetworkPolicyPeer{nsPeer(ns)},
			Ports: []networkingv1.NetworkPolicyPort{port(tcp, r.port())},
		}}
	}

	egress := []networkingv1.NetworkPolicyEgressRule{{
		To:    []networkingv1.NetworkPolicyPeer{nsPeer(dnsNamespace)},
		Ports: []networkingv1.NetworkPolicyPort{port(udp, 53), port(tcp, 53)},
	}}
	cidrs, err := r.vendorCIDRs()
	if err != nil {
		return nil, err
	}
	if len(cidrs) > 0 {
		peers := make([]networkingv1.NetworkPolicyPeer, 0, len(cidrs))
		for _, c := range cidrs {
			peers = append(peers, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: c}})
		}
		egress = append(egress, networkingv1.NetworkPolicyEgressRule{To: peers, Ports: []networkingv1.NetworkPolicyPort{port(tcp, vendorPort)}})
	}
	if p := r.proxy; p != nil {
		var peer networkingv1.NetworkPolicyPeer
		switch {
		case p.namespace != "":
			peer = nsPeer(p.namespace)
		case p.addr.IsValid():
			peer = networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: netip.PrefixFrom(p.addr, p.addr.BitLen()).String()}}
		}
		if peer.NamespaceSelector != nil || peer.IPBlock != nil {
			egress = append(egress, networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{peer}, Ports: []networkingv1.NetworkPolicyPort{port(tcp, p.port)}})
		}
	}

	return &networkingv1.NetworkPolicy{
		TypeMeta:   typeMeta(networkingv1.SchemeGroupVersion.String(), "NetworkPolicy"),
		ObjectMeta: r.meta(r.w.Name),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: SelectorLabels(r.w)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress:     ingress,
			Egress:      egress,
		},
	}, nil
}

// vendorCIDRs are the egress CIDRs of the vendors of the referenced
// integrations, canonical (host bits cleared), deduplicated and sorted (IPv4
// before IPv6, then by address and prefix length). A vendor missing from the
// inputs opens nothing.
func (r *renderer) vendorCIDRs() ([]string, error) {
	var prefixes []netip.Prefix
	for _, name := range r.vendorNames() {
		v := r.vendors[name]
		if v == nil {
			continue
		}
		for i, c := range v.Spec.EgressCIDRs {
			p, err := netip.ParsePrefix(strings.TrimSpace(c))
			if err != nil {
				return nil, fmt.Errorf("%w: vendor %q spec.egressCIDRs[%d] %q is not a CIDR", ErrInvalid, name, i, c)
			}
			prefixes = append(prefixes, p.Masked())
		}
	}
	slices.SortFunc(prefixes, func(a, b netip.Prefix) int {
		return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
	})
	prefixes = slices.Compact(prefixes)
	out := make([]string, len(prefixes))
	for i, p := range prefixes {
		out[i] = p.String()
	}
	return out, nil
}

// vendorNames are the vendors of the referenced integrations, sorted and
// unique.
func (r *renderer) vendorNames() []string {
	names := make([]string, 0, len(r.integrations))
	for _, si := range r.integrations {
		if si.Spec.Vendor != "" {
			names = append(names, si.Spec.Vendor)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// egressAllowList is the ConfigMap <name>-egress: allowlist.txt holds the
// integrations' endpoints, vendors.txt the vendors' names, each sorted,
// unique, one per line. An egress proxy (or an audit) reads it; the
// NetworkPolicy cannot filter by name.
func (r *renderer) egressAllowList() *corev1.ConfigMap {
	var fqdns []string
	for _, si := range r.integrations {
		for _, e := range si.Spec.Endpoints {
			if f := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(string(e))), "."); f != "" {
				fqdns = append(fqdns, f)
			}
		}
	}
	slices.Sort(fqdns)
	fqdns = slices.Compact(fqdns)
	return &corev1.ConfigMap{
		TypeMeta:   typeMeta(corev1.SchemeGroupVersion.String(), "ConfigMap"),
		ObjectMeta: r.meta(r.w.Name + EgressConfigMapSuffix),
		Data: map[string]string{
			AllowListKey: lines(fqdns),
			VendorsKey:   lines(r.vendorNames()),
		},
	}
}

func lines(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return strings.Join(ss, "\n") + "\n"
}

// egressProxy is the standard's spec.network.egressProxy as a NetworkPolicy
// can see it. A NetworkPolicy selects peers by namespace, pod or IP block,
// never by DNS name, so:
//
//   - an in-cluster Service name <svc>.<ns>.svc[.<cluster domain>] opens the
//     proxy port to namespace <ns>;
//   - an IP address opens the port to that address (/32 or /128);
//   - any other host name opens nothing: its addresses are unknown to a pure
//     render and may change. The proxy environment variables are still set;
//     the platform team opens the path to such a proxy with a policy of its
//     own (or lists the proxy's range as a vendor CIDR).
type egressProxy struct {
	namespace string     // set for an in-cluster Service
	addr      netip.Addr // set for an IP literal
	port      int32
}

func parseEgressProxy(s string) (*egressProxy, error) {
	if s == "" {
		return nil, nil
	}
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		return nil, fmt.Errorf("%w: standard spec.network.egressProxy %q is not host:port: %v", ErrInvalid, s, err)
	}
	port, err := strconv.ParseInt(portStr, 10, 32)
	if err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("%w: standard spec.network.egressProxy %q: port must be 1-65535", ErrInvalid, s)
	}
	p := &egressProxy{port: int32(port)}
	if a, err := netip.ParseAddr(host); err == nil {
		p.addr = a.Unmap()
		return p, nil
	}
	if labels := strings.Split(strings.TrimSuffix(host, "."), "."); len(labels) >= 3 && labels[2] == "svc" && labels[0] != "" && labels[1] != "" {
		p.namespace = labels[1]
	}
	return p, nil
}
