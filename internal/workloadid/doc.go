// Package workloadid decides Azure Workload Identity as its components do:
// the mutating webhook (which pods it mutates, the environment variables and
// projected token volume it injects, the pods it rejects) and Entra's token
// exchange for a federated assertion (federated identity credentials
// matched exactly on issuer, subject and audience, with the AADSTS error
// Entra returns for each mismatch).
package workloadid
