package azurefunctions

import (
	"strings"

	"github.com/google/uuid"

	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// names are the Azure names of a handler's components. Storage accounts, namespaces, Cosmos
// accounts and function apps are globally unique: their names carry spec.ShortHash of the
// subscription, resource group, location and handler name, so import recomputes them.
type names struct {
	Identity, Plan, Site        string
	Storage, Namespace, Cosmos  string
	Database, Container         string
	Queue, Topic, Subscription  string
	DeadLetter, DeployContainer string
	Workspace, Insights         string
}

// Fixed names inside the handler's own resources.
const (
	dedupContainer  = "dedup"
	deployContainer = "deployments"
	partitionKey    = "/pk"
)

func (d *Driver) names(name string) names {
	hash := spec.ShortHash(d.sub, d.rg, d.location, name)
	flat := strings.ReplaceAll(name, "-", "")
	single := strings.ReplaceAll(name, "--", "-")
	return names{
		Identity:        name,
		Plan:            spec.ComponentName(name, "plan"),
		Site:            name + "-" + hash,
		Storage:         flat[:min(len(flat), 16)] + hash,
		Namespace:       single + "-" + hash,
		Cosmos:          single + "-" + hash,
		Database:        name,
		Container:       dedupContainer,
		Queue:           spec.ComponentName(name, "queue"),
		Topic:           spec.ComponentName(name, "topic"),
		Subscription:    name,
		DeadLetter:      spec.ComponentName(name, "dlq"),
		DeployContainer: deployContainer,
		Workspace:       spec.ComponentName(name, "logs"),
		Insights:        name,
	}
}

// assignmentName is the GUID of a role assignment: derived from what it grants, so a retry after
// a lost response names the same assignment.
func assignmentName(scope, principal, role string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte(strings.ToLower(scope+"|"+principal+"|"+role))).String()
}

// dedupStoreURL is THREEFACTOR_DEDUP_STORE on Azure, as handler/cosmosstore parses it.
func dedupStoreURL(account, database, container string) string {
	return "cosmos://" + account + ".documents.azure.com/" + database + "/" + container
}

// lastPart is the name at the end of an ARM id.
func lastPart(id string) string { return id[strings.LastIndex(id, "/")+1:] }
