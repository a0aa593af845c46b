package provider

import (
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/gcpfunctions"
)

// Clouds registers every cloud this provider ships, in documentation order: the one file of the glue
// that knows a cloud by name. Planned clouds have their provider block and no driver yet.
func Clouds() []*driver.Cloud {
	return []*driver.Cloud{
		awslambda.Cloud,
		gcpfunctions.Cloud,
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
