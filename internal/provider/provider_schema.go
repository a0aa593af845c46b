package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// awsServices are the keys aws.endpoints accepts.
var awsServices = []string{"dynamodb", "iam", "kms", "lambda", "logs", "sns", "sqs"}

type providerModel struct {
	AWS   *awsModel   `tfsdk:"aws"`
	GCP   *gcpModel   `tfsdk:"gcp"`
	Azure *azureModel `tfsdk:"azure"`
}

type awsModel struct {
	Region      types.String `tfsdk:"region"`
	Profile     types.String `tfsdk:"profile"`
	Endpoint    types.String `tfsdk:"endpoint"`
	Endpoints   types.Map    `tfsdk:"endpoints"`
	MaxRetries  types.Int64  `tfsdk:"max_retries"`
	DefaultTags types.Map    `tfsdk:"default_tags"`
}

type gcpModel struct {
	Project     types.String `tfsdk:"project"`
	Region      types.String `tfsdk:"region"`
	Credentials types.String `tfsdk:"credentials"`
	Endpoints   types.Map    `tfsdk:"endpoints"`
}

type azureModel struct {
	SubscriptionID types.String `tfsdk:"subscription_id"`
	ResourceGroup  types.String `tfsdk:"resource_group"`
	Location       types.String `tfsdk:"location"`
	Endpoint       types.String `tfsdk:"endpoint"`
}

func (p *threefactorProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Provisions event handlers (function, trigger, dead-letter queue and dedup table) from one cloud-neutral spec.",
		Attributes: map[string]schema.Attribute{
			"aws": schema.SingleNestedAttribute{
				Optional:    true,
				Description: "Settings for handlers with `cloud = \"aws\"`. Without this block the AWS SDK's defaults apply (environment, shared config, default credential chain).",
				Attributes: map[string]schema.Attribute{
					"region": schema.StringAttribute{
						Optional:    true,
						Description: "AWS region. Defaults to `AWS_REGION` or the shared config.",
					},
					"profile": schema.StringAttribute{
						Optional:    true,
						Description: "Named profile of the shared config and credentials files. Defaults to the SDK's default credential chain.",
					},
					"endpoint": schema.StringAttribute{
						Optional:    true,
						Description: "One URL for every AWS service, such as `http://127.0.0.1:5000` for moto or LocalStack. `AWS_ENDPOINT_URL` is honoured too.",
					},
					"endpoints": schema.MapAttribute{
						Optional:    true,
						ElementType: types.StringType,
						Description: "Per-service endpoint URLs, overriding `endpoint`. Keys: " + quoted(awsServices) + ".",
						Validators:  []validator.Map{mapvalidator.KeysAre(stringvalidator.OneOf(awsServices...))},
					},
					"max_retries": schema.Int64Attribute{
						Optional:    true,
						Description: fmt.Sprintf("Retries per AWS API call on throttling and transient errors, %d by default (the SDK's own default of 3 fails large applies under throttling).", awslambda.DefaultMaxRetries),
						Validators:  []validator.Int64{int64validator.Between(1, 100)},
					},
					"default_tags": schema.MapAttribute{
						Optional:    true,
						ElementType: types.StringType,
						Description: "Tags applied to every component of every AWS handler, under the handler's own `tags`.",
						Validators:  []validator.Map{mapvalidator.KeysAre(notPrefixed(spec.TagPrefix))},
					},
				},
			},
			"gcp": schema.SingleNestedAttribute{
				Optional:    true,
				Description: "Settings for handlers with `cloud = \"gcp\"` (driver not implemented in this version).",
				Attributes: map[string]schema.Attribute{
					"project":     schema.StringAttribute{Optional: true, Description: "Google Cloud project id."},
					"region":      schema.StringAttribute{Optional: true, Description: "Google Cloud region."},
					"credentials": schema.StringAttribute{Optional: true, Sensitive: true, Description: "Service account key JSON. Defaults to Application Default Credentials."},
					"endpoints": schema.MapAttribute{
						Optional: true, ElementType: types.StringType,
						Description: "Per-service endpoint overrides (emulators, private endpoints).",
					},
				},
			},
			"azure": schema.SingleNestedAttribute{
				Optional:    true,
				Description: "Settings for handlers with `cloud = \"azure\"` (driver not implemented in this version).",
				Attributes: map[string]schema.Attribute{
					"subscription_id": schema.StringAttribute{Optional: true, Description: "Azure subscription id."},
					"resource_group":  schema.StringAttribute{Optional: true, Description: "Resource group that holds the handlers' resources."},
					"location":        schema.StringAttribute{Optional: true, Description: "Azure location, such as `westeurope`."},
					"endpoint":        schema.StringAttribute{Optional: true, Description: "Azure Resource Manager endpoint, for sovereign clouds and emulators."},
				},
			},
		},
	}
}
