package provider

import (
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/azurefunctions"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/gcpfunctions"
)

// Clouds registers every cloud this provider ships, in documentation order: the one file of the glue
// that knows a cloud by name. Planned clouds have their provider block and no driver yet.
func Clouds() []*driver.Cloud {
	return []*driver.Cloud{
		awslambda.Cloud,
		gcpfunctions.Cloud,
		azurefunctions.Cloud,
	}
}
