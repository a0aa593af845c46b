// Package azurefake fakes the parts of Azure Resource Manager an Azure driver calls, for tests and
// for users' CI. The full list of rules is completed below as resource types are added.
package azurefake
