package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/acctest/azurefake"
	"github.com/threefactor/terraform-provider-threefactor/acctest/gcloud"
	"github.com/threefactor/terraform-provider-threefactor/acctest/gcpfake"
	"github.com/threefactor/terraform-provider-threefactor/acctest/gcpstack"
	"github.com/threefactor/terraform-provider-threefactor/acctest/moto"
)

// kitClouds are the clouds a kit can emulate, in the order the env file lists them.
var kitClouds = []string{"aws", "gcp", "azure"}

// The Google project (and Azure resource group) and region, and the CA bundle file of the kit (in
// its state directory).
const (
	kitProject = "threefactor-kit"
	kitRegion  = "us-central1"
	caFile     = "ca.pem"
)

// parseClouds reads --cloud: a comma-separated list of kitClouds.
func parseClouds(s string) ([]string, error) {
	var out []string
	for c := range strings.SplitSeq(s, ",") {
		c = strings.TrimSpace(c)
		if !slices.Contains(kitClouds, c) {
			return nil, fmt.Errorf("--cloud %q: unknown cloud %q; want a comma-separated list of %s", s, c, strings.Join(kitClouds, ", "))
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// kit is a running set of emulators.
type kit struct {
	aws    *moto.Server
	google *googleKit
	azure  *azurefake.Server
	tunnel *tunnelProxy
	env    []string // KEY=VALUE lines, for the provider and the SDKs
}

// googleKit is Google's Pub/Sub and Firestore emulators and the fakes of the APIs with no emulator,
// behind one proxy (package gcpstack).
type googleKit struct {
	pubsub, firestore *gcloud.Emulator
	stack             *gcpstack.Stack
}

// startEmulators starts the emulators of clouds at once and waits until each answers.
func startEmulators(ctx context.Context, dir string, clouds []string) (*kit, error) {
	k := &kit{}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	if slices.Contains(clouds, "aws") {
		wg.Go(func() { k.aws, errs[0] = moto.Start(ctx) })
	}
	if slices.Contains(clouds, "gcp") {
		wg.Go(func() { k.google, errs[1] = startGoogle(ctx) })
	}
	if slices.Contains(clouds, "azure") {
		wg.Go(func() {
			k.azure, errs[2] = azurefake.Start(ctx, azurefake.Options{
				ResourceGroups: []string{kitProject},
				ClientID:       azurefake.DefaultClientID, ClientSecret: azurefake.DefaultClientSecret,
				// The SDK polls long-running operations this often instead of its default seconds.
				RetryAfter: 10 * time.Millisecond,
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		k.close()
		return nil, err
	}
	if k.aws != nil {
		k.env = append(k.env, k.aws.Env()...)
	}
	if k.google != nil {
		k.env = append(k.env, k.google.env()...)
	}
	if k.azure != nil {
		bundle := filepath.Join(dir, caFile)
		err := writeCABundle(bundle, k.azure.CAPEM())
		if err == nil {
			k.tunnel, err = startTunnelProxy(k.azure.Addr(), k.azure.SCMSuffix(), azurefake.ServiceBusSuffix)
		}
		if err != nil {
			k.close()
			return nil, err
		}
		k.env = append(k.env, azureEnv(k.azure, bundle, k.tunnel.url)...)
	}
	return k, nil
}

func (k *kit) close() {
	if k.aws != nil {
		k.aws.Close()
	}
	if k.google != nil {
		k.google.close()
	}
	if k.tunnel != nil {
		k.tunnel.close()
	}
	if k.azure != nil {
		k.azure.Close()
	}
}

// notes says what a user of the kit should know about the emulators it runs.
func (k *kit) notes() string {
	var b strings.Builder
	if k.aws != nil {
		b.WriteString("threefactor: moto runs with use_docker false: an enabled event source mapping deletes the messages of its queue as they arrive, with no code run; set trigger.enabled = false to keep them\n")
	}
	if k.google != nil {
		b.WriteString("threefactor: Google: every API the provider calls answers at TF_VAR_threefactor_gcp_endpoint; functions are deployed but not run\n")
	}
	if k.azure != nil {
		b.WriteString("threefactor: Azure: HTTPS_PROXY tunnels the function apps' and Service Bus namespaces' hosts to the fake Resource Manager and everything else to where it goes; SSL_CERT_FILE is the fake's CA with the system's\n")
	}
	return b.String()
}

func startGoogle(ctx context.Context) (g *googleKit, err error) {
	g = &googleKit{}
	defer func() {
		if err != nil {
			g.close()
		}
	}()
	var wg sync.WaitGroup
	var psErr, fsErr error
	wg.Go(func() { g.pubsub, psErr = gcloud.Start(ctx, gcloud.PubSubKind) })
	wg.Go(func() { g.firestore, fsErr = gcloud.Start(ctx, gcloud.FirestoreKind) })
	wg.Wait()
	if err := errors.Join(psErr, fsErr); err != nil {
		return nil, err
	}
	g.stack, err = gcpstack.Start(ctx, g.pubsub.Host, gcpfake.Options{Project: kitProject})
	return g, err
}

func (g *googleKit) close() {
	if g.stack != nil {
		g.stack.Close()
	}
	for _, e := range []*gcloud.Emulator{g.pubsub, g.firestore} {
		if e != nil {
			e.Close()
		}
	}
}

// env points the provider (its gcp.endpoints, from TF_VAR_threefactor_gcp_endpoint) and the Google
// SDKs at the kit: Pub/Sub clients through the proxy, the runtime library's Firestore store at the
// Firestore emulator.
func (g *googleKit) env() []string {
	return []string{
		"GOOGLE_CLOUD_PROJECT=" + kitProject, "GOOGLE_CLOUD_REGION=" + kitRegion,
		"PUBSUB_EMULATOR_HOST=" + g.stack.Proxy.Addr, "FIRESTORE_EMULATOR_HOST=" + g.firestore.Host,
		"TF_VAR_threefactor_gcp_endpoint=" + g.stack.Endpoint(),
	}
}

// azureEnv points the provider (its azure.endpoint, from TF_VAR_threefactor_azure_endpoint),
// azidentity and the Azure SDKs at fake s, with the fake's dummy service principal, its CA in
// bundle and the function apps' hosts behind proxy.
func azureEnv(s *azurefake.Server, bundle, proxy string) []string {
	return []string{
		"AZURE_SUBSCRIPTION_ID=" + s.Subscription(), "AZURE_RESOURCE_GROUP=" + s.ResourceGroup(),
		"AZURE_LOCATION=" + azurefake.DefaultLocation, "AZURE_TENANT_ID=" + s.Tenant(),
		"AZURE_CLIENT_ID=" + azurefake.DefaultClientID, "AZURE_CLIENT_SECRET=" + azurefake.DefaultClientSecret,
		"AZURE_AUTHORITY_HOST=" + s.URL() + "/", "SSL_CERT_FILE=" + bundle,
		"HTTPS_PROXY=" + proxy, "NO_PROXY=127.0.0.1,localhost",
		"TF_VAR_threefactor_azure_endpoint=" + s.URL(),
	}
}

// systemBundles are where Linux distributions keep their CA bundle (the list Go's crypto/x509
// reads).
var systemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/cacert.pem", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/cert.pem",
}

// writeCABundle writes the fake's CA followed by the CAs trusted so far (SSL_CERT_FILE's, else the
// system's): SSL_CERT_FILE replaces the roots of every program that reads it, and the kit's must
// not stop them reaching anything else.
func writeCABundle(path string, ca []byte) error {
	bundle := append([]byte(nil), ca...)
	for _, f := range append([]string{os.Getenv("SSL_CERT_FILE")}, systemBundles...) {
		if b, err := os.ReadFile(f); f != "" && err == nil {
			bundle = append(append(bundle, '\n'), b...)
			break
		}
	}
	return os.WriteFile(path, bundle, 0o600)
}
