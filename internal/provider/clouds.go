package provider

import (
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda"
)

// Clouds registers every cloud this provider ships, in documentation order: the one file of the glue
// that knows a cloud by name. Planned clouds have their provider block and no driver yet.
func Clouds() []*driver.Cloud {
	return []*driver.Cloud{
		awslambda.Cloud,
		{
			Name: "gcp", Title: "Google Cloud", Planned: true,
			Settings: []driver.Setting{
				{Name: "project", Type: driver.String, Description: "Google Cloud project id."},
				{Name: "region", Type: driver.String, Description: "Google Cloud region."},
				{Name: "credentials", Type: driver.String, Sensitive: true, Description: "Service account key JSON. Defaults to Application Default Credentials."},
				{Name: "endpoints", Type: driver.StringMap, Description: "Per-service endpoint overrides (emulators, private endpoints)."},
			},
		},
		{
			Name: "azure", Title: "Azure", Planned: true,
			Settings: []driver.Setting{
				{Name: "subscription_id", Type: driver.String, Description: "Azure subscription id."},
				{Name: "resource_group", Type: driver.String, Description: "Resource group that holds the handlers' resources."},
				{Name: "location", Type: driver.String, Description: "Azure location, such as `westeurope`."},
				{Name: "endpoint", Type: driver.String, Description: "Azure Resource Manager endpoint, for sovereign clouds and emulators."},
			},
		},
	}
}
