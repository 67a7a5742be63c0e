package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "beckon")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "beckon.db"))
	if err != nil {
		panic(err)
	}
	defer st.Close()

	err = st.ClinicCreate(ctx, beckon.Clinic{
		ID:         "cln_1",
		Name:       "Harbor Family Medicine",
		TimeZone:   "America/New_York",
		QuietHours: beckon.DefaultQuietHours,
	})
	if err != nil {
		panic(err)
	}
	due := time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC)
	err = st.SendInsert(ctx, []beckon.Send{{
		ID:            "snd_1",
		ClinicID:      "cln_1",
		AppointmentID: "A-1",
		DueAt:         due,
	}})
	if err != nil {
		panic(err)
	}
	s, claimed, err := st.SendClaim(ctx, beckon.SendClaimParams{
		ClinicID: "cln_1",
		ID:       "snd_1",
		Token:    "worker-1",
		Now:      due,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(st.Dialect(), s.Status, claimed, s.Attempts)
	// Output: sqlite claimed true 1
}
