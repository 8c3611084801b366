package main

import (
	"crypto/tls"

	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// tlsOptions are the TLS settings of both servers, the webhooks' and the
// metrics': TLS 1.2 at least (set here, not left to Go's default), and
// HTTP/1.1 only unless enableHTTP2 (HTTP/2 rapid reset, CVE-2023-44487, and
// stream cancellation, CVE-2023-39325: controller-runtime offers h2 by
// default).
func tlsOptions(enableHTTP2 bool) []func(*tls.Config) {
	opts := []func(*tls.Config){func(c *tls.Config) { c.MinVersion = tls.VersionTLS12 }}
	if !enableHTTP2 {
		opts = append(opts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	return opts
}

// metricsOptions configure the metrics server. Secure (the default), it
// serves HTTPS and answers only callers the API server authenticates
// (TokenReview) and authorizes for GET on the path (SubjectAccessReview),
// as Kubebuilder v4 scaffolds it; the certificate comes from certDir
// (tls.crt, tls.key, reloaded on change) or, when certDir is empty, is
// self-signed at start. Not secure, it serves plain HTTP to anyone: for
// local runs on a loopback address only.
func metricsOptions(addr string, secure bool, certDir string, tlsOpts []func(*tls.Config)) metricsserver.Options {
	o := metricsserver.Options{BindAddress: addr}
	if !secure {
		return o
	}
	o.SecureServing = true
	o.FilterProvider = filters.WithAuthenticationAndAuthorization
	o.TLSOpts = tlsOpts
	o.CertDir = certDir
	return o
}
