package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/beckonhealth/beckon"
)

// DBStats is the connection pool's statistics (for metrics).
func (s *sqlStore) DBStats() sql.DBStats { return s.db.Stats() }

// SendCountDueUnqueued counts the planned sends due at or before before
// that were never handed to asynq (for metrics): the partial index on
// planned sends' due time answers it.
func (s *sqlStore) SendCountDueUnqueued(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := s.queries.db.QueryRowContext(ctx, `
		SELECT COUNT(*) FROM sends
		WHERE status = '`+string(beckon.SendPlanned)+`' AND due_at <= $1 AND enqueued_at IS NULL`,
		before.UnixMilli()).Scan(&n)
	if err != nil {
		return 0, translate("send.count_due_unqueued", err)
	}
	return n, nil
}
