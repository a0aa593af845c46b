package provider

import (
	"maps"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

var (
	_ resource.ResourceWithModifyPlan  = &partResource[spec.AppTopic, topicModel, *topicModel]{}
	_ resource.ResourceWithImportState = &partResource[spec.AppTable, tableModel, *tableModel]{}
)

func newTopicResource(cs clouds) func() resource.Resource {
	return func() resource.Resource {
		return &partResource[spec.AppTopic, topicModel, *topicModel]{clouds: cs, kind: partKind[spec.AppTopic]{
			name: "topic",
			description: "A fan-out topic an app's handlers share: it outlives any one handler. Each handler subscribed to it " +
				"(`trigger = { kind = \"topic\", source = <topic_id> }`, with an optional `trigger.filter`) gets its own copy of every event. " +
				"Encrypted at rest. Destroying a topic that still has subscriptions (of handlers other configurations manage: this " +
				"configuration's are destroyed first) is refused, naming them, unless `force_destroy` is set.",
			attributes: map[string]schema.Attribute{
				"retention_days": schema.Int64Attribute{
					Optional: true, Computed: true,
					Description: "Days the topic itself keeps messages, on clouds where a topic retains any: on Google Cloud the Pub/Sub topic's " +
						"message retention, 1-31 days, 7 by default (a subscription can be sought back within it); on Azure the Service Bus topic's " +
						"default message time to live, which bounds how long an event waits in a subscription, 1-365 days, 14 by default; null on AWS, " +
						"whose SNS topics keep none (each subscribed queue keeps its own).",
				},
				"topic_id": schema.StringAttribute{Computed: true, Description: "Cloud id of the topic, which a handler's `trigger.source` takes (an ARN on AWS, " +
					"`projects/<project>/topics/<name>` on Google Cloud, the topic's ARM id on Azure)."},
				"publish_target": schema.StringAttribute{Computed: true, Description: "What producers publish to (the topic ARN on AWS, for `sns:Publish`; the topic's " +
					"name on Google Cloud; on Azure `<namespace>.servicebus.windows.net/<topic>`, the fully qualified namespace and the entity a Service Bus sender takes)."},
				"encrypted": schema.BoolAttribute{Computed: true, Description: "Whether the topic is encrypted at rest; always made so, and put right if turned off outside Terraform."},
			},
			supported: func(r *spec.Rules) bool { return r.Topics != nil },
			open:      func(p driver.Parts) driver.Part[spec.AppTopic] { return p.Topics() },
			validate:  spec.ValidateTopic,
			tags:      func(t *spec.AppTopic) map[string]string { return t.Tags },
			nameOf:    func(t *spec.AppTopic) string { return t.Name },
		}}
	}
}

func newTableResource(cs clouds) func() resource.Resource {
	return func() resource.Resource {
		return &partResource[spec.AppTable, tableModel, *tableModel]{clouds: cs, kind: partKind[spec.AppTable]{
			name: "table",
			description: "A key-value table for an app's state, which handlers read or write when granted it through " +
				"`function.tables`. On AWS a DynamoDB table, on demand, encrypted at rest; on Google Cloud a Firestore database of its own whose items are " +
				"the documents of one collection named as the table (a grant reaches a database, so this one reaches that table only); on Azure a Cosmos DB " +
				"container (partition key `/<key>`) in the provider's `cosmos_account` or a serverless account of its own. Destroying a table that holds items is " +
				"refused unless `force_destroy` is set.",
			attributes: map[string]schema.Attribute{
				"key": schema.StringAttribute{
					Optional: true, Computed: true, Default: stringdefault.StaticString(spec.DefaultTableKey),
					Description:   "Partition key attribute (a string), `id` by default: the runtime library's state writes use it. Changing it replaces the table.",
					PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				},
				"ttl_attribute": schema.StringAttribute{
					Optional: true,
					Description: "Attribute holding an item's expiry in epoch seconds; unset, items never expire. On AWS DynamoDB allows one TTL change an hour. " +
						"On Azure only `ttl`: Cosmos DB expires an item by its own `ttl` property, in seconds after the item's last write, and an item without one never expires.",
				},
				"table_id": schema.StringAttribute{Computed: true, Description: "Cloud id of the table, which a handler's `function.tables` entry takes (an ARN on AWS, " +
					"`projects/<project>/databases/<name>` on Google Cloud, the container's ARM id on Azure)."},
			},
			supported: func(r *spec.Rules) bool { return r.Tables != nil },
			open:      func(p driver.Parts) driver.Part[spec.AppTable] { return p.Tables() },
			validate:  spec.ValidateTable,
			tags:      func(t *spec.AppTable) map[string]string { return t.Tags },
			nameOf:    func(t *spec.AppTable) string { return t.Name },
		}}
	}
}

type topicModel struct {
	partCommon
	RetentionDays types.Int64  `tfsdk:"retention_days"`
	TopicID       types.String `tfsdk:"topic_id"`
	PublishTarget types.String `tfsdk:"publish_target"`
	Encrypted     types.Bool   `tfsdk:"encrypted"`
}

func (m *topicModel) common() *partCommon { return &m.partCommon }
func (m *topicModel) cloudID() string     { return m.TopicID.ValueString() }
func (m *topicModel) idPath() path.Path   { return path.Root("topic_id") }

func (m *topicModel) spec(c *driver.Cloud, defaultTags map[string]string) (*spec.AppTopic, *values) {
	v := m.values()
	tr := c.Rules.Topics
	def := tr.DefaultRetentionDays
	if _, lacks := tr.Unsupported["retention_days"]; lacks {
		def = 0
	}
	return &spec.AppTopic{
		Name: m.Name.ValueString(), Cloud: c.Name,
		RetentionDays: v.int(map[string]attr.Value{"retention_days": m.RetentionDays}, def, "retention_days"),
		Tags:          m.tags(v, defaultTags),
	}, v
}

func (m *topicModel) plan(t *spec.AppTopic, v *values, prior *topicModel) {
	m.partCommon.plan(t.Tags, v)
	if v.known("retention_days") && t.RetentionDays == 0 {
		m.RetentionDays = types.Int64Null()
	} else if v.known("retention_days") {
		m.RetentionDays = types.Int64Value(t.RetentionDays)
	}
	m.Encrypted = types.BoolValue(true)
	m.TopicID, m.PublishTarget = types.StringUnknown(), types.StringUnknown()
	if prior != nil {
		m.TopicID, m.PublishTarget = prior.TopicID, prior.PublishTarget
	}
}

func (m *topicModel) observe(o *driver.ObservedPart[spec.AppTopic], _ *driver.Cloud) {
	m.RetentionDays = types.Int64Null()
	if o.Spec.RetentionDays != 0 {
		m.RetentionDays = types.Int64Value(o.Spec.RetentionDays)
	}
	m.TopicID, m.PublishTarget, m.Encrypted = types.StringValue(o.ID), types.StringValue(o.Target), types.BoolValue(o.Encrypted)
}

type tableModel struct {
	partCommon
	Key          types.String `tfsdk:"key"`
	TTLAttribute types.String `tfsdk:"ttl_attribute"`
	TableID      types.String `tfsdk:"table_id"`
}

func (m *tableModel) common() *partCommon { return &m.partCommon }
func (m *tableModel) cloudID() string     { return m.TableID.ValueString() }
func (m *tableModel) idPath() path.Path   { return path.Root("table_id") }

func (m *tableModel) spec(c *driver.Cloud, defaultTags map[string]string) (*spec.AppTable, *values) {
	v := m.values()
	if _, lacks := c.Rules.Tables.Unsupported["tags"]; lacks {
		defaultTags = nil // provider-wide: they apply where the cloud has them, and tags on the table are refused
	}
	attrs := map[string]attr.Value{"key": m.Key, "ttl_attribute": m.TTLAttribute}
	return &spec.AppTable{
		Name: m.Name.ValueString(), Cloud: c.Name,
		Key:          v.str(attrs, spec.DefaultTableKey, "key"),
		TTLAttribute: v.str(attrs, "", "ttl_attribute"),
		Tags:         m.tags(v, defaultTags),
	}, v
}

func (m *tableModel) plan(t *spec.AppTable, v *values, prior *tableModel) {
	m.partCommon.plan(t.Tags, v)
	m.TableID = types.StringUnknown()
	if prior != nil {
		m.TableID = prior.TableID
	}
}

func (m *tableModel) observe(o *driver.ObservedPart[spec.AppTable], _ *driver.Cloud) {
	m.Key, m.TableID = types.StringValue(o.Spec.Key), types.StringValue(o.ID)
	m.TTLAttribute = types.StringNull()
	if o.Spec.TTLAttribute != "" {
		m.TTLAttribute = types.StringValue(o.Spec.TTLAttribute)
	}
}

// values starts reading a part's model, noting the common attributes.
func (m *partCommon) values() *values {
	v := &values{unknown: map[string]bool{}, set: map[string]bool{}}
	v.note(m.Name, []string{"name"})
	v.note(m.Cloud, []string{"cloud"})
	return v
}

// tags are the part's tags: the user's over the provider's defaults.
func (m *partCommon) tags(v *values, defaultTags map[string]string) map[string]string {
	t := maps.Clone(defaultTags)
	if t == nil {
		t = map[string]string{}
	}
	maps.Copy(t, v.strMap(m.Tags, "tags"))
	return t
}

// plan writes the plan's tags_all.
func (m *partCommon) plan(tags map[string]string, v *values) {
	m.TagsAll = types.MapUnknown(types.StringType)
	if v.known("tags") {
		m.TagsAll = mapValue(tags)
	}
}
