package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/acctest/azurefake"
)

// TestTunnelProxy: the kit's HTTPS_PROXY tunnels the function apps' and Service Bus namespaces'
// hosts to the fake and every other host to itself, and refuses what is not a tunnel.
func TestTunnelProxy(t *testing.T) {
	fake := azurefake.Require(t, azurefake.Options{})
	elsewhere := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "elsewhere") }))
	defer elsewhere.Close()
	p, err := startTunnelProxy(fake.Addr(), fake.SCMSuffix(), azurefake.ServiceBusSuffix)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	roots := fake.CertPool().Clone()
	roots.AddCert(elsewhere.Certificate())
	proxy, _ := url.Parse(p.url)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: roots}}}

	// No resolver knows the SCM host, and only the fake's certificate holds its name: an answer
	// over TLS comes from the fake.
	resp, err := c.Get("https://orders.scm." + fake.SCMSuffix() + "/api/publish")
	if err != nil {
		t.Fatalf("SCM host through the proxy: %v", err)
	}
	_ = resp.Body.Close()
	// A namespace's data plane answers from the fake: 401 without a token.
	resp, err = c.Get("https://shop-bus." + azurefake.ServiceBusSuffix + "/orders--queue")
	if err != nil {
		t.Fatalf("Service Bus host through the proxy: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Service Bus host through the proxy: %s, want the fake's 401", resp.Status)
	}
	resp, err = c.Get(elsewhere.URL)
	if err != nil {
		t.Fatalf("another host through the proxy: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if string(body) != "elsewhere" {
		t.Errorf("another host through the proxy answered %q, want its own answer", body)
	}
	resp, err = http.Get(p.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("a plain GET to the proxy: %s, want 405", resp.Status)
	}
}

// TestCABundle: the kit's SSL_CERT_FILE holds the fake's CA and the CAs trusted before it, so that
// setting it takes nothing away.
func TestCABundle(t *testing.T) {
	dir := t.TempDir()
	ca := azurefake.Require(t, azurefake.Options{}).CAPEM()
	other := httptest.NewTLSServer(http.NotFoundHandler())
	defer other.Close()
	before := filepath.Join(dir, "before.pem")
	writeFiles(t, dir, map[string]string{"before.pem": string(pemOf(other.Certificate()))})
	t.Setenv("SSL_CERT_FILE", before)
	bundle := filepath.Join(dir, caFile)
	if err := writeCABundle(bundle, ca); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), string(ca)) || !strings.Contains(string(b), string(pemOf(other.Certificate()))) {
		t.Errorf("the bundle does not hold both the fake's CA and the CAs of SSL_CERT_FILE:\n%s", b)
	}
}

func pemOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
