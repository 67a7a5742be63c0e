package store

// DeliveryQuerier holds the queries of real delivery through providers
// (per-clinic channel settings, provider statuses, fallbacks).
type DeliveryQuerier interface{}
