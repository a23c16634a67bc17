package inputs

//go:generate go run ./gen
