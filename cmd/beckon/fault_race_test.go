//go:build race && unix

package main

// raceBuild: the fault suite builds the binary with -race too, so that it
// reuses the packages this test binary was compiled from.
const raceBuild = true
