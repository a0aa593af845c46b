package gcpfunctions

import (
	"regexp"
	"strings"

	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// names are the Google names of a handler's components.
type names struct {
	// Account is the service account id: 6-30 characters, so the handler's name, cut, with a hash
	// of the project, region and name that keeps handlers of other regions and projects apart.
	Account  string
	Function string
	Database string
	// Queue, Topic and DeadLetter are topic ids; Push and DeadLetters subscription ids.
	Queue, Topic, DeadLetter string
	Push, DeadLetters        string
}

// collection is the dedup records' collection in the handler's database; expires_at is its TTL field.
const (
	collection = "dedup"
	ttlField   = "expires_at"
)

func (d *Driver) names(name string) names {
	prefix := strings.TrimRight(name[:min(len(name), 21)], "-")
	return names{
		Account:     prefix + "-" + spec.ShortHash(d.project, d.region, name),
		Function:    name,
		Database:    spec.ComponentName(name, "dedup"),
		Queue:       spec.ComponentName(name, "queue"),
		Topic:       spec.ComponentName(name, "topic"),
		DeadLetter:  spec.ComponentName(name, "dlq"),
		Push:        spec.ComponentName(name, "push"),
		DeadLetters: spec.ComponentName(name, "dead-letters"),
	}
}

func (d *Driver) accountEmail(id string) string {
	return id + "@" + d.project + ".iam.gserviceaccount.com"
}

func (d *Driver) accountName(email string) string {
	return "projects/" + d.project + "/serviceAccounts/" + email
}

func (d *Driver) functionName(id string) string { return d.parent() + "/functions/" + id }

func (d *Driver) databaseName(id string) string { return "projects/" + d.project + "/databases/" + id }

func (d *Driver) topicName(id string) string { return "projects/" + d.project + "/topics/" + id }

func (d *Driver) subscriptionName(id string) string {
	return "projects/" + d.project + "/subscriptions/" + id
}

// lastPart is the id at the end of a resource name.
func lastPart(name string) string { return name[strings.LastIndex(name, "/")+1:] }

// dedupStoreURL is THREEFACTOR_DEDUP_STORE on Google: the collection of the handler's database.
func dedupStoreURL(database string) string {
	return "firestore://" + database + "/documents/" + collection
}

// accountRE is the pattern IAM requires of a service account id (6-30 characters).
var accountRE = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])$`)
