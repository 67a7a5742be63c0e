//go:build !race && unix

package main

// raceBuild: see fault_race_test.go.
const raceBuild = false
