package azurefunctions

import (
	"context"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// webAPIVersion is the Microsoft.Web API the driver speaks (armappservice/v4's, the first with
// functionAppConfig). The driver calls it through azcore's pipeline rather than armappservice,
// whose models for all of App Service would add megabytes to the provider for a dozen calls.
const webAPIVersion = "2023-12-01"

// webClient calls Microsoft.Web (plans and sites) on Resource Manager.
type webClient struct {
	pl       runtime.Pipeline
	endpoint string
	poll     func() *runtime.PollUntilDoneOptions
}

func newWebClient(c *arm.Client, poll func() *runtime.PollUntilDoneOptions) *webClient {
	return &webClient{pl: c.Pipeline(), endpoint: c.Endpoint(), poll: poll}
}

func (w *webClient) request(ctx context.Context, method, path string, body any) (*http.Response, error) {
	req, err := runtime.NewRequest(ctx, method, w.endpoint+path+"?api-version="+webAPIVersion)
	if err != nil {
		return nil, err
	}
	req.Raw().Header.Set("Accept", "application/json")
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			return nil, err
		}
	}
	resp, err := w.pl.Do(req)
	if err != nil {
		return nil, err
	}
	if !runtime.HasStatusCode(resp, http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent) {
		return nil, runtime.NewResponseError(resp)
	}
	return resp, nil
}

// call sends a request and decodes the answer into out (when not nil).
func (w *webClient) call(ctx context.Context, method, path string, body, out any) error {
	resp, err := w.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	return runtime.UnmarshalAsJSON(resp, out)
}

// put creates or replaces a tracked resource, following ARM's long-running answer to the end.
func (w *webClient) put(ctx context.Context, path string, body any) error {
	resp, err := w.request(ctx, http.MethodPut, path, body)
	if err != nil {
		return err
	}
	p, err := runtime.NewPoller[map[string]any](resp, w.pl, nil)
	if err != nil {
		return err
	}
	_, err = p.PollUntilDone(ctx, w.poll())
	return polled(err)
}

// The parts of Microsoft.Web's plan and site the driver sets and reads.

type webPlan struct {
	ID         *string            `json:"id,omitempty"`
	Location   string             `json:"location"`
	Kind       string             `json:"kind,omitempty"`
	Tags       map[string]*string `json:"tags,omitempty"`
	SKU        *planSKU           `json:"sku,omitempty"`
	Properties *planProperties    `json:"properties,omitempty"`
}

type planSKU struct {
	Name string `json:"name"`
	Tier string `json:"tier,omitempty"`
}

type planProperties struct {
	Reserved bool `json:"reserved"`
}

type site struct {
	ID         *string            `json:"id,omitempty"`
	Location   string             `json:"location"`
	Kind       string             `json:"kind"`
	Tags       map[string]*string `json:"tags,omitempty"`
	Identity   *siteIdentity      `json:"identity,omitempty"`
	Properties *siteProperties    `json:"properties,omitempty"`
}

type siteIdentity struct {
	Type                   string                    `json:"type"`
	UserAssignedIdentities map[string]map[string]any `json:"userAssignedIdentities,omitempty"`
}

type siteProperties struct {
	ServerFarmID      string             `json:"serverFarmId"`
	HTTPSOnly         *bool              `json:"httpsOnly,omitempty"`
	SiteConfig        *siteConfig        `json:"siteConfig,omitempty"`
	FunctionAppConfig *functionAppConfig `json:"functionAppConfig,omitempty"`
}

type siteConfig struct {
	MinTLSVersion string      `json:"minTlsVersion,omitempty"`
	FtpsState     string      `json:"ftpsState,omitempty"`
	AppSettings   []nameValue `json:"appSettings,omitempty"`
}

type nameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type functionAppConfig struct {
	Deployment          *deployment       `json:"deployment,omitempty"`
	Runtime             *functionsRuntime `json:"runtime,omitempty"`
	ScaleAndConcurrency *scale            `json:"scaleAndConcurrency,omitempty"`
}

type deployment struct {
	Storage *deploymentStorage `json:"storage,omitempty"`
}

type deploymentStorage struct {
	Type           string            `json:"type"`
	Value          string            `json:"value"`
	Authentication storageAuthConfig `json:"authentication"`
}

type storageAuthConfig struct {
	Type                           string `json:"type"`
	UserAssignedIdentityResourceID string `json:"userAssignedIdentityResourceId,omitempty"`
}

type functionsRuntime struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type scale struct {
	InstanceMemoryMB     *int64 `json:"instanceMemoryMB,omitempty"`
	MaximumInstanceCount *int64 `json:"maximumInstanceCount,omitempty"`
}

type settingsBody struct {
	Properties map[string]string `json:"properties"`
}

type publishingPolicy struct {
	Properties struct {
		Allow bool `json:"allow"`
	} `json:"properties"`
}
