package store

import (
	"context"

	"github.com/beckonhealth/beckon"
)

func (q *queries) SendGetMany(ctx context.Context, clinicID string, ids []string) (map[string]beckon.Send, error) {
	return getMany(ctx, q, "send.get_many", `SELECT `+sendCols+` FROM sends`, "id",
		clinicID, ids, scanSend, func(s beckon.Send) string { return s.ID })
}
