package ghapp

import "time"

// SetFedWait shortens the federation client's pauses between tries.
func SetFedWait(d time.Duration) (restore func()) {
	old := fedWait
	fedWait = d
	return func() { fedWait = old }
}
