package main

import (
	"fmt"
	"math"
	"time"
)

// decimalUnits are docker's size units (go-units' decimal abbreviations).
var decimalUnits = []string{"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"}

// humanSizePrecision formats size in decimal units with precision
// significant digits, as docker's go-units HumanSizeWithPrecision:
// "7.8MB", "4.26MB", "512B".
func humanSizePrecision(size float64, precision int) string {
	i := 0
	for size >= 1000 && i < len(decimalUnits)-1 {
		size /= 1000
		i++
	}
	return fmt.Sprintf("%.*g%s", precision, size, decimalUnits[i])
}

// imageSize is SIZE in ctl images, as docker shows it: 3 significant
// digits.
func imageSize(size int64) string { return humanSizePrecision(float64(size), 3) }

// transferSize is a byte count in a progress line, as docker shows it: 4
// significant digits.
func transferSize(size int64) string { return humanSizePrecision(float64(size), 4) }

// humanDuration describes d as docker's go-units HumanDuration does:
// "Less than a second", "About a minute", "2 hours", "3 weeks".
func humanDuration(d time.Duration) string {
	seconds := int(d.Seconds())
	minutes := int(d.Minutes())
	hours := int(math.Round(d.Hours()))
	switch {
	case seconds < 1:
		return "Less than a second"
	case seconds == 1:
		return "1 second"
	case seconds < 60:
		return fmt.Sprintf("%d seconds", seconds)
	case minutes == 1:
		return "About a minute"
	case minutes < 60:
		return fmt.Sprintf("%d minutes", minutes)
	case hours == 1:
		return "About an hour"
	case hours < 48:
		return fmt.Sprintf("%d hours", hours)
	case hours < 24*7*2:
		return fmt.Sprintf("%d days", hours/24)
	case hours < 24*30*2:
		return fmt.Sprintf("%d weeks", hours/24/7)
	case hours < 24*365*2:
		return fmt.Sprintf("%d months", hours/24/30)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365)
}

// createdSince is CREATED in ctl images: "2 hours ago", or N/A when the
// image does not say.
func createdSince(created, now time.Time) string {
	if created.IsZero() {
		return "N/A"
	}
	return humanDuration(now.Sub(created)) + " ago"
}
