// Package api is the admin REST API under /api/v1: members and their activities, PINs and
// consents, flows (drafts, validation, versions, publishing, bindings, simulation), call
// records and reports, tokens and the admin audit; and the operator routes /healthz and
// /readyz. Every route names the role it needs in one table (routes.go), and every error
// reaches the client through one mapping from error kinds to statuses (errors.go).
package api
