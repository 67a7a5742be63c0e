// Package store persists Beckon's data in SQLite (embedded) or PostgreSQL.
// Both dialects implement one contract, checked by one conformance suite.
package store
