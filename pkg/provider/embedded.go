package provider

import (
	"encoding/json"
	"fmt"
)

// Embedded decodes a catalog a provider embeds (scopes, permissions) so that
// validation needs no network call. A bad one is a mistake in the build, not
// in the user's input, so it panics when the package loads.
func Embedded[T any](name string, data []byte) T {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		panic(fmt.Sprintf("bad embedded %s: %v", name, err))
	}
	return v
}
