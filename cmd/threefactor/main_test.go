package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	"github.com/threefactor/terraform-provider-threefactor/acctest/azurefake"

	resourcemanager "cloud.google.com/go/resourcemanager/apiv3"
	"cloud.google.com/go/resourcemanager/apiv3/resourcemanagerpb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestFakeGCP: `threefactor fake gcp` prints its address, serves the project named on the command
// line, and exits 0 when interrupted.
func TestFakeGCP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(runCtx, []string{"fake", "gcp", "--addr", "127.0.0.1:0", "--project", "acme-prod", "--project-number", "42"}, pw, &stderr)
		_ = pw.Close()
	}()
	addr, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the address: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	c, err := resourcemanager.NewProjectsClient(ctx, option.WithEndpoint(strings.TrimSpace(addr)), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	p, err := c.GetProject(ctx, &resourcemanagerpb.GetProjectRequest{Name: "projects/acme-prod"})
	if err != nil || p.GetName() != "projects/42" {
		t.Errorf("GetProject = %v, %v", p, err)
	}
	stop()
	if code := <-done; code != 0 {
		t.Errorf("exit status %d after interrupt, want 0; stderr:\n%s", code, stderr.String())
	}
}

// TestFakeAzure: `threefactor fake azure` prints its address and CA file, serves the subscription
// and resource group named on the command line to a client trusting that CA with a token from its
// token endpoint, and exits 0 when interrupted.
func TestFakeAzure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	sub := "11111111-2222-3333-4444-555555555555"
	go func() {
		done <- run(runCtx, []string{"fake", "azure", "--subscription", sub, "--resource-group", "ci-rg", "--client-id", "ci", "--client-secret", "s3cret", "--retry-after", "10ms"}, pw, &stderr)
		_ = pw.Close()
	}()
	br := bufio.NewReader(pr)
	addr, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the address: %v", err)
	}
	caFile, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the CA file: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	pem, err := os.ReadFile(strings.TrimSpace(caFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", caFile)
	}
	base := "https://" + strings.TrimSpace(addr)
	cfg := cloud.Configuration{
		ActiveDirectoryAuthorityHost: base + "/",
		Services:                     map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {Endpoint: base, Audience: "https://management.core.windows.net/"}},
	}
	transport := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	cred, err := azidentity.NewClientSecretCredential(azurefake.DefaultTenant, "ci", "s3cret", &azidentity.ClientSecretCredentialOptions{
		ClientOptions: policy.ClientOptions{Cloud: cfg, Transport: transport}, DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := armmsi.NewUserAssignedIdentitiesClient(sub, cred, &arm.ClientOptions{ClientOptions: policy.ClientOptions{Cloud: cfg, Transport: transport}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ids.CreateOrUpdate(ctx, "ci-rg", "ci-identity", armmsi.Identity{Location: to.Ptr("westeurope")}, nil)
	if err != nil || got.Properties == nil || got.Properties.PrincipalID == nil {
		t.Errorf("creating an identity: %+v, %v", got, err)
	}
	// --retry-after 10ms: the SDK's poller waits 10 ms, not its default 30 s.
	accounts, err := armstorage.NewAccountsClient(sub, cred, &arm.ClientOptions{ClientOptions: policy.ClientOptions{Cloud: cfg, Transport: transport}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := accounts.BeginCreate(ctx, "ci-rg", "cistorage01", armstorage.AccountCreateParameters{
		Location: to.Ptr("westeurope"), Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pollCtx, pollCancel := context.WithTimeout(ctx, 5*time.Second)
	defer pollCancel()
	if _, err := p.PollUntilDone(pollCtx, nil); err != nil {
		t.Errorf("polling with the default frequency and --retry-after 10ms: %v", err)
	}
	stop()
	if code := <-done; code != 0 {
		t.Errorf("exit status %d after interrupt, want 0; stderr:\n%s", code, stderr.String())
	}
	if _, err := os.Stat(strings.TrimSpace(caFile)); !os.IsNotExist(err) {
		t.Errorf("the temporary CA file outlived the process: %v", err)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"fake"}, {"fake", "aws"}, {"fake", "gcp", "--bogus"}, {"fake", "gcp", "extra"},
		{"fake", "azure", "--bogus"}, {"fake", "azure", "extra"}, {"fake", "azure", "--client-id", "x"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"fake", "gcp", "--project", "Bad_Project"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "project id") {
		t.Errorf("a bad project id: status %d, stderr %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run(context.Background(), []string{"fake", "azure", "--subscription", "not-a-guid"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "GUID") {
		t.Errorf("a bad subscription id: status %d, stderr %q", code, errOut.String())
	}
}
