package azurefunctions

import (
	"context"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// The APIs the driver calls through azcore's pipeline rather than an arm* module, whose models of
// a whole service would add megabytes to the provider for a few calls each: Microsoft.Web
// (armappservice/v4's version, the first with functionAppConfig), Microsoft.Insights components
// and Microsoft.OperationalInsights workspaces.
const (
	webAPIVersion       = "2023-12-01"
	insightsAPIVersion  = "2020-02-02"
	workspaceAPIVersion = "2022-10-01"
)

// restClient calls one Resource Manager API at one version.
type restClient struct {
	pl       runtime.Pipeline
	endpoint string
	version  string
	poll     func() *runtime.PollUntilDoneOptions
}

func newRESTClient(c *arm.Client, version string, poll func() *runtime.PollUntilDoneOptions) *restClient {
	return &restClient{pl: c.Pipeline(), endpoint: c.Endpoint(), version: version, poll: poll}
}

// request sends method to path, which may carry a query of its own.
func (w *restClient) request(ctx context.Context, method, path string, body any) (*http.Response, error) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	req, err := runtime.NewRequest(ctx, method, w.endpoint+path+sep+"api-version="+w.version)
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
func (w *restClient) call(ctx context.Context, method, path string, body, out any) error {
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
func (w *restClient) put(ctx context.Context, path string, body any) error {
	return w.await(ctx, http.MethodPut, path, body)
}

// await sends a request that may be long-running and follows its operation to the end; a failed
// operation is polled(err).
func (w *restClient) await(ctx context.Context, method, path string, body any) error {
	resp, err := w.request(ctx, method, path, body)
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
