package main

import "context"

// startFeeds starts the EHR feed listeners of the roles that serve them
// (the MLLP listener).
func (m *Main) startFeeds(ctx context.Context) error {
	_ = ctx
	return nil
}
