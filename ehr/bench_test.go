package ehr

import (
	"os"
	"path/filepath"
	"testing"
)

func benchMessage(b *testing.B) []byte {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "siu_s12_v251_basic.hl7"))
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

func BenchmarkParseSIU(b *testing.B) {
	raw := benchMessage(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMapSIU(b *testing.B) {
	m, err := Parse(benchMessage(b))
	if err != nil {
		b.Fatal(err)
	}
	loc := corpusZone(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MapSIU(m, loc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClassifyAndAck(b *testing.B) {
	raw := benchMessage(b)
	loc := corpusZone(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		out := Classify(raw, loc)
		_ = Ack(out.Message, out.Code, out.Err, corpusNow, "A1")
	}
}
