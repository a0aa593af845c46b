// Package azuretest holds the runner's Azure tests, which need the Cosmos DB emulator of the handler
// module (handler/cosmosstore/cosmostest). They are a module of their own so that the provider's
// module never requires the handler module: a replace directive there would stop
// `go install .../cmd/threefactor@version`.
package azuretest
