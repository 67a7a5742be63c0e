package app

// The roles and commands a process runs.
const (
	RoleServe     = "serve"     // every long-running role in one process
	RoleAPI       = "api"       // the HTTP API (and the MLLP listener, when set)
	RoleWorker    = "worker"    // delivery and the other asynq tasks
	RoleScheduler = "scheduler" // the pump

	RoleMigrate      = "migrate"      // apply migrations and exit
	RoleClinicCreate = "admin-clinic" // `beckon clinic create`
	RoleKeyCreate    = "admin-key"    // `beckon key create`
	RoleReplay       = "ehr-replay"   // `beckon ehr replay`
	RoleRotate       = "secrets"      // `beckon secrets rotate`
)

// LongRunning reports whether the role serves until stopped.
func LongRunning(role string) bool {
	switch role {
	case RoleServe, RoleAPI, RoleWorker, RoleScheduler:
		return true
	}
	return false
}

// runsAPI, runsWorker and runsPump say which parts a role starts.
func runsAPI(role string) bool    { return role == RoleServe || role == RoleAPI }
func runsWorker(role string) bool { return role == RoleServe || role == RoleWorker }
func runsPump(role string) bool   { return role == RoleServe || role == RoleScheduler }
