package azurefake

import (
	"context"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Client credentials the fake's token endpoint accepts when Options.ClientID is unset (any are).
const (
	DefaultClientID     = "00000000-0000-0000-0000-0000000c11e7"
	DefaultClientSecret = "azurefake-secret"
)

// Cloud is the cloud configuration of the fake: its URL is the authority host and the Resource
// Manager endpoint.
func (s *Server) Cloud() cloud.Configuration {
	return cloud.Configuration{
		ActiveDirectoryAuthorityHost: s.url + "/",
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: s.url, Audience: "https://management.core.windows.net/"},
		},
	}
}

// ClientOptions reach the fake from an official arm* client: its cloud, HTTPClient as the
// transport, and quick retries (10 ms to 100 ms) so lost responses cost little time.
func (s *Server) ClientOptions() *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: policy.ClientOptions{
		Cloud:     s.Cloud(),
		Transport: s.HTTPClient(),
		Retry:     policy.RetryOptions{RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 100 * time.Millisecond},
	}}
}

// Credential is an azidentity ClientSecretCredential against the fake's token endpoint, with the
// configured client (or DefaultClientID and DefaultClientSecret). Instance discovery is disabled:
// MSAL sends it to login.microsoftonline.com for an authority host it does not know, and the fake
// is not there.
func (s *Server) Credential() (*azidentity.ClientSecretCredential, error) {
	id, secret := s.opts.ClientID, s.opts.ClientSecret
	if id == "" {
		id, secret = DefaultClientID, DefaultClientSecret
	}
	return azidentity.NewClientSecretCredential(s.opts.Tenant, id, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            policy.ClientOptions{Cloud: s.Cloud(), Transport: s.HTTPClient()},
		DisableInstanceDiscovery: true,
	})
}

// StaticCredential returns tokens of the fake without asking its token endpoint.
func (s *Server) StaticCredential() azcore.TokenCredential { return staticCredential{s} }

type staticCredential struct{ s *Server }

func (c staticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: c.s.Token(), ExpiresOn: time.Now().Add(tokenLifetime - time.Minute)}, nil
}
