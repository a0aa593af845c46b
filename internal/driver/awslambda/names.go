package awslambda

import "github.com/threefactor/terraform-provider-threefactor/internal/spec"

// componentNames are the AWS names of a handler's components. AWS names are unique per account and region,
// so they need no hash; the role, which is account-wide, carries the region.
type componentNames struct {
	// Function is the handler name itself, as users see it in their console.
	Function   string
	Queue      string
	DeadLetter string
	Topic      string
	DedupTable string
	Identity   string
}

func namesOf(name, region string) componentNames {
	return componentNames{
		Function:   name,
		Queue:      spec.ComponentName(name, "queue"),
		DeadLetter: spec.ComponentName(name, "dlq"),
		Topic:      spec.ComponentName(name, "topic"),
		DedupTable: spec.ComponentName(name, "dedup"),
		Identity:   spec.ComponentName(name, region),
	}
}
