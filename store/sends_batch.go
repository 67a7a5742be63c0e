package store

import "context"

func (q *queries) SendGetMany(ctx context.Context, clinicID string, ids []string) (map[string]Send, error) {
	return getMany(ctx, q, "send.get_many", `SELECT `+sendCols+` FROM sends`, "id",
		clinicID, ids, scanSend, func(s Send) string { return s.ID })
}
