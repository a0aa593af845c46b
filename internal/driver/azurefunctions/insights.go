package azurefunctions

import (
	"context"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
)

// Logs: the handler's own Log Analytics workspace (PerGB2018: no base charge; retention
// function.log_retention_days; shared-key ingestion off) holding a workspace-based Application
// Insights component with local (instrumentation key) auth off, to which the function's identity
// publishes with Monitoring Metrics Publisher.

const roleMetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb" // Monitoring Metrics Publisher

type workspace struct {
	ID         *string              `json:"id,omitempty"`
	Location   string               `json:"location"`
	Tags       map[string]*string   `json:"tags,omitempty"`
	Properties *workspaceProperties `json:"properties,omitempty"`
}

type workspaceProperties struct {
	SKU             *workspaceSKU      `json:"sku,omitempty"`
	RetentionInDays *int64             `json:"retentionInDays,omitempty"`
	Features        *workspaceFeatures `json:"features,omitempty"`
}

type workspaceSKU struct {
	Name string `json:"name"`
}

type workspaceFeatures struct {
	DisableLocalAuth *bool `json:"disableLocalAuth,omitempty"`
}

// insightsComponent is a workspace-based Application Insights component; its properties are
// PascalCase in this API.
type insightsComponent struct {
	ID         *string             `json:"id,omitempty"`
	Location   string              `json:"location"`
	Kind       string              `json:"kind"`
	Tags       map[string]*string  `json:"tags,omitempty"`
	Properties *insightsProperties `json:"properties,omitempty"`
}

type insightsProperties struct {
	ApplicationType     string `json:"Application_Type"`
	WorkspaceResourceID string `json:"WorkspaceResourceId"`
	IngestionMode       string `json:"IngestionMode,omitempty"`
	DisableLocalAuth    *bool  `json:"DisableLocalAuth,omitempty"`
	// ConnectionString is read-only: it names the component and its ingestion endpoint, and with
	// local auth off it grants nothing.
	ConnectionString string `json:"ConnectionString,omitempty"`
}

// putWorkspace creates or updates the handler's workspace. Once ARM accepted it, it exists.
func (d *Driver) putWorkspace(ctx context.Context, action, name string, days int64, tags map[string]*string) (string, error) {
	id := d.id("Microsoft.OperationalInsights/workspaces", name)
	err := d.workspaces.put(ctx, id, workspace{Location: d.location, Tags: tags, Properties: &workspaceProperties{
		SKU: &workspaceSKU{Name: "PerGB2018"}, RetentionInDays: &days, Features: &workspaceFeatures{DisableLocalAuth: to.Ptr(true)},
	}})
	return id, fail(Workspace, action, name, err)
}

func (d *Driver) readWorkspace(ctx context.Context, id string) (*workspace, error) {
	var w workspace
	err := d.workspaces.call(ctx, http.MethodGet, id, nil, &w)
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(Workspace, "reading", id, err)
	}
	return &w, nil
}

// workspaceRetention is the workspace's retention in days.
func workspaceRetention(w *workspace) int64 {
	if w.Properties == nil {
		return 0
	}
	return deref(w.Properties.RetentionInDays)
}

// drifted reports a workspace whose shared-key ingestion is on or whose tags differ.
func (w *workspace) drifted(tags map[string]*string) bool {
	p := w.Properties
	return p == nil || p.Features == nil || !deref(p.Features.DisableLocalAuth) || !sameTags(w.Tags, tags)
}

// deleteWorkspace deletes for good: without force Azure keeps a workspace soft-deleted for 14
// days, holding its name and its logs.
func (d *Driver) deleteWorkspace(ctx context.Context, id string) error {
	err := d.workspaces.await(ctx, http.MethodDelete, id+"?force=true", nil)
	return fail(Workspace, "deleting", id, codes.IgnoreNotFound(err))
}

func (d *Driver) putInsights(ctx context.Context, action, name, workspaceID string, tags map[string]*string) (*insightsComponent, error) {
	var c insightsComponent
	err := d.insights.call(ctx, http.MethodPut, d.id("Microsoft.Insights/components", name), insightsComponent{
		Location: d.location, Kind: "web", Tags: tags, Properties: &insightsProperties{
			ApplicationType: "web", WorkspaceResourceID: workspaceID, IngestionMode: "LogAnalytics", DisableLocalAuth: to.Ptr(true),
		}}, &c)
	if err != nil {
		return nil, fail(driver.Logs, action, name, err)
	}
	return &c, nil
}

func (d *Driver) readInsights(ctx context.Context, id string) (*insightsComponent, error) {
	var c insightsComponent
	err := d.insights.call(ctx, http.MethodGet, id, nil, &c)
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(driver.Logs, "reading", id, err)
	}
	return &c, nil
}

// drifted reports a component that takes instrumentation keys, sends elsewhere than workspaceID,
// or whose tags differ.
func (c *insightsComponent) drifted(workspaceID string, tags map[string]*string) bool {
	p := c.Properties
	return p == nil || !deref(p.DisableLocalAuth) || !strings.EqualFold(p.WorkspaceResourceID, workspaceID) || !sameTags(c.Tags, tags)
}

// connectionString is what APPLICATIONINSIGHTS_CONNECTION_STRING names, "" for a missing component.
func (c *insightsComponent) connectionString() string {
	if c == nil || c.Properties == nil {
		return ""
	}
	return c.Properties.ConnectionString
}

func (d *Driver) deleteInsights(ctx context.Context, id string) error {
	err := d.insights.call(ctx, http.MethodDelete, id, nil, nil)
	return fail(driver.Logs, "deleting", id, codes.IgnoreNotFound(err))
}
